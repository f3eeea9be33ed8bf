/**
 * The environment every component receives: time, randomness, sockets and logging.
 * Components never reach for globals (Date.now, Math.random, node:dgram, console), so
 * the same code runs on the real machine and in the deterministic simulator.
 *
 * @example
 * ```ts
 * const env = realEnv({ logLevel: 'warn' });
 * const socket = await env.net.bind({ host: '127.0.0.1', port: 0 });
 * ```
 * @module
 */
import { type Clock, RealClock } from './clock.ts';
import { type Random, SecureRandom } from './random.ts';
import { type Logger, type LogLevel, createLogger } from './log.ts';
import type { Net } from './net/net.ts';
import { UdpNet } from './net/udp.ts';

/** Time, randomness, network and logging, passed to every component. */
export interface Env {
  readonly clock: Clock;
  readonly random: Random;
  readonly net: Net;
  readonly log: Logger;
}

/** Options for {@link realEnv}. */
export interface RealEnvOptions {
  logLevel?: LogLevel;
  log?: Logger;
}

/** The real machine: wall clock, CSPRNG, UDP sockets, pino on stderr. */
export function realEnv(options: RealEnvOptions = {}): Env {
  return {
    clock: new RealClock(),
    random: new SecureRandom(),
    net: new UdpNet(),
    log: options.log ?? createLogger(options.logLevel ?? 'info'),
  };
}
