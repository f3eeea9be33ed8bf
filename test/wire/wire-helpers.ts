/**
 * Test helpers for the wire layer: a full per-peer stack (lossy pipe -> fragmentation ->
 * endpoint -> RPC) on a virtual clock, and a trivial unencrypted channel over a real
 * DatagramSocket for loopback tests.
 */
import { VirtualClock } from '../../src/virtual-clock.ts';
import { SeededRandom } from '../../src/random.ts';
import { type Address, type DatagramSocket, sameAddress } from '../../src/net/net.ts';
import { HandlerSet, type MessageChannel } from '../../src/wire/channel.ts';
import { Demux } from '../../src/wire/demux.ts';
import { FragmentedChannel } from '../../src/wire/fragment-channel.ts';
import { type LossyPipeOptions, createLossyPipe } from '../../src/wire/lossy-pipe.ts';
import { MessageEndpoint } from '../../src/wire/message-endpoint.ts';
import { type MessageDef, createRegistry } from '../../src/wire/messages.ts';
import { RpcPeer, type RpcOptions } from '../../src/wire/rpc.ts';

/** Two RPC peers joined by a lossy pipe on a fresh VirtualClock. */
export function rpcPair(
  link: Omit<LossyPipeOptions, 'clock' | 'random'> = {},
  rpc: Omit<RpcOptions, 'clock' | 'random'> = {},
  seed = 1,
  defs: MessageDef[] = [],
) {
  const clock = new VirtualClock();
  const random = new SeededRandom(seed);
  const pipe = createLossyPipe({ clock, random: random.fork(), ...link });
  const registry = createRegistry(...defs);
  const side = (ch: MessageChannel) => {
    const frag = new FragmentedChannel(ch, { clock });
    const endpoint = new MessageEndpoint(frag, registry);
    return { frag, endpoint, rpc: new RpcPeer(endpoint, { clock, random: random.fork(), ...rpc }) };
  };
  const a = side(pipe.a);
  const b = side(pipe.b);
  return {
    clock,
    pipe,
    a,
    b,
    close() {
      a.rpc.close('test over');
      b.rpc.close('test over');
      pipe.close();
    },
  };
}

/**
 * An unencrypted channel over a real socket, for tests only: payloads are prefixed with
 * 0xE0 (the overlay range) and received through a {@link Demux}.
 */
export function plainUdpChannel(socket: DatagramSocket, peer: Address): MessageChannel & { demux: Demux } {
  const handlers = new HandlerSet<Uint8Array>();
  const closeHandlers = new HandlerSet<string>();
  const demux = new Demux(socket);
  demux.on('overlay', (data, from) => {
    if (sameAddress(from, peer)) handlers.emit(data.subarray(1));
  });
  let closed = false;
  return {
    demux,
    send(payload) {
      if (closed) return;
      const d = new Uint8Array(payload.length + 1);
      d[0] = 0xe0;
      d.set(payload, 1);
      socket.send(d, peer);
    },
    onMessage: (h) => handlers.add(h),
    onClose: (h) => closeHandlers.add(h),
    close() {
      if (closed) return;
      closed = true;
      demux.close();
      handlers.clear();
      closeHandlers.emit('closed');
    },
  };
}
