/**
 * A scriptable UDP endpoint for network tests, run as a child process (often inside a
 * network namespace). Reads JSON commands on stdin, writes JSON events on stdout:
 *   {"cmd":"bind","port":P}                 -> {"event":"bound","port":P}
 *   {"cmd":"send","port":P,"to":"H:Q","data":"text"}
 *   {"cmd":"reflect","port":P}              -> answer every datagram on P with the
 *                                              sender's address as text ("H:Q")
 *   each datagram received                  -> {"event":"recv","port":P,"from":"H:Q","data":"text"}
 * Exits when stdin closes.
 */
import dgram from 'node:dgram';
import process from 'node:process';
import { createInterface } from 'node:readline';

const sockets = new Map<number, dgram.Socket>();
const reflecting = new Set<number>();

function emit(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let cmd: { cmd: string; port: number; to?: string; data?: string };
  try {
    cmd = JSON.parse(line);
  } catch {
    emit({ event: 'error', error: `bad command: ${line}` });
    return;
  }
  if (cmd.cmd === 'bind') {
    const s = dgram.createSocket('udp4');
    s.on('message', (msg, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      emit({ event: 'recv', port: cmd.port, from, data: msg.toString() });
      if (reflecting.has(cmd.port)) s.send(from, rinfo.port, rinfo.address);
    });
    s.on('error', (e) => emit({ event: 'error', error: e.message }));
    s.bind(cmd.port, '0.0.0.0', () => {
      sockets.set(cmd.port, s);
      emit({ event: 'bound', port: cmd.port });
    });
  } else if (cmd.cmd === 'send') {
    const s = sockets.get(cmd.port);
    const [host, port] = cmd.to!.split(':');
    s?.send(cmd.data ?? '', Number(port), host);
  } else if (cmd.cmd === 'reflect') {
    reflecting.add(cmd.port);
    emit({ event: 'reflecting', port: cmd.port });
  }
});
rl.on('close', () => {
  for (const s of sockets.values()) s.close();
});
