/**
 * permessage-deflate (RFC 7692) for both hosts, in plain ECMAScript so the same code runs on XS
 * and on Node: RawDeflate compresses with our window of exactly the negotiated size, kept from
 * message to message unless our no_context_takeover applies; RawInflate decompresses with the
 * peer's window, kept likewise unless theirs applies, and stops at the message size limit.
 * One instance per connection, from the negotiated parameters and our role.
 */
import type { MessageDeflater } from '../../src/protocols/ws/deflater.js';
import type { DeflateParams } from '../../src/protocols/ws/extensions.js';
import { DecodeError } from '../../src/util/errors.js';
import { RawDeflate } from './raw-deflate.js';
import { RawInflate } from './raw-inflate.js';

const TAIL = Uint8Array.of(0, 0, 0xff, 0xff);
const EMPTY = new Uint8Array(0);

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function wsDeflater(params: DeflateParams, role: 'client' | 'server'): MessageDeflater {
  const client = role === 'client';
  const ourBits = client ? params.clientMaxWindowBits : params.serverMaxWindowBits;
  const ourReset = client ? params.clientNoContextTakeover : params.serverNoContextTakeover;
  const theirBits = client ? params.serverMaxWindowBits : params.clientMaxWindowBits;
  const theirReset = client ? params.serverNoContextTakeover : params.clientNoContextTakeover;
  // built on first use: a connection that only receives never holds a compressor's window
  let deflate: RawDeflate | undefined;
  let inflate: RawInflate | undefined;

  return {
    compress(data: Uint8Array, final: boolean): Uint8Array {
      deflate ??= new RawDeflate(ourBits);
      const out = deflate.push(data);
      if (!final) return out;
      if (ourReset) deflate.reset();
      // the message's last piece leaves off the sync flush's 00 00 FF FF (§7.2.1)
      return out.subarray(0, out.length - 4);
    },
    decompress(data: Uint8Array, final: boolean, maxOutput: number): Uint8Array | undefined {
      const inf = (inflate ??= new RawInflate(theirBits));
      const body = inf.push(data, maxOutput);
      if (!final || body === undefined) return body;
      const tail = inf.push(TAIL, maxOutput - body.length);
      if (tail === undefined) return undefined;
      if (!inf.atBoundary) throw new DecodeError('ERR_INFLATE', 'inflate: the message ends inside a DEFLATE block');
      // a peer may end a message with a final block (§7.2.3.4): its next one is a new stream
      if (theirReset || inf.ended) inf.reset();
      return tail.length ? join(body, tail) : body.length ? body : EMPTY;
    },
  };
}
