/**
 * The streaming JSON tokenizer under the policy parser: the events rebuild exactly what
 * JSON.parse builds, however the text (or its UTF-8 bytes) is split; it accepts exactly what
 * JSON.parse accepts; long strings come in bounded pieces that never split a surrogate pair;
 * errors carry line, column and path.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { JsonStream, JsonSyntaxError } from '../../src/ss/policy/index.js';
import type { JsonSink, JsonStreamOptions } from '../../src/ss/policy/index.js';
import { UsageError } from '../../src/util/errors.js';

/** Rebuilds the value from the events, and records the string pieces it saw. */
class Builder implements JsonSink {
  readonly stack: { c: unknown[] | Record<string, unknown>; key?: string }[] = [];
  root: unknown;
  done = false;
  pieces: string[] = [];
  keys: string[] = [];
  private pending = '';

  private add(v: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.root = v;
      this.done = true;
    } else if (Array.isArray(top.c)) top.c.push(v);
    else Object.defineProperty(top.c, top.key as string, { value: v, enumerable: true, writable: true, configurable: true });
  }
  openObject(): void {
    const o = {};
    this.add(o);
    this.done = false;
    this.stack.push({ c: o });
  }
  openArray(): void {
    const a: unknown[] = [];
    this.add(a);
    this.done = false;
    this.stack.push({ c: a });
  }
  close(): void {
    this.stack.pop();
    if (this.stack.length === 0) this.done = true;
  }
  key(name: string): void {
    this.keys.push(name);
    (this.stack[this.stack.length - 1] as { key?: string }).key = name;
  }
  string(piece: string, final: boolean): void {
    this.pieces.push(piece);
    this.pending += piece;
    if (final) {
      const s = this.pending;
      this.pending = '';
      this.add(s);
    }
  }
  number(text: string): void {
    this.add(Number(text));
  }
  literal(value: boolean | null): void {
    this.add(value);
  }
}

function parseChunks(chunks: (string | Uint8Array)[], opts: JsonStreamOptions = {}): Builder {
  const b = new Builder();
  const t = new JsonStream(b, { maxDepth: 64, ...opts });
  for (const c of chunks) t.write(c);
  t.end();
  return b;
}

function split<T extends string | Uint8Array>(x: T, cuts: number[]): T[] {
  const points = [...new Set(cuts.map((c) => c % (x.length + 1)))].sort((a, b) => a - b);
  const out: T[] = [];
  let prev = 0;
  for (const p of [...points, x.length]) {
    out.push(x.slice(prev, p) as T);
    prev = p;
  }
  return out;
}

/** Every non-ASCII code unit as \uXXXX (they only occur inside strings), so surrogates come as escapes. */
function escapeNonAscii(json: string): string {
  return json.replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function syntaxError(text: string, opts: JsonStreamOptions = {}): JsonSyntaxError {
  try {
    parseChunks([text], opts);
  } catch (e) {
    expect(e).toBeInstanceOf(JsonSyntaxError);
    return e as JsonSyntaxError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

describe('JsonStream', () => {
  test('random JSON, split anywhere, as text, \\u-escaped text and UTF-8 bytes, rebuilds JSON.parse', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom('text', 'escaped', 'bytes'),
        fc.integer({ min: 2, max: 40 }),
        (value, cuts, form, piece) => {
          const json = JSON.stringify(value, null, cuts.length % 3);
          const want = JSON.parse(json) as unknown;
          const src = form === 'bytes' ? new TextEncoder().encode(json) : form === 'escaped' ? escapeNonAscii(json) : json;
          const b = parseChunks(split(src, cuts), { piece });
          expect(b.root).toEqual(want);
          expect(b.done).toBe(true);
          for (const p of b.pieces) expect(p.length).toBeLessThanOrEqual(piece);
        },
      ),
      { numRuns: 400 },
    );
  });

  test('accepts exactly what JSON.parse accepts', () => {
    const tokens = ['{', '}', '[', ']', ',', ':', '"a"', '"', '\\', 'u', '0', '1', '-', '.', 'e', '+', 'true', 'tru', 'null', 'false', ' ', '\n', 'x', '"\\u00e9"', '"\\ud83d\\ude00"'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...tokens), { maxLength: 24 }), fc.array(fc.nat(), { maxLength: 4 }), (parts, cuts) => {
        const text = parts.join('');
        let ok = true;
        try {
          JSON.parse(text);
        } catch {
          ok = false;
        }
        let ours = true;
        try {
          parseChunks(split(text, cuts));
        } catch (e) {
          expect(e).toBeInstanceOf(JsonSyntaxError);
          ours = false;
        }
        expect([text, ours]).toEqual([text, ok]);
      }),
      { numRuns: 3000 },
    );
  });

  test('a long string comes in pieces, and a surrogate pair is never split between two', () => {
    const s = '😀'.repeat(50) + 'x' + '😀'.repeat(50);
    for (const piece of [2, 3, 7, 64]) {
      const b = parseChunks([JSON.stringify({ k: s })], { piece });
      expect(b.root).toEqual({ k: s });
      expect(b.pieces.length).toBeGreaterThan(1);
      for (const p of b.pieces) {
        const last = p.charCodeAt(p.length - 1);
        expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
      }
    }
    // keys come whole
    const b = parseChunks(['{"', 'lo', 'ng_key": 1}'], { piece: 2 });
    expect(b.keys).toEqual(['long_key']);
  });

  test('\\u escapes and surrogate pairs split across chunks at every point', () => {
    const text = '{"e":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/\\b\\f\\r"}';
    const want = JSON.parse(text) as unknown;
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) expect(parseChunks([text.slice(0, i), text.slice(i, j), text.slice(j)]).root).toEqual(want);
    }
    // a lone surrogate is kept, as JSON.parse keeps it
    expect(parseChunks(['["\\udc00x"]']).root).toEqual(JSON.parse('["\\udc00x"]'));
  });

  test('numbers and literals split anywhere; the JSON number grammar is enforced', () => {
    const text = '[-0.5e+10,0,-0,12345678901234567890,1E2,true,false,null]';
    const want = JSON.parse(text) as unknown;
    for (let i = 0; i <= text.length; i++) expect(parseChunks([text.slice(0, i), text.slice(i)]).root).toEqual(want);
    for (const bad of ['-', '1.', '.5', '01', '1e', '1e+', '+1', '--1', '1.e5', '0x10', 'Infinity', 'NaN']) {
      expect(() => parseChunks([`[${bad}]`])).toThrow(JsonSyntaxError);
    }
    expect(parseChunks(['4', '2']).root).toBe(42); // a number at the root ends with the input
    expect(syntaxError(`[${'1'.repeat(41)}]`).detail.problem).toBe('number too long');
  });

  test('errors carry the 1-based line and column, the offset and the path', () => {
    const e = syntaxError('{\n  "a": [1, 2,\n    ]\n}');
    expect(e.code).toBe('ERR_JSON');
    expect(e.detail).toEqual({ line: 3, column: 5, offset: 20, path: 'a[2]', problem: 'unexpected character' });
    expect(syntaxError('{"a":1}\n\n  x').detail).toMatchObject({ line: 3, column: 3, problem: 'data after the root value', path: '$' });
    expect(syntaxError('{"a":{"b":[true, nul]}}').detail).toMatchObject({ line: 1, column: 21, path: 'a.b[1]' });
    expect(syntaxError('   ').detail).toMatchObject({ problem: 'unexpected end of input', line: 1, column: 4 });
  });

  test('limits: depth, key length, piece size', () => {
    expect(parseChunks(['[[[1]]]'], { maxDepth: 3 }).root).toEqual([[[1]]]);
    expect(syntaxError('[[[[1]]]]', { maxDepth: 3 }).detail.problem).toBe('nesting too deep');
    expect(parseChunks([`{"${'k'.repeat(8)}":1}`], { maxKeyLength: 8 }).keys).toEqual(['kkkkkkkk']);
    expect(syntaxError(`{"${'k'.repeat(9)}":1}`, { maxKeyLength: 8 }).detail.problem).toBe('key too long');
    expect(() => new JsonStream(new Builder(), { piece: 1 })).toThrow(UsageError);
  });

  test('UTF-8: sequences of every length split at every byte; bad bytes refused', () => {
    const text = JSON.stringify({ s: 'aé€𝄞z' });
    const bytes = new TextEncoder().encode(text);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        expect(parseChunks([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]).root).toEqual({ s: 'aé€𝄞z' });
      }
    }
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0x80], [0xe2, 0x28, 0xa1]]) {
      const doc = new Uint8Array([0x5b, 0x22, ...bad, 0x22, 0x5d]);
      let e: unknown;
      try {
        parseChunks([doc]);
      } catch (err) {
        e = err;
      }
      expect(e).toBeInstanceOf(JsonSyntaxError);
      expect((e as JsonSyntaxError).detail).toMatchObject({ problem: 'invalid UTF-8', path: '[0]', column: 3 });
    }
    // cut inside a sequence at the very end
    expect(() => parseChunks([new Uint8Array([0x5b, 0x5d, 0xe2])])).toThrow(JsonSyntaxError);
  });

  test('after an error the stream refuses more input', () => {
    const t = new JsonStream(new Builder());
    expect(() => t.write('[}')).toThrow(JsonSyntaxError);
    expect(() => t.write(']')).toThrow(UsageError);
    expect(() => t.end()).toThrow(UsageError);
  });
});

describe('long texts are read in slices (XS reads a long string in place in quadratic time)', () => {
  test('a surrogate pair at every position around the 256-character slice edges stays whole', () => {
    for (let at = 240; at < 270; at++) {
      const text = `["${'a'.repeat(at - 2)}𝄞${'b'.repeat(300)}", "${'€'.repeat(600)}"]`;
      const b = parseChunks([text]);
      expect(b.root).toEqual(JSON.parse(text));
      // no piece handed on ends in half a pair
      for (const p of b.pieces) expect(/[\ud800-\udbff]$/.test(p)).toBe(false);
    }
  });

  test('a raw control character deep in a long string is found where it is', () => {
    const text = `{\n "k": "${'x'.repeat(700)}\u0001${'y'.repeat(50)}"}`;
    expect(syntaxError(text).detail).toMatchObject({ problem: 'control character in string', line: 2, column: 708, path: 'k' });
    // and one right after an escape, in a later slice
    const esc = `["${'x'.repeat(300)}\\n\u001f"]`;
    expect(syntaxError(esc).detail).toMatchObject({ problem: 'control character in string', column: 305, path: '[0]' });
  });

  test('a long document gives what JSON.parse gives, whole or in chunks of any size', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 1, max: 700 }), (v, size) => {
        const text = JSON.stringify(v, null, 2);
        const want = JSON.parse(text) as unknown;
        expect(parseChunks([text]).root).toEqual(want);
        const chunks: string[] = [];
        for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
        expect(parseChunks(chunks).root).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
