/**
 * Test doubles for the call layer: media that connects instantly (and carries audio
 * in memory), and a switchboard that routes signaling envelopes between identities.
 */
import type { VirtualClock } from '../../src/virtual-clock.ts';
import type { CallMedia } from '../../src/call/call-manager.ts';
import type { ReceivedAudio } from '../../src/call/media-session.ts';
import type { SignalEnvelope, SignalTransport } from '../../src/call/signal-transport.ts';

/** Media that connects instantly and records what it was asked to do. */
export class FakeMedia implements CallMedia {
  static all: FakeMedia[] = [];
  log: string[] = [];
  closed = false;
  private resolveConnected!: () => void;
  readonly connected = new Promise<void>((r) => (this.resolveConnected = r));
  deadHandler?: () => void;
  /** What `isPathDead` reports (the test sets it). */
  pathDead = false;
  constructor(readonly owner: string) {
    FakeMedia.all.push(this);
  }
  async offer(o: { iceRestart?: boolean } = {}) {
    this.log.push(o.iceRestart ? 'restart-offer' : 'offer');
    return `sdp-offer-${this.owner}${o.iceRestart ? '-restart' : ''}`;
  }
  async answer(sdp: string) {
    this.log.push(`answer:${sdp}`);
    this.resolveConnected();
    return `sdp-answer-${this.owner}`;
  }
  async complete(sdp: string) {
    this.log.push(`complete:${sdp}`);
    this.resolveConnected();
  }
  onPathDead(h: () => void) {
    this.deadHandler = h;
  }
  get isPathDead() {
    return this.pathDead;
  }
  async close() {
    this.closed = true;
  }
  // In-memory audio: what one side sends, its peer (set by the test) receives.
  peer?: FakeMedia;
  sent: Array<{ payload: Uint8Array; timestamp: number }> = [];
  private audioHandlers: Array<(a: ReceivedAudio) => void> = [];
  sendAudio(payload: Uint8Array, timestamp: number, marker = false) {
    this.sent.push({ payload, timestamp });
    const a: ReceivedAudio = { seq: this.sent.length, timestamp, marker, payloadType: 111, payload, arrivalMs: 0 };
    for (const h of this.peer?.audioHandlers ?? []) h(a);
  }
  onAudio(h: (a: ReceivedAudio) => void) {
    this.audioHandlers.push(h);
    return () => {
      this.audioHandlers = this.audioHandlers.filter((x) => x !== h);
    };
  }
}

/** Delivers envelopes between identities (and all their devices) after 10 ms. */
export class Switchboard {
  devices = new Map<string, Array<{ device: string; handler: (e: SignalEnvelope) => void }>>();
  tamper?: (e: SignalEnvelope) => SignalEnvelope;
  constructor(private clock: VirtualClock) {}
  transport(keyHex: string, device: string): SignalTransport {
    return {
      send: async (env) => {
        const targets = this.devices.get(env.to);
        if (!targets?.length) throw new Error(`no route to ${env.to.slice(0, 8)}`);
        const e = this.tamper ? this.tamper(env) : env;
        this.clock.setTimeout(() => {
          for (const t of targets) if (!e.toDevice || e.toDevice === t.device) t.handler(e);
        }, 10);
      },
      onEnvelope: (handler) => {
        const list = this.devices.get(keyHex) ?? [];
        list.push({ device, handler });
        this.devices.set(keyHex, list);
        return () => {};
      },
    };
  }
}

