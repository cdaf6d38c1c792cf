/**
 * XS bench: permessage-deflate of a 1 KiB JSON message, N times (LWSX_XS_ITERATIONS when
 * run-in-xs.mjs sets it, else WS_DEFLATE_BENCH_ITERATIONS): one side compresses it with the
 * hosts' deflater (context takeover, window 15, as a connection keeps it), the other inflates
 * it and the result is compared with what was sent. Each iteration is one compress and one
 * inflate; bench/xs.bench.ts runs it with two counts and divides the difference.
 */
/// <reference path="./globals.d.ts" />
import { wsDeflater } from '../../hosts/common/ws-deflater.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { reportToHost } from '../../test/xs/report.js';

export const WS_DEFLATE_BENCH_ITERATIONS = 100;
const N = globalThis.LWSX_XS_ITERATIONS ?? WS_DEFLATE_BENCH_ITERATIONS;

/** A 1024-byte sensor report whose numbers change with `i`. */
function message(i: number): Uint8Array {
  let s = '{"device":"lwsx-esp32","readings":[';
  for (let k = 0; s.length < 1000; k++) s += `${k ? ',' : ''}{"t":${(i * 37 + k * 11) % 400},"rh":${(i + k * 7) % 100},"ok":true}`;
  s = s.slice(0, 1022) + ']}';
  return utf8Encode(s);
}

reportToHost(() => {
  const params = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const tx = wsDeflater(params, 'client');
  const rx = wsDeflater(params, 'server');
  let ok = 0;
  let wire = 0;
  for (let i = 0; i < N; i++) {
    const m = message(i);
    const c = tx.compress(m, true);
    wire += c.length;
    const back = rx.decompress(c, true, 1 << 16) as Uint8Array;
    let same = back.length === m.length;
    for (let k = 0; same && k < m.length; k++) same = back[k] === m[k];
    if (same) ok++;
  }
  // bytes: the first message compressed on its own (later ones also refer back to earlier ones)
  const bytes = wsDeflater(params, 'client').compress(message(0), true).length;
  return { iterations: N, ok, size: message(0).length, bytes, wire };
});
