/**
 * permessage-deflate (RFC 7692) on fflate: pure JavaScript, so the same code compresses on XS
 * and on Node. One instance per connection, from the negotiated parameters and our role.
 *
 * fflate always uses a 32 KiB window. Where the negotiation limits our own compression window
 * below 15 bits, we send stored (uncompressed) DEFLATE blocks instead, which are valid for any
 * window; inflating needs no such care (a 32 KiB window reads any smaller one).
 */
import { Deflate, Inflate } from 'fflate';
import type { MessageDeflater } from '../../src/protocols/ws/deflater.js';
import type { DeflateParams } from '../../src/protocols/ws/extensions.js';

const TAIL = new Uint8Array([0, 0, 0xff, 0xff]);

function join(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function fflateDeflater(params: DeflateParams, role: 'client' | 'server'): MessageDeflater {
  const ourBits = role === 'client' ? params.clientMaxWindowBits : params.serverMaxWindowBits;
  const theirsReset = role === 'client' ? params.serverNoContextTakeover : params.clientNoContextTakeover;
  const level = ourBits < 15 ? 0 : 6;

  let out: Uint8Array[] = [];
  let outSize = 0;
  const collect = (chunk: Uint8Array): void => {
    out.push(chunk);
    outSize += chunk.length;
  };

  let inflated: Uint8Array[] = [];
  let inflatedSize = 0;
  let inflate: Inflate | undefined;
  const newInflate = (): Inflate =>
    new Inflate((chunk) => {
      inflated.push(chunk);
      inflatedSize += chunk.length;
    });

  return {
    compress(data: Uint8Array): Uint8Array {
      // a fresh context per message, whatever was negotiated: always allowed (the peer simply
      // keeps a window we never refer to), and fflate's output after a sync flush cannot be
      // continued into the next message in a way zlib accepts
      const deflate = new Deflate({ level }, collect);
      out = [];
      outSize = 0;
      deflate.push(data);
      deflate.flush(true);
      const all = join(out, outSize);
      // a sync flush ends with an empty stored block, 00 00 FF FF: the frame leaves it off
      const n = all.length;
      if (n >= 4 && all[n - 4] === 0 && all[n - 3] === 0 && all[n - 2] === 0xff && all[n - 1] === 0xff) return all.subarray(0, n - 4);
      return all;
    },
    decompress(data: Uint8Array, final: boolean, maxOutput: number): Uint8Array | undefined {
      inflate ??= newInflate();
      inflated = [];
      inflatedSize = 0;
      inflate.push(data);
      if (final) inflate.push(TAIL);
      if (inflatedSize > maxOutput) return undefined;
      const result = join(inflated, inflatedSize);
      if (final && theirsReset) inflate = undefined;
      return result;
    },
  };
}
