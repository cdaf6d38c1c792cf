/**
 * A streaming JSON tokenizer in the manner of libwebsockets' lejp: text arrives in chunks split
 * anywhere (inside strings, escapes, \uXXXX, numbers, literals) and comes out as SAX-style events
 * on a sink, while the tokenizer tracks the JSON path, line and column for errors.
 *
 * What it holds is bounded: the container stack (maxDepth), one key (maxKeyLength), one number
 * (MAX_NUMBER) and one piece of a string value — string values are delivered in pieces of at
 * most `piece` characters, so a base64 certificate can be decoded as it streams past.
 *
 * Unlike lejp it is strict RFC 8259: anything after the root value but whitespace is an error
 * (lejp stops at the root's closing brace, which is how three of lws' own example policies with
 * a stray `,` or `}` load there). Lone surrogates from \u escapes are kept, as JSON.parse does.
 */
import { DecodeError, UsageError } from '../../util/errors.js';
import { Utf8Chunks } from './utf8-chunks.js';

export interface JsonSink {
  openObject(): void;
  openArray(): void;
  /** the innermost open container (object or array) ends */
  close(): void;
  /** an object member's name, whole */
  key(name: string): void;
  /** a piece of a string value; `final` on the last one (a short string is one final piece) */
  string(piece: string, final: boolean): void;
  /** a number, as its JSON text (already checked against the JSON grammar) */
  number(text: string): void;
  /** true, false or null */
  literal(value: boolean | null): void;
}

export interface JsonStreamOptions {
  /** deepest container nesting accepted; default 12 (lejp's LEJP_MAX_DEPTH) */
  maxDepth?: number;
  /** longest object key in characters; default 128 (lejp's LEJP_MAX_PATH) */
  maxKeyLength?: number;
  /** string values are delivered in pieces of at most this many characters; default 256 */
  piece?: number;
}

export type JsonProblem =
  | 'unexpected character'
  | 'unexpected end of input'
  | 'data after the root value'
  | 'nesting too deep'
  | 'key too long'
  | 'number too long'
  | 'invalid number'
  | 'invalid escape'
  | 'control character in string'
  | 'invalid UTF-8';

/** Malformed JSON: `detail` has the 1-based line and column, the offset and the path. */
export class JsonSyntaxError extends DecodeError {
  declare readonly detail: Readonly<{ line: number; column: number; offset: number; path: string; problem: JsonProblem }>;
}

/** Longest number text accepted (lejp keeps numbers in a small buffer too). */
const MAX_NUMBER = 40;
/**
 * Longest run of text read at once. XS keeps strings as UTF-8, so charCodeAt(i) walks from the
 * start of the string: reading a long text in place is quadratic there (a 12 KB policy: 85 ms
 * instead of 9). Slices are cut only every SLICE characters, so that cost stays small and linear.
 */
const SLICE = 256;

/** Parser states. */
const S = {
  VALUE: 0, // a value must come (after ':' or ',' in an array, or at the root)
  VALUE_OR_END: 1, // just after '['
  KEY_OR_END: 2, // just after '{'
  KEY: 3, // after ',' in an object
  COLON: 4,
  AFTER: 5, // after a value: ',' or the closer
  STRING: 6,
  ESCAPE: 7,
  UNICODE: 8,
  NUMBER: 9,
  LITERAL: 10,
  DONE: 11,
  FAILED: 12,
} as const;

const OBJECT = 1;
const ARRAY = 2;

/** a character JSON forbids raw in a string */
const CONTROL = /[\u0000-\u001f]/;

const LITERALS = ['true', 'false', 'null'] as const;
const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

export class JsonStream {
  private readonly sink: JsonSink;
  private readonly maxDepth: number;
  private readonly maxKeyLength: number;
  private readonly piece: number;
  private readonly utf8 = new Utf8Chunks();

  private state: number = S.VALUE;
  /** container kinds, innermost last */
  private readonly kinds: number[] = [];
  /** per container: the current member name (objects) */
  private readonly keys: (string | undefined)[] = [];
  /** per container: elements started so far (arrays) */
  private readonly counts: number[] = [];

  /** the string being read: a key (whole) or the pending piece of a value */
  private str = '';
  private strIsKey = false;
  private unicode = 0;
  private unicodeDigits = 0;
  private num = '';
  private literal = '';
  private literalPos = 0;

  /** characters read before the current chunk, and the index reached in it */
  private base = 0;
  private at = 0;
  private line = 1;
  private lineStart = 0;
  /** where the token the sink is handling began (a value, a key, a closing bracket) */
  private tokOffset = 0;
  private tokLine = 1;
  private tokLineStart = 0;

  constructor(sink: JsonSink, opts: JsonStreamOptions = {}) {
    this.sink = sink;
    this.maxDepth = opts.maxDepth ?? 12;
    this.maxKeyLength = opts.maxKeyLength ?? 128;
    this.piece = opts.piece ?? 256;
    if (!(this.piece >= 2)) throw new UsageError('ERR_JSON_OPTIONS', 'json: piece must be at least 2 characters');
  }

  /** The path of the value being read, lws-style: `s[3].mqtt_ws.port`; `$` at the root. */
  path(): string {
    let p = '';
    for (let i = 0; i < this.kinds.length; i++) {
      if (this.kinds[i] === OBJECT) {
        const k = this.keys[i];
        if (k === undefined) break;
        p += p === '' ? k : '.' + k;
      } else {
        const n = this.counts[i] as number;
        if (n === 0) break;
        p += `[${n - 1}]`;
      }
    }
    return p === '' ? '$' : p;
  }

  /** 1-based position of the next character to be read. */
  position(): { line: number; column: number; offset: number } {
    const offset = this.base + this.at;
    return { line: this.line, column: offset - this.lineStart + 1, offset };
  }

  /**
   * 1-based position of the first character of the token the sink is being told about: the
   * value, the key's quote, or the bracket that closes a container. What an editor should
   * point at for an error in a well-formed document.
   */
  tokenPosition(): { line: number; column: number; offset: number } {
    return { line: this.tokLine, column: this.tokOffset - this.tokLineStart + 1, offset: this.tokOffset };
  }

  write(chunk: string | Uint8Array): void {
    if (this.state === S.FAILED) throw new UsageError('ERR_JSON_FAILED', 'json: write after an error');
    if (typeof chunk === 'string') {
      this.runSliced(chunk);
      return;
    }
    const text = this.utf8.push(chunk);
    if (text !== undefined) {
      this.runSliced(text);
      return;
    }
    // bad UTF-8: read the valid text before it, then report at that position
    this.runSliced(this.utf8.validPrefix);
    this.fail('invalid UTF-8');
  }

  /** The input is complete: it must have held exactly one JSON value. */
  end(): void {
    if (this.state === S.FAILED) throw new UsageError('ERR_JSON_FAILED', 'json: end after an error');
    if (!this.utf8.complete()) this.fail('invalid UTF-8');
    if (this.state === S.NUMBER && this.kinds.length === 0) this.endNumber();
    if (this.state !== S.DONE) this.fail('unexpected end of input');
  }

  /** Reads text in runs of at most SLICE characters (see SLICE). */
  private runSliced(text: string): void {
    const n = text.length;
    if (n <= SLICE) {
      this.run(text);
      return;
    }
    for (let i = 0; i < n; ) {
      let piece = text.slice(i, i + SLICE);
      const last = piece.charCodeAt(piece.length - 1);
      // never part a surrogate pair: the halves would be joined again as two lone ones
      if (last >= 0xd800 && last <= 0xdbff && i + piece.length < n) piece = piece.slice(0, -1);
      this.run(piece);
      i += piece.length;
    }
  }

  /**
   * One run of text. An if/else chain, not a switch: XS leaves a stack slot behind for every
   * `continue` taken from inside a switch until the function returns, so a long run of them
   * overflowed its stack. Each branch sets where reading goes on (`next`).
   */
  private run(s: string): void {
    const n = s.length;
    let i = 0;
    try {
      while (i < n) {
        this.at = i;
        const c = s.charCodeAt(i);
        const st = this.state;
        let next = i + 1;
        if (st === S.STRING) {
          // copy the run of plain characters in one slice, found by native searches (a loop
          // over charCodeAt costs XS ~40 compute units a character)
          let j = s.indexOf('"', i);
          if (j < 0) j = n;
          const b = s.indexOf('\\', i);
          if (b >= 0 && b < j) j = b;
          if (j > i && CONTROL.test(s.slice(i, j))) {
            j = i;
            while (s.charCodeAt(j) >= 0x20) j++;
          }
          if (j > i) {
            this.appendString(s, i, j);
            next = j;
          } else if (c === 0x22) this.endString();
          else if (c === 0x5c) this.state = S.ESCAPE;
          else this.failAt(i, 'control character in string');
        } else if (st === S.ESCAPE) {
          this.escape(c, i);
        } else if (st === S.UNICODE) {
          const h = hexValue(c);
          if (h < 0) this.failAt(i, 'invalid escape');
          this.unicode = (this.unicode << 4) | h;
          if (++this.unicodeDigits === 4) {
            this.state = S.STRING;
            this.addChar(this.unicode);
          }
        } else if (st === S.NUMBER) {
          if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45 || c === 0x65) {
            if (this.num.length >= MAX_NUMBER) this.failAt(i, 'number too long');
            this.num += String.fromCharCode(c);
          } else {
            this.endNumber();
            next = i; // the terminator is read again in the new state
          }
        } else if (st === S.LITERAL) {
          if (c !== this.literal.charCodeAt(this.literalPos)) this.failAt(i, 'unexpected character');
          if (++this.literalPos === this.literal.length) {
            this.sink.literal(this.literal === 'null' ? null : this.literal === 'true');
            this.afterValue();
          }
        } else if (c === 0x20 || c === 0x09 || c === 0x0d) {
          // indentation is most of a pretty-printed policy: skip the whole run here
          while (next < n) {
            const d = s.charCodeAt(next);
            if (d !== 0x20 && d !== 0x09 && d !== 0x0d) break;
            next++;
          }
        } else this.structural(c, i);
        i = next;
      }
    } catch (e) {
      this.state = S.FAILED;
      throw e;
    }
    this.base += n;
    this.at = 0;
  }

  /** Whitespace, punctuation and the first character of a value. */
  private structural(c: number, i: number): void {
    if (isSpace(c)) {
      if (c === 0x0a) {
        this.line++;
        this.lineStart = this.base + i + 1;
      }
      return;
    }
    const st = this.state;
    if (st === S.DONE) this.failAt(i, 'data after the root value');
    if (st === S.COLON) {
      if (c !== 0x3a) this.failAt(i, 'unexpected character');
      this.state = S.VALUE;
      return;
    }
    this.mark(i);
    if (st === S.KEY_OR_END || st === S.KEY) {
      if (c === 0x22) {
        this.str = '';
        this.strIsKey = true;
        this.state = S.STRING;
      } else if (c === 0x7d && st === S.KEY_OR_END) this.closeContainer(OBJECT, i);
      else this.failAt(i, 'unexpected character');
      return;
    }
    if (st === S.AFTER) {
      const kind = this.kinds[this.kinds.length - 1];
      if (c === 0x2c) this.state = kind === OBJECT ? S.KEY : S.VALUE;
      else if (c === 0x7d && kind === OBJECT) this.closeContainer(OBJECT, i);
      else if (c === 0x5d && kind === ARRAY) this.closeContainer(ARRAY, i);
      else this.failAt(i, 'unexpected character');
      return;
    }
    // VALUE or VALUE_OR_END
    if (c === 0x5d && st === S.VALUE_OR_END) {
      this.closeContainer(ARRAY, i);
      return;
    }
    const top = this.kinds.length - 1;
    if (top >= 0 && this.kinds[top] === ARRAY) this.counts[top] = (this.counts[top] as number) + 1;
    if (c === 0x7b || c === 0x5b) {
      if (this.kinds.length >= this.maxDepth) this.failAt(i, 'nesting too deep');
      const obj = c === 0x7b;
      this.kinds.push(obj ? OBJECT : ARRAY);
      this.keys.push(undefined);
      this.counts.push(0);
      this.state = obj ? S.KEY_OR_END : S.VALUE_OR_END;
      if (obj) this.sink.openObject();
      else this.sink.openArray();
    } else if (c === 0x22) {
      this.str = '';
      this.strIsKey = false;
      this.state = S.STRING;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.num = String.fromCharCode(c);
      this.state = S.NUMBER;
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      this.literal = c === 0x74 ? LITERALS[0] : c === 0x66 ? LITERALS[1] : LITERALS[2];
      this.literalPos = 1;
      this.state = S.LITERAL;
    } else this.failAt(i, 'unexpected character');
  }

  private mark(i: number): void {
    this.tokOffset = this.base + i;
    this.tokLine = this.line;
    this.tokLineStart = this.lineStart;
  }

  private closeContainer(kind: number, i: number): void {
    if (this.kinds[this.kinds.length - 1] !== kind) this.failAt(i, 'unexpected character');
    this.kinds.pop();
    this.keys.pop();
    this.counts.pop();
    this.sink.close();
    this.afterValue();
  }

  private afterValue(): void {
    this.state = this.kinds.length === 0 ? S.DONE : S.AFTER;
  }

  private escape(c: number, i: number): void {
    let ch: number;
    switch (c) {
      case 0x22: ch = 0x22; break;
      case 0x5c: ch = 0x5c; break;
      case 0x2f: ch = 0x2f; break;
      case 0x62: ch = 0x08; break;
      case 0x66: ch = 0x0c; break;
      case 0x6e: ch = 0x0a; break;
      case 0x72: ch = 0x0d; break;
      case 0x74: ch = 0x09; break;
      case 0x75:
        this.unicode = 0;
        this.unicodeDigits = 0;
        this.state = S.UNICODE;
        return;
      default:
        this.failAt(i, 'invalid escape');
    }
    this.state = S.STRING;
    this.addChar(ch);
  }

  private addChar(ch: number): void {
    this.appendString(String.fromCharCode(ch), 0, 1);
  }

  private appendString(s: string, from: number, to: number): void {
    if (this.strIsKey) {
      if (this.str.length + (to - from) > this.maxKeyLength) this.fail('key too long');
      this.str += from === 0 && to === s.length ? s : s.slice(from, to);
      return;
    }
    while (from < to) {
      const room = this.piece - this.str.length;
      const take = Math.min(room, to - from);
      this.str += s.slice(from, from + take);
      from += take;
      if (this.str.length >= this.piece) this.flushPiece();
    }
  }

  /** Hands a full piece on, holding back a trailing high surrogate so a pair is never split. */
  private flushPiece(): void {
    const s = this.str;
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.str = s.slice(s.length - 1);
      this.sink.string(s.slice(0, s.length - 1), false);
    } else {
      this.str = '';
      this.sink.string(s, false);
    }
  }

  private endString(): void {
    const s = this.str;
    this.str = '';
    if (this.strIsKey) {
      this.keys[this.keys.length - 1] = s;
      this.state = S.COLON;
      this.sink.key(s);
    } else {
      this.sink.string(s, true);
      this.afterValue();
    }
  }

  private endNumber(): void {
    if (!NUMBER_RE.test(this.num)) this.fail('invalid number');
    const text = this.num;
    this.num = '';
    this.sink.number(text);
    this.afterValue();
  }

  private failAt(i: number, problem: JsonProblem): never {
    this.at = i;
    this.fail(problem);
  }

  private fail(problem: JsonProblem): never {
    this.state = S.FAILED;
    const { line, column, offset } = this.position();
    const path = this.path();
    throw new JsonSyntaxError('ERR_JSON', `JSON ${problem} at line ${line} column ${column} (${path})`, {
      line,
      column,
      offset,
      path,
      problem,
    });
  }
}
