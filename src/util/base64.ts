/**
 * Base64 (RFC 4648 §4 standard and §5 URL-safe alphabets), engine-neutral: XS has no atob/btoa
 * and they only speak Latin-1 strings anyway.
 *
 * The decoder is stateful, after libwebsockets' lws_b64_decode_stateful: text arrives in chunks
 * split anywhere (a header continued across reads, a JSON string streamed through a parser), and
 * each chunk yields the bytes it completes. Like lws it skips line breaks (and here any ASCII
 * whitespace), accepts both alphabets unless told otherwise, treats padding as optional at the
 * end, and refuses anything after padding. Unlike lws it reports the absolute position of the
 * offending character in a typed DecodeError, and refuses a final quantum of one character
 * (six bits cannot make a byte) or padding cut short ("QQ=").
 */
import { DecodeError, UsageError } from './errors.js';
import { APPLY_ARGS } from './latin1.js';

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const INVALID = -1;
const SPACE = -2;
const PAD = -3;

export type Base64Alphabet = 'std' | 'url' | 'any';

function decodeTable(alphabet: Base64Alphabet): Int8Array {
  const t = new Int8Array(128).fill(INVALID);
  for (const a of alphabet === 'any' ? [STD, URL_SAFE] : alphabet === 'std' ? [STD] : [URL_SAFE]) {
    for (let i = 0; i < 64; i++) t[a.charCodeAt(i)] = i;
  }
  for (const c of [0x20, 0x09, 0x0a, 0x0d, 0x0b, 0x0c]) t[c] = SPACE;
  t[0x3d] = PAD;
  return t;
}

const TABLES: Record<Base64Alphabet, Int8Array> = {
  std: decodeTable('std'),
  url: decodeTable('url'),
  any: decodeTable('any'),
};

const ENC_STD = Uint8Array.from(STD, (c) => c.charCodeAt(0));
const ENC_URL = Uint8Array.from(URL_SAFE, (c) => c.charCodeAt(0));

export interface Base64EncodeOptions {
  /** the URL-safe alphabet (- and _ for + and /); default false */
  url?: boolean;
  /** pad the last quantum with '='; default true */
  pad?: boolean;
}

/** Code units are turned into the result string in slices this long (bounds argument counts). */
const FLUSH = APPLY_ARGS;

export function base64Encode(b: Uint8Array, opts: Base64EncodeOptions = {}): string {
  const enc = opts.url ? ENC_URL : ENC_STD;
  const pad = opts.pad ?? true;
  const n = b.length;
  const full = n - (n % 3);
  const units = new Array<number>(Math.min(FLUSH + 4, Math.ceil(n / 3) * 4));
  let u = 0;
  let out = '';
  for (let i = 0; i < full; i += 3) {
    const v = ((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number);
    units[u++] = enc[v >>> 18] as number;
    units[u++] = enc[(v >>> 12) & 63] as number;
    units[u++] = enc[(v >>> 6) & 63] as number;
    units[u++] = enc[v & 63] as number;
    if (u >= FLUSH) {
      out += String.fromCharCode.apply(null, units.slice(0, u));
      u = 0;
    }
  }
  const rest = n - full;
  if (rest > 0) {
    const v = ((b[full] as number) << 16) | (rest === 2 ? (b[full + 1] as number) << 8 : 0);
    units[u++] = enc[v >>> 18] as number;
    units[u++] = enc[(v >>> 12) & 63] as number;
    if (rest === 2) units[u++] = enc[(v >>> 6) & 63] as number;
    else if (pad) units[u++] = 0x3d;
    if (pad) units[u++] = 0x3d;
  }
  if (u > 0) out += String.fromCharCode.apply(null, units.slice(0, u));
  return out;
}

export interface Base64DecoderOptions {
  /** which alphabet to accept; default 'any' (both, as libwebsockets does) */
  alphabet?: Base64Alphabet;
}

export type Base64Problem = 'invalid character' | 'data after padding' | 'misplaced padding' | 'truncated';

/**
 * Chunk-at-a-time decoder. `push` returns the bytes completed by this chunk (possibly none);
 * `end` returns the bytes of a final unpadded quantum and checks the input ended cleanly.
 * Chunks may be strings or ASCII bytes. After an error or `end`, call `reset` to start over.
 */
export class Base64Decoder {
  private readonly table: Int8Array;
  /** sextets of the quantum in progress, most significant first */
  private acc = 0;
  /** how many sextets `acc` holds (0..3) */
  private pos = 0;
  /** '=' seen in the final quantum (0..2); once non-zero only '=' and whitespace may follow */
  private pads = 0;
  /** characters consumed so far, for error offsets */
  private seen = 0;
  private finished = false;

  constructor(opts: Base64DecoderOptions = {}) {
    this.table = TABLES[opts.alphabet ?? 'any'];
  }

  push(chunk: string | Uint8Array): Uint8Array {
    if (this.finished) throw new UsageError('ERR_BASE64_FINISHED', 'base64: push after end() or an error; reset() first');
    const n = chunk.length;
    const out = new Uint8Array(Math.floor(((this.pos + n) * 3) / 4));
    const t = this.table;
    const str = typeof chunk === 'string' ? chunk : undefined;
    const bytes = typeof chunk === 'string' ? undefined : chunk;
    let acc = this.acc;
    let pos = this.pos;
    let o = 0;
    for (let i = 0; i < n; i++) {
      const c = str !== undefined ? str.charCodeAt(i) : (bytes as Uint8Array)[i] as number;
      const v = c < 128 ? (t[c] as number) : INVALID;
      if (v >= 0) {
        if (this.pads > 0) this.failAt(i, 'data after padding');
        acc = (acc << 6) | v;
        if (++pos === 4) {
          out[o++] = acc >>> 16;
          out[o++] = (acc >>> 8) & 0xff;
          out[o++] = acc & 0xff;
          acc = 0;
          pos = 0;
        }
      } else if (v === SPACE) {
        continue;
      } else if (v === PAD) {
        // padding completes a quantum of two or three sextets, to exactly four characters
        if (pos + this.pads < 2 || pos + this.pads >= 4) this.failAt(i, 'misplaced padding');
        this.pads++;
      } else this.failAt(i, 'invalid character');
    }
    this.seen += n;
    this.acc = acc;
    this.pos = pos;
    return o === out.length ? out : out.subarray(0, o);
  }

  /** Flushes the last quantum; throws when the input ended mid-quantum or mid-padding. */
  end(): Uint8Array {
    const pos = this.pos;
    const acc = this.acc;
    if (pos === 1 || (this.pads > 0 && pos + this.pads !== 4)) fail(this.seen, 'truncated');
    this.finished = true;
    if (pos === 2) return Uint8Array.of(acc >>> 4);
    if (pos === 3) return Uint8Array.of(acc >>> 10, (acc >>> 2) & 0xff);
    return new Uint8Array(0);
  }

  reset(): void {
    this.acc = 0;
    this.pos = 0;
    this.pads = 0;
    this.seen = 0;
    this.finished = false;
  }

  private failAt(i: number, problem: Base64Problem): never {
    this.finished = true;
    fail(this.seen + i, problem);
  }
}

function fail(offset: number, problem: Base64Problem): never {
  throw new DecodeError('ERR_BASE64', `invalid base64 at character ${offset}: ${problem}`, { offset, problem });
}

/** Decodes a whole base64 text (either alphabet unless `alphabet` says otherwise). */
export function base64Decode(s: string | Uint8Array, opts?: Base64DecoderOptions): Uint8Array {
  const d = new Base64Decoder(opts);
  const body = d.push(s);
  const tail = d.end();
  if (tail.length === 0) return body;
  const out = new Uint8Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}
