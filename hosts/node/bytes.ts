/**
 * Byte copies at the Node boundary. Node keeps a reference to what it is given until the
 * kernel has taken it, while ECMA-419 callers may reuse their buffer as soon as write()
 * returns, so outgoing bytes are copied; incoming Buffers may be views into a shared pool, so
 * what read() hands out is copied into an ArrayBuffer of its own.
 */
import type { Bytes } from '../../src/net/host.js';

/**
 * A private Buffer copy of `data`. A Uint8Array is copied as it is: asking a small one for its
 * `.buffer` makes V8 move its bytes off the heap into a fresh allocation (malloc and free per
 * message), which costs more than the copy itself.
 */
export function copyToBuffer(data: Bytes): Buffer {
  if (data instanceof Uint8Array) return Buffer.from(data);
  const view = data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(view);
}

/** A standalone ArrayBuffer holding `b`'s bytes. */
export function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}
