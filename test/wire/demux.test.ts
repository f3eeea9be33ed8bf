import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DATAGRAM_CLASSES, Demux, classifyDatagram, classifyFirstByte, type DatagramClass } from '../../src/wire/demux.ts';
import type { Address, MessageHandler } from '../../src/net/net.ts';

const s = suite('wire/demux');

// RFC 7983 section 7 as updated by RFC 9443 section 2, plus tincan's overlay range.
const table: [number, number, DatagramClass][] = [
  [0, 3, 'stun'],
  [4, 15, 'unknown'],
  [16, 19, 'zrtp'],
  [20, 63, 'dtls'],
  [64, 127, 'turn-channel'], // 80-127 too: TURN channels up to 0x7FFF (no QUIC on our port)
  [128, 191, 'rtp'],
  [192, 223, 'unknown'], // QUIC long header
  [224, 239, 'overlay'],
  [240, 255, 'unknown'],
];

s('every first byte 0-255 is classified per the table', () => {
  let covered = 0;
  for (const [lo, hi, cls] of table) {
    for (let b = lo; b <= hi; b++) {
      covered++;
      assert.is(classifyFirstByte(b), cls, `byte ${b}`);
      assert.is(classifyDatagram(new Uint8Array([b, 0xff, 0x00])), cls, `datagram starting ${b}`);
    }
  }
  assert.is(covered, 256);
});

s('an empty datagram is unknown; classes list is complete', () => {
  assert.is(classifyDatagram(new Uint8Array(0)), 'unknown');
  assert.equal(new Set(table.map((t) => t[2])), new Set(DATAGRAM_CLASSES));
});

s('real-world first bytes', () => {
  assert.is(classifyDatagram(new Uint8Array([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42])), 'stun'); // Binding request
  assert.is(classifyDatagram(new Uint8Array([0x16, 0xfe, 0xfd])), 'dtls'); // DTLS 1.2 handshake
  assert.is(classifyDatagram(new Uint8Array([0x40, 0x00, 0x00, 0x04])), 'turn-channel'); // channel 0x4000
  assert.is(classifyDatagram(new Uint8Array([0x80, 0x6f])), 'rtp'); // RTP v2, PT 111
  assert.is(classifyDatagram(new Uint8Array([0x81, 0xc8])), 'rtp'); // RTCP SR
});

function fakeSocket() {
  let handler: MessageHandler | undefined;
  return {
    onMessage(h: MessageHandler) {
      handler = h;
      return () => {
        handler = undefined;
      };
    },
    deliver(data: number[]) {
      handler?.(new Uint8Array(data), from);
    },
    get attached() {
      return handler !== undefined;
    },
  };
}
const from: Address = { host: '192.0.2.1', port: 3478 };

s('routes by class, counts unknown, missing handler and throwing handler', () => {
  const sock = fakeSocket();
  const errors: DatagramClass[] = [];
  const demux = new Demux(sock, (_e, cls) => errors.push(cls));
  const got: string[] = [];
  demux.on('overlay', (d, f) => got.push(`overlay ${d[0]} ${f.port}`));
  demux.on('stun', () => got.push('stun'));
  demux.on('rtp', () => {
    throw new Error('boom');
  });
  sock.deliver([0xe3, 1]);
  sock.deliver([0x01]);
  sock.deliver([0x90]); // rtp, throws
  sock.deliver([0x17]); // dtls, no handler
  sock.deliver([0xff]);
  sock.deliver([]);
  assert.equal(got, ['overlay 227 3478', 'stun']);
  assert.equal(errors, ['rtp']);
  const st = demux.stats();
  assert.is(st.received.overlay, 1);
  assert.is(st.received.stun, 1);
  assert.is(st.received.rtp, 0);
  assert.equal(st.dropped, { unknown: 2, noHandler: 1, handlerError: 1 });
  demux.close();
  assert.not.ok(sock.attached);
});

s('one handler per class; remover frees the class; unknown cannot be handled', () => {
  const sock = fakeSocket();
  const demux = new Demux(sock);
  const off = demux.on('dtls', () => {});
  assert.throws(() => demux.on('dtls', () => {}), /already registered/);
  off();
  demux.on('dtls', () => {});
  assert.throws(() => demux.on('unknown' as 'dtls', () => {}), /always dropped/);
  demux.close();
  demux.close();
  sock.deliver([0x17]);
  assert.is(demux.stats().received.dtls, 0);
});

s.run();
