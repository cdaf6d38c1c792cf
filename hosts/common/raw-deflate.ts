/**
 * A raw DEFLATE (RFC 1951) compressor made for permessage-deflate on small devices: LZ77 over
 * a window of exactly the negotiated size (2^8..2^15 bytes, so every `*_max_window_bits` is
 * honoured), fixed Huffman codes (no trees to build or send: the approach of uzlib, which
 * MicroPython ships) and a sync flush after every piece, so each piece ends byte-aligned with
 * 00 00 FF FF and the window carries over to the next message unless `reset()`.
 *
 * Why not fflate's Deflate: in 0.8.3 its sync flush misplaces the empty stored block and its
 * first block can refer to distances before the start of the stream; zlib refuses both.
 *
 * Memory: the window twice over (the bytes and a u16 hash chain), 8 KiB of hash heads, and
 * the output of one piece.
 */
import { DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA } from './deflate-tables.js';

const MIN_MATCH = 3;
const MAX_MATCH = 258;
const HASH_BITS = 12;
const HASH_SIZE = 1 << HASH_BITS;
/** candidates tried per position, and a match long enough to stop looking */
const MAX_CHAIN = 64;
const NICE_MATCH = 128;
/** bytes kept unencoded at the end of the window until more input or the flush */
const LOOKAHEAD = MAX_MATCH + MIN_MATCH;
const STORED_MAX = 65535;


function reverseBits(v: number, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) {
    r = (r << 1) | (v & 1);
    v >>>= 1;
  }
  return r;
}

/** The fixed literal/length code (§3.2.6), bit-reversed for an LSB-first writer. */
const LIT_CODE = new Uint16Array(288);
const LIT_BITS = new Uint8Array(288);
for (let s = 0; s < 288; s++) {
  const [code, n] = s < 144 ? [0x30 + s, 8] : s < 256 ? [0x190 + s - 144, 9] : s < 280 ? [s - 256, 7] : [0xc0 + s - 280, 8];
  LIT_CODE[s] = reverseBits(code, n);
  LIT_BITS[s] = n;
}
/** match length (3..258) → length code index 0..28 */
const LEN_INDEX = new Uint8Array(MAX_MATCH + 1);
for (let i = 0; i < 29; i++) {
  const end = i === 28 ? MAX_MATCH : (LEN_BASE[i + 1] as number) - 1;
  for (let l = LEN_BASE[i] as number; l <= end; l++) LEN_INDEX[l] = i;
}
LEN_INDEX[MAX_MATCH] = 28;
/** the 5-bit distance codes, reversed */
const DIST_CODE = Uint8Array.from({ length: 30 }, (_, d) => reverseBits(d, 5));

function distIndex(d: number): number {
  let lo = 0;
  let hi = 29;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((DIST_BASE[mid] as number) <= d) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export class RawDeflate {
  private readonly wsize: number;
  private readonly wmask: number;
  /** the window and the input not yet encoded; positions index it, 0 means "none" in the tables */
  private readonly win: Uint8Array;
  private end = 0;
  private pos = 0;
  private readonly head = new Uint16Array(HASH_SIZE);
  /** previous position with the same hash, indexed by position mod wsize */
  private readonly prev: Uint16Array;

  private out: Uint8Array = new Uint8Array(0);
  private outLen = 0;
  private bitBuf = 0;
  private bitCount = 0;

  /** `windowBits` 8..15: no match reaches further back than 2^windowBits bytes */
  constructor(windowBits: number) {
    if (!Number.isInteger(windowBits) || windowBits < 8 || windowBits > 15) throw new RangeError(`windowBits ${windowBits} is not 8..15`);
    this.wsize = 1 << windowBits;
    this.wmask = this.wsize - 1;
    // room for the window plus input, a multiple of the window so sliding keeps prev's indexing
    const size = Math.max(2, Math.ceil((this.wsize + 1024) / this.wsize)) * this.wsize;
    this.win = new Uint8Array(size);
    this.prev = new Uint16Array(this.wsize);
  }

  /** Forgets the window: the next piece refers to nothing before it (no context takeover). */
  reset(): void {
    this.end = 0;
    this.pos = 0;
    this.head.fill(0);
  }

  /**
   * Compresses `data` after everything before it and sync-flushes: the result ends with an
   * empty stored block (00 00 FF FF) and holds no final block. Incompressible data goes out as
   * stored blocks.
   */
  push(data: Uint8Array): Uint8Array {
    const n = data.length;
    this.out = new Uint8Array(((n * 9) >>> 3) + 16);
    this.outLen = 0;
    if (n > 0) {
      this.bits(2, 3); // BFINAL 0, BTYPE 01 (fixed Huffman)
      for (let i = 0; i < n; ) {
        if (this.end === this.win.length) this.slide();
        const take = Math.min(this.win.length - this.end, n - i);
        this.win.set(data.subarray(i, i + take), this.end);
        this.end += take;
        i += take;
        this.encode(i === n);
      }
      this.bits(0, 7); // end of block (256)
      const huffman = this.outLen + (this.bitCount > 0 ? 1 : 0);
      const stored = n + 5 * Math.ceil(n / STORED_MAX);
      if (huffman > stored) {
        // the window holds the data either way; only its coding changes
        this.outLen = 0;
        this.bitBuf = 0;
        this.bitCount = 0;
        for (let i = 0; i < n; i += STORED_MAX) this.storedBlock(data.subarray(i, Math.min(n, i + STORED_MAX)));
      }
    }
    this.storedBlock(data.subarray(0, 0));
    return this.out.subarray(0, this.outLen);
  }

  private storedBlock(chunk: Uint8Array): void {
    this.bits(0, 3);
    if (this.bitCount > 0) this.bits(0, 8 - this.bitCount);
    const len = chunk.length;
    const need = this.outLen + 4 + len;
    if (need > this.out.length) {
      const grown = new Uint8Array(need + 64);
      grown.set(this.out.subarray(0, this.outLen));
      this.out = grown;
    }
    const o = this.out;
    let p = this.outLen;
    o[p++] = len & 0xff;
    o[p++] = len >>> 8;
    o[p++] = ~len & 0xff;
    o[p++] = (~len >>> 8) & 0xff;
    o.set(chunk, p);
    this.outLen = p + len;
  }

  /** Writes the low `n` (≤ 16) bits of `v`, least significant first. */
  private bits(v: number, n: number): void {
    this.bitBuf |= v << this.bitCount;
    this.bitCount += n;
    while (this.bitCount >= 8) {
      this.out[this.outLen++] = this.bitBuf & 0xff;
      this.bitBuf >>>= 8;
      this.bitCount -= 8;
    }
  }

  /** Drops the oldest whole windows so more input fits; positions move down by a multiple of wsize. */
  private slide(): void {
    const w = this.wsize;
    const by = Math.max(1, Math.floor(this.pos / w) - 1) * w;
    this.win.copyWithin(0, by, this.end);
    this.end -= by;
    this.pos -= by;
    const adjust = (t: Uint16Array): void => {
      for (let i = 0; i < t.length; i++) {
        const v = t[i] as number;
        t[i] = v > by ? v - by : 0;
      }
    };
    adjust(this.head);
    adjust(this.prev);
  }

  private hash(p: number): number {
    const w = this.win;
    return Math.imul(((w[p] as number) << 16) | ((w[p + 1] as number) << 8) | (w[p + 2] as number), 0x9e3779b1) >>> (32 - HASH_BITS);
  }

  /** Inserts position p (p + 2 < end) and returns the previous head of its chain. */
  private insert(p: number): number {
    const h = this.hash(p);
    const cand = this.head[h] as number;
    if (p !== 0) {
      this.prev[p & this.wmask] = cand;
      this.head[h] = p;
    }
    return cand;
  }

  /** Encodes from pos up to the lookahead (or to the end when `flush`). */
  private encode(flush: boolean): void {
    const win = this.win;
    const stop = flush ? this.end : this.end - LOOKAHEAD;
    let pos = this.pos;
    while (pos < stop) {
      const avail = this.end - pos;
      let best = 0;
      let dist = 0;
      if (avail >= MIN_MATCH) {
        let cand = this.insert(pos);
        const maxLen = avail < MAX_MATCH ? avail : MAX_MATCH;
        const limit = pos - this.wsize;
        let chain = MAX_CHAIN;
        while (cand > 0 && cand >= limit && chain-- > 0) {
          if (win[cand + best] === win[pos + best] && win[cand] === win[pos]) {
            let l = 0;
            while (l < maxLen && win[cand + l] === win[pos + l]) l++;
            if (l > best) {
              best = l;
              dist = pos - cand;
              if (l >= NICE_MATCH || l === maxLen) break;
            }
          }
          const next = this.prev[cand & this.wmask] as number;
          if (next >= cand) break;
          cand = next;
        }
      }
      if (best >= MIN_MATCH) {
        this.match(best, dist);
        const last = pos + best;
        for (let p = pos + 1; p < last && p + 2 < this.end; p++) this.insert(p);
        pos = last;
      } else {
        const lit = win[pos] as number;
        this.bits(LIT_CODE[lit] as number, LIT_BITS[lit] as number);
        pos++;
      }
    }
    this.pos = pos;
  }

  private match(len: number, dist: number): void {
    const li = LEN_INDEX[len] as number;
    const sym = 257 + li;
    this.bits(LIT_CODE[sym] as number, LIT_BITS[sym] as number);
    const le = LEN_EXTRA[li] as number;
    if (le) this.bits(len - (LEN_BASE[li] as number), le);
    const di = distIndex(dist);
    this.bits(DIST_CODE[di] as number, 5);
    const de = DIST_EXTRA[di] as number;
    if (de) this.bits(dist - (DIST_BASE[di] as number), de);
  }
}
