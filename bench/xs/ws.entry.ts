/**
 * XS bench: a 16-byte binary WebSocket echo between our client and server machines, N times
 * (LWSX_XS_ITERATIONS when run-in-xs.mjs sets it, else WS_BENCH_ITERATIONS): the client masks
 * and frames, the server parses and unmasks, frames the echo, the client parses it. Each
 * iteration is two frames encoded and two parsed. bench/xs.bench.ts runs it with two counts and
 * divides the difference, so loading and reporting cancel out. The handshake's accept key is
 * computed once as a check that SHA-1 and base64 give the RFC's answer inside XS.
 */
/// <reference path="./globals.d.ts" />
import { WsConnection } from '../../src/protocols/ws/connection.js';
import { acceptKey } from '../../src/protocols/ws/handshake.js';
import { reportToHost } from '../../test/xs/report.js';

export const WS_BENCH_ITERATIONS = 1000;
const N = globalThis.LWSX_XS_ITERATIONS ?? WS_BENCH_ITERATIONS;

reportToHost(() => {
  // xorshift32: deterministic masks, no host entropy needed in the bench
  let s = 0x9e3779b9;
  const random = (into: Uint8Array): void => {
    for (let i = 0; i < into.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      into[i] = s & 0xff;
    }
  };
  const client = new WsConnection({ role: 'client', random });
  const server = new WsConnection({ role: 'server' });
  client.open(0);
  server.open(0);
  const msg = new Uint8Array(16);
  let echoed = 0;
  let bytes = 0;
  let sum = 0;
  for (let i = 0; i < N; i++) {
    msg[0] = i & 0xff;
    client.sendBinary(msg);
    for (const f of client.pendingOutput()) {
      bytes += f.length;
      for (const e of server.receive(f, i)) if (e.type === 'message' && e.data instanceof Uint8Array) server.sendBinary(e.data);
    }
    for (const f of server.pendingOutput()) {
      bytes += f.length;
      for (const e of client.receive(f, i)) {
        if (e.type === 'message' && e.data instanceof Uint8Array) {
          echoed++;
          sum += e.data[0] as number;
        }
      }
    }
  }
  // frames: 22 bytes client→server (2 header + 4 mask + 16), 18 back
  return { iterations: N, echoed, bytes, sum, accept: acceptKey('dGhlIHNhbXBsZSBub25jZQ==') };
});
