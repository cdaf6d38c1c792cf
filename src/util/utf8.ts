/**
 * A small, strict UTF-8 codec: XS has no TextEncoder/TextDecoder, and protocol code needs more
 * than they offer anyway — the byte offset of a bad sequence, and validation that carries on
 * across chunks (a WebSocket text message may be split anywhere over several frames).
 *
 * Strictness follows RFC 3629 / the Unicode "well-formed" table: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF. Those are caught on the second byte by
 * narrowing its allowed range after E0, ED, F0 and F4, so the first bad byte is reported at once.
 */
import { DecodeError } from './errors.js';
import { APPLY_ARGS } from './latin1.js';

export type Utf8Problem =
  | 'unexpected continuation'
  | 'overlong'
  | 'surrogate'
  | 'above U+10FFFF'
  | 'invalid byte'
  | 'bad continuation'
  | 'truncated';

/** Unpaired surrogates in a JS string are encoded as U+FFFD (EF BF BD), as TextEncoder does. */
export function utf8Encode(s: string): Uint8Array {
  const n = s.length;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) size += 1;
    else if (c < 0x800) size += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(s.charCodeAt(i + 1))) {
      size += 4;
      i++;
    } else size += 3; // BMP, or a lone surrogate becoming U+FFFD
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && isLow(d)) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[o++] = 0xf0 | (cp >> 18);
        out[o++] = 0x80 | ((cp >> 12) & 0x3f);
        out[o++] = 0x80 | ((cp >> 6) & 0x3f);
        out[o++] = 0x80 | (cp & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    out[o++] = 0xe0 | (c >> 12);
    out[o++] = 0x80 | ((c >> 6) & 0x3f);
    out[o++] = 0x80 | (c & 0x3f);
  }
  return out;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Code units are flushed into the result string in slices this long (bounds argument counts). */
const FLUSH_UNITS = APPLY_ARGS;

/**
 * Decodes b[start, end) strictly. A malformed sequence throws DecodeError 'ERR_UTF8' whose
 * detail carries the absolute `offset` of the first bad byte (for a sequence cut short by
 * `end`, the offset of its lead byte) and the `problem`.
 */
export function utf8Decode(b: Uint8Array, start = 0, end = b.length): string {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > b.length || start > end) {
    throw new DecodeError('ERR_UTF8_RANGE', `utf8 range [${start}, ${end}) is outside 0..${b.length}`, {
      start,
      end,
      length: b.length,
    });
  }
  let result = '';
  const units: number[] = [];
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    if (c < 0x80) {
      units.push(c);
      i++;
    } else {
      const need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
      const lead = leadProblem(c);
      if (lead) fail(i, lead);
      if (i + need >= end) {
        // the sequence runs past `end`: a bad byte among those present is reported first
        for (let k = 1; i + k < end; k++) checkCont(b, i, k);
        fail(i, 'truncated');
      }
      for (let k = 1; k <= need; k++) checkCont(b, i, k);
      let cp: number;
      if (need === 1) cp = ((c & 0x1f) << 6) | ((b[i + 1] as number) & 0x3f);
      else if (need === 2) {
        cp = ((c & 0x0f) << 12) | (((b[i + 1] as number) & 0x3f) << 6) | ((b[i + 2] as number) & 0x3f);
      } else {
        cp =
          ((c & 0x07) << 18) |
          (((b[i + 1] as number) & 0x3f) << 12) |
          (((b[i + 2] as number) & 0x3f) << 6) |
          ((b[i + 3] as number) & 0x3f);
      }
      i += need + 1;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      } else units.push(cp);
    }
    if (units.length >= FLUSH_UNITS) {
      result += String.fromCharCode.apply(null, units);
      units.length = 0;
    }
  }
  if (units.length) result += String.fromCharCode.apply(null, units);
  return result;
}

/** Why `c` cannot start a sequence, or undefined when it can. */
function leadProblem(c: number): Utf8Problem | undefined {
  if (c < 0xc0) return 'unexpected continuation';
  if (c < 0xc2) return 'overlong';
  if (c < 0xf5) return undefined;
  if (c < 0xf8) return 'above U+10FFFF';
  return 'invalid byte';
}

/** The allowed range of the byte after lead `c` (k = 1) narrows to exclude the bad forms. */
function lowerBound(c: number): number {
  return c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
}

function upperBound(c: number): number {
  return c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
}

function secondByteProblem(c: number, x: number): Utf8Problem {
  if (x >= 0x80 && x <= 0xbf) {
    if (c === 0xe0 || c === 0xf0) return 'overlong';
    if (c === 0xed) return 'surrogate';
    if (c === 0xf4) return 'above U+10FFFF';
  }
  return 'bad continuation';
}

function checkCont(b: Uint8Array, lead: number, k: number): void {
  const c = b[lead] as number;
  const x = b[lead + k] as number;
  if (k === 1) {
    if (x < lowerBound(c) || x > upperBound(c)) fail(lead + 1, secondByteProblem(c, x));
  } else if (x < 0x80 || x > 0xbf) fail(lead + k, 'bad continuation');
}

function fail(offset: number, problem: Utf8Problem): never {
  throw new DecodeError('ERR_UTF8', `invalid UTF-8 at byte ${offset}: ${problem}`, { offset, problem });
}

/**
 * Incremental validator for a stream split into chunks at arbitrary byte boundaries. It keeps
 * only the bytes still expected for the sequence in progress and the allowed range of the next
 * byte, so a bad byte is found as soon as it arrives, not when the message ends.
 */
export class Utf8Validator {
  /** bytes seen across all chunks so far */
  private seen = 0;
  /** continuation bytes still expected by the sequence in progress */
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;
  /** absolute offset of the first bad byte, or -1 */
  private bad = -1;

  /**
   * Feeds the next chunk. Returns -1 while the stream is valid, otherwise the offset (counted
   * from the first byte ever pushed) of the first bad byte. Once bad it stays bad until reset().
   */
  push(bytes: Uint8Array): number {
    if (this.bad >= 0) return this.bad;
    let need = this.need;
    let lo = this.lo;
    let hi = this.hi;
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      const x = bytes[i] as number;
      if (need === 0) {
        if (x < 0x80) continue;
        if (leadProblem(x)) return this.failAt(i);
        need = x >= 0xf0 ? 3 : x >= 0xe0 ? 2 : 1;
        lo = lowerBound(x);
        hi = upperBound(x);
      } else {
        if (x < lo || x > hi) return this.failAt(i);
        need--;
        lo = 0x80;
        hi = 0xbf;
      }
    }
    this.need = need;
    this.lo = lo;
    this.hi = hi;
    this.seen += n;
    return -1;
  }

  /** True when everything pushed so far is valid and no sequence is left unfinished. */
  end(): boolean {
    return this.bad < 0 && this.need === 0;
  }

  /** Forgets everything: ready for a new stream. */
  reset(): void {
    this.seen = 0;
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
    this.bad = -1;
  }

  private failAt(i: number): number {
    this.bad = this.seen + i;
    return this.bad;
  }
}
