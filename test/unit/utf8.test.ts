import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DecodeError } from '../../src/util/errors.js';
import { Utf8Validator, utf8Decode, utf8Encode } from '../../src/util/utf8.js';

const enc = new TextEncoder();
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function oracleDecode(b: Uint8Array): string | undefined {
  try {
    return fatal.decode(b);
  } catch {
    return undefined;
  }
}

function decodeError(b: Uint8Array): DecodeError {
  try {
    utf8Decode(b);
  } catch (e) {
    return e as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

const bytes = (...a: number[]): Uint8Array => Uint8Array.from(a);

describe('utf8Encode', () => {
  test.each([
    ['', []],
    ['A', [0x41]],
    ['é', [0xc3, 0xa9]],
    ['€', [0xe2, 0x82, 0xac]],
    ['😀', [0xf0, 0x9f, 0x98, 0x80]],
    ['\u{10ffff}', [0xf4, 0x8f, 0xbf, 0xbf]],
    ['\u0000', [0]],
  ])('%j', (s, expected) => {
    expect(Array.from(utf8Encode(s))).toEqual(expected);
  });

  test('lone surrogates become U+FFFD like TextEncoder', () => {
    for (const s of ['\ud800', '\udc00', 'a\ud800b', '\udc00\ud800', '\ud83d']) {
      expect(Array.from(utf8Encode(s))).toEqual(Array.from(enc.encode(s)));
    }
  });

  test('matches TextEncoder on random strings (including lone surrogates)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(Array.from(utf8Encode(s))).toEqual(Array.from(enc.encode(s)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('utf8Decode', () => {
  test('round trips well-formed strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const b = enc.encode(s);
        expect(utf8Decode(utf8Encode(s))).toBe(fatal.decode(b));
      }),
      { numRuns: 500 },
    );
  });

  test('agrees with a fatal TextDecoder on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const want = oracleDecode(b);
        if (want === undefined) expect(() => utf8Decode(b)).toThrow(DecodeError);
        else expect(utf8Decode(b)).toBe(want);
      }),
      { numRuns: 3000 },
    );
  });

  test('agrees on random bytes biased towards multi-byte leads', () => {
    const interesting = fc.constantFrom(0x00, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90);
    fc.assert(
      fc.property(fc.array(interesting, { maxLength: 12 }), (a) => {
        const b = Uint8Array.from(a);
        const want = oracleDecode(b);
        if (want === undefined) expect(() => utf8Decode(b)).toThrow(DecodeError);
        else expect(utf8Decode(b)).toBe(want);
      }),
      { numRuns: 3000 },
    );
  });

  test('long input crosses the flush boundary', () => {
    const s = 'ab€😀'.repeat(1000);
    expect(utf8Decode(utf8Encode(s))).toBe(s);
  });

  test('decodes a sub-range', () => {
    const b = utf8Encode('xx€yy');
    expect(utf8Decode(b, 2, 5)).toBe('€');
    expect(utf8Decode(b, 5)).toBe('yy');
    expect(utf8Decode(b, 1, 1)).toBe('');
  });

  test.each([
    ['unexpected continuation', [0x41, 0x80], 1],
    ['overlong', [0xc0, 0x80], 0],
    ['overlong', [0xc1, 0xbf], 0],
    ['overlong', [0xe0, 0x80, 0x80], 1],
    ['overlong', [0xf0, 0x80, 0x80, 0x80], 1],
    ['surrogate', [0x61, 0xed, 0xa0, 0x80], 2],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 1],
    ['above U+10FFFF', [0xf5, 0x80, 0x80, 0x80], 0],
    ['invalid byte', [0xff], 0],
    ['bad continuation', [0xe2, 0x82, 0x41], 2],
    ['bad continuation', [0xc3, 0x41], 1],
    ['truncated', [0x61, 0xe2, 0x82], 1],
    ['truncated', [0xf0, 0x9f, 0x98], 0],
    ['truncated', [0xc3], 0],
  ])('%s: %j at %d', (problem, input, offset) => {
    const e = decodeError(Uint8Array.from(input));
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.code).toBe('ERR_UTF8');
    expect(e.detail).toEqual({ offset, problem });
  });

  test('a bad byte before the truncation point is reported, not the truncation', () => {
    expect(decodeError(bytes(0xf0, 0x9f, 0x41)).detail).toEqual({ offset: 2, problem: 'bad continuation' });
  });

  test('offsets are absolute within the buffer when decoding a sub-range', () => {
    const b = bytes(0x41, 0x41, 0x41, 0xff);
    try {
      utf8Decode(b, 2);
      throw new Error('no throw');
    } catch (e) {
      expect((e as DecodeError).detail).toEqual({ offset: 3, problem: 'invalid byte' });
    }
  });

  test('a sequence cut by `end` is truncated even if the buffer continues', () => {
    const b = utf8Encode('€');
    expect(() => utf8Decode(b, 0, 2)).toThrow(expect.objectContaining({ code: 'ERR_UTF8' }));
  });

  test('bad ranges are ERR_UTF8_RANGE', () => {
    const b = bytes(1, 2, 3);
    for (const [s, e] of [[-1, 2], [0, 4], [2, 1], [0.5, 2]] as const) {
      expect(() => utf8Decode(b, s, e)).toThrow(expect.objectContaining({ code: 'ERR_UTF8_RANGE' }));
    }
  });
});

describe('Utf8Validator', () => {
  function validateInChunks(b: Uint8Array, cuts: number[]): { bad: number; end: boolean } {
    const v = new Utf8Validator();
    let prev = 0;
    let bad = -1;
    for (const c of [...cuts.filter((x) => x > 0 && x < b.length).sort((x, y) => x - y), b.length]) {
      bad = v.push(b.subarray(prev, c));
      prev = c;
      if (bad >= 0) break;
    }
    return { bad, end: v.end() };
  }

  function firstBadOffset(b: Uint8Array): number {
    try {
      utf8Decode(b);
      return -1;
    } catch (e) {
      const d = (e as DecodeError).detail as { offset: number; problem: string };
      return d.problem === 'truncated' ? -2 : d.offset;
    }
  }

  test('agrees with utf8Decode however the input is split', () => {
    const interesting = fc.constantFrom(0x41, 0x80, 0xbf, 0xc2, 0xc3, 0xa9, 0xe0, 0xa0, 0xe2, 0x82, 0xac, 0xed, 0x9f, 0xf0, 0x9f, 0x98, 0xf4, 0x8f, 0x90, 0xff);
    fc.assert(
      fc.property(fc.array(interesting, { maxLength: 16 }), fc.array(fc.nat(16), { maxLength: 5 }), (a, cuts) => {
        const b = Uint8Array.from(a);
        const want = firstBadOffset(b);
        const got = validateInChunks(b, cuts);
        if (want === -1) expect(got).toEqual({ bad: -1, end: true });
        else if (want === -2) expect(got).toEqual({ bad: -1, end: false });
        else {
          expect(got.bad).toBe(want);
          expect(got.end).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('valid text split inside a code point', () => {
    const b = utf8Encode('a😀b');
    const v = new Utf8Validator();
    expect(v.push(b.subarray(0, 2))).toBe(-1);
    expect(v.end()).toBe(false);
    expect(v.push(b.subarray(2, 4))).toBe(-1);
    expect(v.push(b.subarray(4))).toBe(-1);
    expect(v.end()).toBe(true);
  });

  test('fails fast on the second chunk with an offset across chunks, and stays failed', () => {
    const v = new Utf8Validator();
    expect(v.push(bytes(0x61, 0x62, 0xed))).toBe(-1);
    expect(v.push(bytes(0xa0, 0x80))).toBe(3);
    expect(v.push(bytes(0x61))).toBe(3);
    expect(v.end()).toBe(false);
    v.reset();
    expect(v.push(bytes(0x61))).toBe(-1);
    expect(v.end()).toBe(true);
  });

  test('empty pushes are harmless', () => {
    const v = new Utf8Validator();
    expect(v.push(new Uint8Array(0))).toBe(-1);
    expect(v.end()).toBe(true);
  });
});
