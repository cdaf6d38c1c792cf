/**
 * maskCopy and a masked frame round trip, over lengths on both sides of the word path's
 * threshold and every alignment and phase; the result is a digest per case, so Node and XS
 * must agree byte for byte. Plain ECMAScript: runs in both engines.
 */
import { WsConnection } from '../../src/protocols/ws/connection.js';
import { maskCopy } from '../../src/protocols/ws/frame.js';

/** FNV-1a over the bytes */
function digest(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193) >>> 0;
  return h;
}

export function runWsMaskVectors(): Record<string, unknown> {
  const key = Uint8Array.of(0xa1, 0x5b, 0x3c, 0xe7);
  const cases: number[] = [];
  for (const len of [0, 1, 127, 128, 129, 131, 1000, 4099]) {
    const src = new Uint8Array(len + 3);
    for (let i = 0; i < src.length; i++) src[i] = (i * 29 + len) & 0xff;
    for (let srcOff = 0; srcOff < 3; srcOff++) {
      for (let dstOff = 0; dstOff < 4; dstOff++) {
        for (let phase = 0; phase < 4; phase++) {
          const dst = new Uint8Array(len + 8);
          maskCopy(src, srcOff, dst, dstOff, len, key, phase);
          // and once more in two pieces: the same bytes
          const two = new Uint8Array(len + 8);
          const cut = len >> 1;
          maskCopy(src, srcOff, two, dstOff, cut, key, phase);
          maskCopy(src, srcOff + cut, two, dstOff + cut, len - cut, key, phase + cut);
          cases.push(digest(dst), digest(dst) === digest(two) ? 1 : 0);
        }
      }
    }
  }
  // a client's masked 5000-byte message parsed by a server
  let s = 7;
  const client = new WsConnection({ role: 'client', random: (into) => { for (let i = 0; i < into.length; i++) into[i] = (s = (s * 73 + 11) & 0xff); } });
  const server = new WsConnection({ role: 'server' });
  client.open(0);
  server.open(0);
  const msg = new Uint8Array(5000);
  for (let i = 0; i < msg.length; i++) msg[i] = (i * 7) & 0xff;
  client.sendBinary(msg);
  const got: number[] = [];
  for (const f of client.pendingOutput()) for (const e of server.receive(f, 0)) if (e.type === 'message' && e.data instanceof Uint8Array) got.push(digest(e.data));
  return { cases, message: got, expected: digest(msg) };
}
