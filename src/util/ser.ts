/**
 * lws_ser_* — fixed-width integer (de)serialisation on a Uint8Array at an offset.
 *
 * Plain byte arithmetic rather than a DataView: no allocation per call, and it works on any
 * view (subarray offsets included). Writers return the offset just past what they wrote so
 * packet builders can chain. Values are truncated to the field width, as a C cast would;
 * 64-bit fields are BigInt on read (a u64 does not fit a double).
 *
 * Every access is bounds-checked: a read or write that would pass the end throws DecodeError
 * 'ERR_SER_BOUNDS' naming the offset, the width and the buffer length.
 */
import { DecodeError, UsageError } from './errors.js';

const TWO32 = 4294967296;

function check(b: Uint8Array, off: number, width: number): void {
  if (!Number.isInteger(off) || off < 0 || off + width > b.length) {
    throw new DecodeError('ERR_SER_BOUNDS', `${width}-byte field at offset ${off} overruns ${b.length} bytes`, {
      offset: off,
      width,
      length: b.length,
    });
  }
}

export function wu8(b: Uint8Array, off: number, v: number): number {
  check(b, off, 1);
  b[off] = v;
  return off + 1;
}

export function wu16be(b: Uint8Array, off: number, v: number): number {
  check(b, off, 2);
  b[off] = v >>> 8;
  b[off + 1] = v;
  return off + 2;
}

export function wu16le(b: Uint8Array, off: number, v: number): number {
  check(b, off, 2);
  b[off] = v;
  b[off + 1] = v >>> 8;
  return off + 2;
}

export function wu32be(b: Uint8Array, off: number, v: number): number {
  check(b, off, 4);
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
  return off + 4;
}

export function wu32le(b: Uint8Array, off: number, v: number): number {
  check(b, off, 4);
  b[off] = v;
  b[off + 1] = v >>> 8;
  b[off + 2] = v >>> 16;
  b[off + 3] = v >>> 24;
  return off + 4;
}

/**
 * Splits a u64 into 32-bit halves. A number must be an integer (any sign: negative values wrap
 * as two's complement, as in C); it avoids BigInt when it is a non-negative safe integer.
 */
function halves(v: bigint | number): [hi: number, lo: number] {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) {
      throw new UsageError('ERR_SER_VALUE', `u64 value ${v} is not an integer`, { value: v });
    }
    if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) return [Math.floor(v / TWO32), v % TWO32];
    v = BigInt(v);
  }
  const u = BigInt.asUintN(64, v);
  return [Number(u >> 32n), Number(u & 0xffffffffn)];
}

export function wu64be(b: Uint8Array, off: number, v: bigint | number): number {
  check(b, off, 8);
  const [hi, lo] = halves(v);
  wu32be(b, off, hi);
  wu32be(b, off + 4, lo);
  return off + 8;
}

export function wu64le(b: Uint8Array, off: number, v: bigint | number): number {
  check(b, off, 8);
  const [hi, lo] = halves(v);
  wu32le(b, off, lo);
  wu32le(b, off + 4, hi);
  return off + 8;
}

export function ru8(b: Uint8Array, off: number): number {
  check(b, off, 1);
  return b[off] as number;
}

export function ru16be(b: Uint8Array, off: number): number {
  check(b, off, 2);
  return ((b[off] as number) << 8) | (b[off + 1] as number);
}

export function ru16le(b: Uint8Array, off: number): number {
  check(b, off, 2);
  return (b[off] as number) | ((b[off + 1] as number) << 8);
}

export function ru32be(b: Uint8Array, off: number): number {
  check(b, off, 4);
  return (
    (b[off] as number) * 0x1000000 +
    (((b[off + 1] as number) << 16) | ((b[off + 2] as number) << 8) | (b[off + 3] as number))
  );
}

export function ru32le(b: Uint8Array, off: number): number {
  check(b, off, 4);
  return (
    (b[off + 3] as number) * 0x1000000 +
    (((b[off + 2] as number) << 16) | ((b[off + 1] as number) << 8) | (b[off] as number))
  );
}

export function ru64be(b: Uint8Array, off: number): bigint {
  check(b, off, 8);
  return (BigInt(ru32be(b, off)) << 32n) | BigInt(ru32be(b, off + 4));
}

export function ru64le(b: Uint8Array, off: number): bigint {
  check(b, off, 8);
  return (BigInt(ru32le(b, off + 4)) << 32n) | BigInt(ru32le(b, off));
}
