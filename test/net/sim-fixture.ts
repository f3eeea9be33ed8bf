/**
 * Helpers for SimNet tests: a simulator on a virtual clock and a recorder of deliveries.
 * @module
 */
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { SimNet, type SimNetOptions } from '../../src/net/sim.ts';
import type { Address, DatagramSocket } from '../../src/net/net.ts';

/** A fresh simulator (seed 1 unless given) on a new virtual clock. */
export function makeSim(options: Partial<Omit<SimNetOptions, 'clock' | 'random'>> & { seed?: number } = {}): { clock: VirtualClock; sim: SimNet } {
  const clock = new VirtualClock();
  const { seed = 1, ...rest } = options;
  const sim = new SimNet({ clock, random: new SeededRandom(seed), ...rest });
  return { clock, sim };
}

/** One received datagram as seen by a test. */
export interface Received {
  at: number;
  data: Uint8Array;
  from: Address;
}

/** Record everything a socket receives (with virtual receive time). */
export function record(clock: VirtualClock, sock: DatagramSocket): Received[] {
  const got: Received[] = [];
  sock.onMessage((data, from) => got.push({ at: clock.now(), data, from }));
  return got;
}
