/**
 * A streaming raw DEFLATE (RFC 1951) decoder for permessage-deflate on small devices: input in
 * any pieces, a window of 2^bits bytes kept between pieces and messages, and output that stops
 * at a limit instead of growing (a decompression bomb costs at most the limit).
 *
 * Decoding goes one unit at a time (a block header with its code tables, or one literal or
 * match); when a piece ends inside a unit, the unit is rolled back and its bytes kept for the
 * next piece. Huffman codes are decoded canonically, as zlib's puff does: small tables, no
 * per-block allocation beyond them.
 *
 * Why not fflate's Inflate: each push allocates its 32 KiB window plus 128 KiB of output room,
 * which a device cannot afford per frame.
 */
import { DecodeError } from '../../src/util/errors.js';
import { DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA } from './deflate-tables.js';

const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const MAX_BITS = 15;

/** A canonical Huffman code: how many codes of each length, and the symbols in code order. */
interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
}

function bad(why: string): DecodeError {
  return new DecodeError('ERR_INFLATE', `inflate: ${why}`, { why });
}

function build(lengths: Uint8Array, n: number): Huffman {
  const count = new Uint16Array(MAX_BITS + 1);
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) count[lengths[s] as number]++;
  let left = 1;
  for (let l = 1; l <= MAX_BITS; l++) {
    left = left * 2 - (count[l] as number);
    if (left < 0) throw bad('over-subscribed code');
  }
  const offs = new Uint16Array(MAX_BITS + 1);
  for (let l = 1; l < MAX_BITS; l++) offs[l + 1] = (offs[l] as number) + (count[l] as number);
  for (let s = 0; s < n; s++) {
    const l = lengths[s] as number;
    if (l) symbol[offs[l]++] = s;
  }
  return { count, symbol };
}

const FIXED_LEN = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  return build(l, 288);
})();
const FIXED_DIST = build(new Uint8Array(30).fill(5), 30);

/** thrown (shared objects, never escaping push) when a piece ends inside a unit, and when the output would pass the limit */
const UNDERFLOW = { underflow: true };
const OVER = { over: true };

const enum Mode {
  Header,
  Stored,
  Codes,
  /** a block with BFINAL set has ended: the stream is over */
  Ended,
}

export class RawInflate {
  private readonly win: Uint8Array;
  private readonly wmask: number;
  private wpos = 0;
  /** bytes of history in the window (up to its size) */
  private have = 0;

  private mode = Mode.Header;
  private last = false;
  private storedLeft = 0;
  private lencode: Huffman = FIXED_LEN;
  private distcode: Huffman = FIXED_DIST;

  /** input: the current piece (after what was left of the previous one), and the bit reader */
  private data: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private bitBuf = 0;
  private bitCnt = 0;

  private out: Uint8Array = new Uint8Array(0);
  private outLen = 0;
  private limit = 0;

  /** `windowBits` 8..15: the largest distance the peer may use is 2^windowBits */
  constructor(windowBits: number) {
    if (!Number.isInteger(windowBits) || windowBits < 8 || windowBits > 15) throw new RangeError(`windowBits ${windowBits} is not 8..15`);
    // zlib cannot compress raw DEFLATE with an 8-bit window and silently uses 9: read those too
    const size = 1 << Math.max(9, windowBits);
    this.win = new Uint8Array(size);
    this.wmask = size - 1;
  }

  /** True once a final block (BFINAL) has ended: later input is ignored until reset(). */
  get ended(): boolean {
    return this.mode === Mode.Ended;
  }

  /** True between blocks with no input left over: where a message must end (after its sync flush). */
  get atBoundary(): boolean {
    return this.mode === Mode.Ended || (this.mode === Mode.Header && this.pos === this.data.length && this.bitCnt === 0);
  }

  /** Forgets the window and any partial input: the next piece starts a new stream. */
  reset(): void {
    this.mode = Mode.Header;
    this.last = false;
    this.have = 0;
    this.wpos = 0;
    this.data = new Uint8Array(0);
    this.pos = 0;
    this.bitBuf = 0;
    this.bitCnt = 0;
  }

  /**
   * Decodes as much of `input` (after what the previous piece left) as can be; returns what it
   * produced, or undefined as soon as that would pass `maxOutput` bytes (the stream is then
   * unusable: the message is refused). Throws DecodeError (ERR_INFLATE) on data that is not
   * DEFLATE.
   */
  push(input: Uint8Array, maxOutput: number): Uint8Array | undefined {
    if (this.mode === Mode.Ended) return new Uint8Array(0);
    const rest = this.data.length - this.pos;
    if (rest > 0) {
      const joined = new Uint8Array(rest + input.length);
      joined.set(this.data.subarray(this.pos));
      joined.set(input, rest);
      this.data = joined;
    } else this.data = input;
    this.pos = 0;
    this.limit = maxOutput;
    this.out = new Uint8Array(Math.min(maxOutput, Math.max(256, input.length * 4)));
    this.outLen = 0;
    try {
      this.run();
    } catch (e) {
      if (e === OVER) return undefined;
      if (e !== UNDERFLOW) throw e;
    }
    // keep the unread bytes (never those of a caller's buffer that it may reuse)
    this.data = this.data.slice(this.pos);
    this.pos = 0;
    return this.out.subarray(0, this.outLen);
  }

  private run(): void {
    for (;;) {
      const savePos = this.pos;
      const saveBuf = this.bitBuf;
      const saveCnt = this.bitCnt;
      try {
        switch (this.mode) {
          case Mode.Header:
            if (this.pos >= this.data.length && this.bitCnt < 3) return;
            this.header();
            break;
          case Mode.Stored:
            this.stored();
            if (this.storedLeft > 0) return;
            this.endBlock();
            break;
          case Mode.Codes:
            if (this.symbol()) this.endBlock();
            break;
          case Mode.Ended:
            return;
        }
      } catch (e) {
        if (e === UNDERFLOW && this.mode !== Mode.Stored) {
          this.pos = savePos;
          this.bitBuf = saveBuf;
          this.bitCnt = saveCnt;
        }
        throw e;
      }
    }
  }

  private endBlock(): void {
    this.mode = this.last ? Mode.Ended : Mode.Header;
  }

  private need(n: number): void {
    while (this.bitCnt < n) {
      if (this.pos >= this.data.length) throw UNDERFLOW;
      this.bitBuf |= (this.data[this.pos++] as number) << this.bitCnt;
      this.bitCnt += 8;
    }
  }

  private bits(n: number): number {
    this.need(n);
    const v = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCnt -= n;
    return v;
  }

  private header(): void {
    const last = this.bits(1) === 1;
    const type = this.bits(2);
    if (type === 0) {
      // stored: skip to the byte boundary, then LEN and its complement
      this.bitBuf >>>= this.bitCnt & 7;
      this.bitCnt -= this.bitCnt & 7;
      const len = this.bits(16);
      const nlen = this.bits(16);
      if (len !== (~nlen & 0xffff)) throw bad('stored block length does not match its complement');
      this.storedLeft = len;
      this.mode = Mode.Stored;
    } else if (type === 1) {
      this.lencode = FIXED_LEN;
      this.distcode = FIXED_DIST;
      this.mode = Mode.Codes;
    } else if (type === 2) {
      this.tables();
      this.mode = Mode.Codes;
    } else throw bad('invalid block type');
    this.last = last;
  }

  private tables(): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw bad('too many length or distance codes');
    const lengths = new Uint8Array(320);
    for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i] as number] = this.bits(3);
    const clcode = build(lengths.subarray(0, 19), 19);
    lengths.fill(0);
    for (let i = 0; i < nlen + ndist; ) {
      const sym = this.decode(clcode);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let len = 0;
      let rep: number;
      if (sym === 16) {
        if (i === 0) throw bad('repeat with no previous length');
        len = lengths[i - 1] as number;
        rep = 3 + this.bits(2);
      } else if (sym === 17) rep = 3 + this.bits(3);
      else rep = 11 + this.bits(7);
      if (i + rep > nlen + ndist) throw bad('too many code lengths');
      while (rep--) lengths[i++] = len;
    }
    if (lengths[256] === 0) throw bad('no end-of-block code');
    this.lencode = build(lengths.subarray(0, nlen), nlen);
    this.distcode = build(lengths.subarray(nlen, nlen + ndist), ndist);
  }

  /** One canonical Huffman symbol (puff's decode), from the bits at hand. */
  private decode(h: Huffman): number {
    while (this.bitCnt <= 24 && this.pos < this.data.length) {
      this.bitBuf |= (this.data[this.pos++] as number) << this.bitCnt;
      this.bitCnt += 8;
    }
    const count = h.count;
    let b = this.bitBuf;
    let code = 0;
    let first = 0;
    let index = 0;
    for (let l = 1; l <= MAX_BITS; l++) {
      if (l > this.bitCnt) throw UNDERFLOW;
      code |= b & 1;
      b >>>= 1;
      const c = count[l] as number;
      if (code - c < first) {
        this.bitBuf = b;
        this.bitCnt -= l;
        return h.symbol[index + (code - first)] as number;
      }
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
    throw bad('invalid Huffman code');
  }

  /** One literal or match; true at the end of the block. */
  private symbol(): boolean {
    const sym = this.decode(this.lencode);
    if (sym < 256) {
      this.emit(sym);
      return false;
    }
    if (sym === 256) return true;
    const li = sym - 257;
    if (li >= 29) throw bad('invalid length code');
    const le = LEN_EXTRA[li] as number;
    const len = (LEN_BASE[li] as number) + (le ? this.bits(le) : 0);
    const ds = this.decode(this.distcode);
    if (ds >= 30) throw bad('invalid distance code');
    const de = DIST_EXTRA[ds] as number;
    const dist = (DIST_BASE[ds] as number) + (de ? this.bits(de) : 0);
    if (dist > this.have) throw bad('distance too far back');
    const win = this.win;
    const mask = this.wmask;
    let from = (this.wpos - dist) & mask;
    for (let k = 0; k < len; k++) {
      this.emit(win[from] as number);
      from = (from + 1) & mask;
    }
    return false;
  }

  private stored(): void {
    // whole bytes still in the bit buffer come first, then straight from the input
    while (this.storedLeft > 0 && this.bitCnt >= 8) {
      this.emit(this.bitBuf & 0xff);
      this.bitBuf >>>= 8;
      this.bitCnt -= 8;
      this.storedLeft--;
    }
    const data = this.data;
    while (this.storedLeft > 0 && this.pos < data.length) {
      this.emit(data[this.pos++] as number);
      this.storedLeft--;
    }
  }

  private emit(b: number): void {
    if (this.outLen === this.out.length) {
      if (this.outLen >= this.limit) throw OVER;
      const grown = new Uint8Array(Math.min(this.limit, this.out.length * 2 + 256));
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.outLen++] = b;
    this.win[this.wpos] = b;
    this.wpos = (this.wpos + 1) & this.wmask;
    if (this.have <= this.wmask) this.have++;
  }
}
