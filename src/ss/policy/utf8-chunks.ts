/**
 * UTF-8 bytes arriving in chunks, turned into text chunk by chunk: a sequence split between two
 * chunks is carried (at most 3 bytes) to the next one. Strict, as src/util/utf8.ts.
 */
import { utf8Decode } from '../../util/utf8.js';

export class Utf8Chunks {
  private carry: Uint8Array | undefined;
  /** after push() refused a chunk: the valid text that came before the bad byte */
  validPrefix = '';

  /** The text these bytes complete, or undefined when they are not valid UTF-8. */
  push(chunk: Uint8Array): string | undefined {
    let b = chunk;
    if (this.carry) {
      b = new Uint8Array(this.carry.length + chunk.length);
      b.set(this.carry);
      b.set(chunk, this.carry.length);
      this.carry = undefined;
    }
    const cut = completeUpTo(b);
    if (cut < b.length) this.carry = b.slice(cut);
    try {
      return utf8Decode(b, 0, cut);
    } catch (e) {
      const off = ((e as { detail?: { offset?: number } }).detail?.offset ?? 0) as number;
      this.validPrefix = longestValidPrefix(b, off);
      return undefined;
    }
  }

  /** True unless the input stopped in the middle of a sequence. */
  complete(): boolean {
    return this.carry === undefined;
  }
}

/** Length of the prefix of `b` that ends on a sequence boundary (a split lead is left out). */
function completeUpTo(b: Uint8Array): number {
  const n = b.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const c = b[n - back] as number;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: keep looking for its lead
    if (c < 0xc0) return n; // ASCII ends the text cleanly
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    return need > back ? n - back : n;
  }
  return n;
}

function longestValidPrefix(b: Uint8Array, bad: number): string {
  for (let p = bad; p >= 0 && p > bad - 4; p--) {
    try {
      return utf8Decode(b, 0, p);
    } catch {
      // the bad byte belongs to an earlier, partly read sequence: back up further
    }
  }
  return '';
}
