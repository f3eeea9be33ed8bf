/**
 * Drives a test/helpers/udp-agent.ts child process (see there for the protocol).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One event printed by the agent. */
export interface AgentEvent {
  event: string;
  port?: number;
  from?: string;
  data?: string;
  error?: string;
}

/** Client side of a UDP agent. */
export class UdpAgent {
  readonly events: AgentEvent[] = [];
  private waiters: Array<() => void> = [];

  constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line));
      } catch {
        this.events.push({ event: 'garbage', data: line });
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  private command(cmd: object): void {
    this.child.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  /** Wait until an event matching `pred` has arrived, or `timeoutMs` passes (undefined). */
  async waitFor(pred: (e: AgentEvent) => boolean, timeoutMs = 2000): Promise<AgentEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async bind(port: number): Promise<void> {
    this.command({ cmd: 'bind', port });
    const ok = await this.waitFor((e) => (e.event === 'bound' && e.port === port) || e.event === 'error');
    if (ok?.event !== 'bound') throw new Error(`agent could not bind ${port}: ${ok?.error ?? 'timeout'}`);
  }

  async reflect(port: number): Promise<void> {
    this.command({ cmd: 'reflect', port });
    await this.waitFor((e) => e.event === 'reflecting' && e.port === port);
  }

  send(port: number, to: string, data: string): void {
    this.command({ cmd: 'send', port, to, data });
  }

  /** Whether a datagram with `data` arrived (waiting up to `timeoutMs`). */
  async received(data: string, timeoutMs = 1000): Promise<AgentEvent | undefined> {
    return this.waitFor((e) => e.event === 'recv' && e.data === data, timeoutMs);
  }

  close(): void {
    this.child.stdin!.end();
  }
}
