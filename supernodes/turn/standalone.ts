/**
 * A TURN/STUN server on its own UDP socket, for tests, benchmarks and a relay-only
 * deployment. In a supernode the server instead shares the node's port (server.ts).
 *
 * @example
 * ```ts
 * const turn = await startStandaloneTurn({ env, listen: { host: '127.0.0.1', port: 0 }, secret: 's',
 *   relayHost: '127.0.0.1', allowPrivatePeers: true });
 * console.log(turn.address); // { host: '127.0.0.1', port: 41234 }
 * turn.close();
 * ```
 * @module
 */
import type { Address, BindOptions } from '../../src/net/net.ts';
import { TurnServer, type TurnServerOptions } from './server.ts';

/** Options: the server's, minus `send`, plus where to listen. */
export interface StandaloneTurnOptions extends Omit<TurnServerOptions, 'send'> {
  listen: { host: string; port?: number };
  /**
   * Receive buffer asked for the listening socket, bytes; default 4 MiB (it takes every
   * client's traffic). Passed to `Net.bind` as `receiveBufferBytes`; a Net may ignore it.
   */
  recvBufferSize?: number;
}

/** A running standalone server. */
export interface StandaloneTurn {
  readonly server: TurnServer;
  /** The bound listening address. */
  readonly address: Address;
  /** Non-STUN, non-ChannelData datagrams seen on the port. */
  foreignDatagrams(): number;
  /** Close the server and its socket. */
  close(): void;
}

/** Bind `listen` and serve TURN/STUN on it. */
export async function startStandaloneTurn(options: StandaloneTurnOptions): Promise<StandaloneTurn> {
  const bind: BindOptions = {
    host: options.listen.host,
    port: options.listen.port ?? 0,
    receiveBufferBytes: options.recvBufferSize ?? 4 * 1024 * 1024,
  };
  const socket = await options.env.net.bind(bind);
  const server = new TurnServer({
    ...options,
    send: (data, to) => socket.send(data, to),
    ...(socket.sendOwned ? { sendOwned: (data: Uint8Array, to: Address) => socket.sendOwned!(data, to) } : {}),
  });
  let foreign = 0;
  socket.onMessage((data, from) => {
    if (!server.handle(data, from)) foreign++;
  });
  return {
    server,
    address: socket.address,
    foreignDatagrams: () => foreign,
    close() {
      server.close();
      socket.close();
    },
  };
}
