/**
 * SHA-1 (FIPS 180-4), engine-neutral: XS has no crypto module, and the WebSocket opening
 * handshake needs SHA-1 for Sec-WebSocket-Accept. Not for anything that needs collision
 * resistance.
 *
 * Incremental (`update` as many times as wanted, then `digest`), working on 64-byte blocks
 * with one preallocated 80-word schedule, so hashing allocates nothing per block.
 */
import { UsageError } from './errors.js';

export class Sha1 {
  private h0 = 0x67452301;
  private h1 = 0xefcdab89 | 0;
  private h2 = 0x98badcfe | 0;
  private h3 = 0x10325476;
  private h4 = 0xc3d2e1f0 | 0;
  /** the partial block not yet compressed */
  private readonly block = new Uint8Array(64);
  private blockLen = 0;
  /** total bytes hashed; a Number is exact up to 2^53 bytes, far beyond anything hashed here */
  private total = 0;
  private readonly w = new Int32Array(80);
  private done = false;

  update(data: Uint8Array): this {
    if (this.done) throw new UsageError('ERR_SHA1_FINISHED', 'sha1: update after digest');
    let off = 0;
    const n = data.length;
    this.total += n;
    if (this.blockLen > 0) {
      const take = Math.min(64 - this.blockLen, n);
      this.block.set(data.subarray(0, take), this.blockLen);
      this.blockLen += take;
      off = take;
      if (this.blockLen < 64) return this;
      this.compress(this.block, 0);
      this.blockLen = 0;
    }
    while (n - off >= 64) {
      this.compress(data, off);
      off += 64;
    }
    if (off < n) {
      this.block.set(data.subarray(off), 0);
      this.blockLen = n - off;
    }
    return this;
  }

  /** The 20-byte digest; the hash cannot be updated afterwards. */
  digest(): Uint8Array {
    if (this.done) throw new UsageError('ERR_SHA1_FINISHED', 'sha1: digest called twice');
    const bits = this.total * 8;
    const b = this.block;
    b[this.blockLen++] = 0x80;
    if (this.blockLen > 56) {
      b.fill(0, this.blockLen);
      this.compress(b, 0);
      this.blockLen = 0;
    }
    b.fill(0, this.blockLen, 56);
    const hi = Math.floor(bits / 4294967296);
    const lo = bits >>> 0;
    b[56] = hi >>> 24;
    b[57] = hi >>> 16;
    b[58] = hi >>> 8;
    b[59] = hi;
    b[60] = lo >>> 24;
    b[61] = lo >>> 16;
    b[62] = lo >>> 8;
    b[63] = lo;
    this.compress(b, 0);
    this.done = true;
    const out = new Uint8Array(20);
    const hs = [this.h0, this.h1, this.h2, this.h3, this.h4];
    for (let i = 0; i < 5; i++) {
      const h = hs[i] as number;
      out[i * 4] = h >>> 24;
      out[i * 4 + 1] = h >>> 16;
      out[i * 4 + 2] = h >>> 8;
      out[i * 4 + 3] = h;
    }
    return out;
  }

  private compress(p: Uint8Array, off: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      w[i] = ((p[j] as number) << 24) | ((p[j + 1] as number) << 16) | ((p[j + 2] as number) << 8) | (p[j + 3] as number);
    }
    for (let i = 16; i < 80; i++) {
      const x = (w[i - 3] as number) ^ (w[i - 8] as number) ^ (w[i - 14] as number) ^ (w[i - 16] as number);
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = this.h0;
    let b = this.h1;
    let c = this.h2;
    let d = this.h3;
    let e = this.h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + (w[i] as number)) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    this.h0 = (this.h0 + a) | 0;
    this.h1 = (this.h1 + b) | 0;
    this.h2 = (this.h2 + c) | 0;
    this.h3 = (this.h3 + d) | 0;
    this.h4 = (this.h4 + e) | 0;
  }
}

/** SHA-1 of `data` in one call. */
export function sha1(data: Uint8Array): Uint8Array {
  return new Sha1().update(data).digest();
}
