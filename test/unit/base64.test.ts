import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { Base64Decoder, base64Decode, base64Encode } from '../../src/util/base64.js';
import { DecodeError, UsageError } from '../../src/util/errors.js';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function problem(fn: () => unknown): { offset: number; problem: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).code).toBe('ERR_BASE64');
    return (e as DecodeError).detail as { offset: number; problem: string };
  }
  throw new Error('expected ERR_BASE64');
}

describe('base64Encode', () => {
  test.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ])('RFC 4648 vector %j', (s, want) => {
    expect(base64Encode(ascii(s))).toBe(want);
    expect(Array.from(base64Decode(want))).toEqual(Array.from(ascii(s)));
  });

  test('random bytes match Buffer, both alphabets, with and without padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10000 }), (b) => {
        const buf = Buffer.from(b);
        expect(base64Encode(b)).toBe(buf.toString('base64'));
        expect(base64Encode(b, { url: true, pad: false })).toBe(buf.toString('base64url'));
        expect(base64Encode(b, { pad: false })).toBe(buf.toString('base64').replace(/=+$/, ''));
      }),
      { numRuns: 300 },
    );
  });
});

describe('Base64Decoder', () => {
  test('random bytes round-trip through Buffer text, pushed in random chunks, as strings and as bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.boolean(),
        fc.array(fc.nat(40), { maxLength: 20 }),
        fc.boolean(),
        (b, url, cuts, asBytes) => {
          const text = Buffer.from(b).toString(url ? 'base64url' : 'base64');
          const d = new Base64Decoder();
          const parts: number[] = [];
          let off = 0;
          for (const c of [...cuts, text.length]) {
            const piece = text.slice(off, off + c);
            off += piece.length;
            parts.push(...d.push(asBytes ? ascii(piece) : piece));
          }
          parts.push(...d.end());
          expect(parts).toEqual(Array.from(b));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('whitespace anywhere is skipped (MIME line breaks, header folding)', () => {
    const b = Uint8Array.from({ length: 100 }, (_, i) => i * 7);
    const text = Buffer.from(b).toString('base64');
    const wrapped = text.replace(/(.{10})/g, '$1\r\n').replace(/(.{3})/g, ' $1\t');
    expect(Array.from(base64Decode(wrapped))).toEqual(Array.from(b));
    expect(Array.from(base64Decode('Zg = =\n'))).toEqual([0x66]);
  });

  test('padding is optional at the end, as lws decodes', () => {
    expect(Array.from(base64Decode('Zg'))).toEqual([0x66]);
    expect(Array.from(base64Decode('Zm8'))).toEqual([0x66, 0x6f]);
  });

  test('both alphabets by default; one when asked', () => {
    expect(Array.from(base64Decode('-_8='))).toEqual([0xfb, 0xff]);
    expect(Array.from(base64Decode('+/8='))).toEqual([0xfb, 0xff]);
    expect(problem(() => base64Decode('-_8=', { alphabet: 'std' }))).toEqual({ offset: 0, problem: 'invalid character' });
    expect(problem(() => base64Decode('+/8=', { alphabet: 'url' }))).toEqual({ offset: 0, problem: 'invalid character' });
  });

  test.each([
    ['Zm9v!', 4, 'invalid character'],
    ['Zm9vé', 4, 'invalid character'],
    ['Zg==Zg==', 4, 'data after padding'],
    ['Zg==x', 4, 'data after padding'],
    ['=Zg', 0, 'misplaced padding'],
    ['Z===', 1, 'misplaced padding'],
    ['Zm9=v', 4, 'data after padding'],
    ['Zm9v=', 4, 'misplaced padding'],
    ['Zm8==', 4, 'misplaced padding'],
    ['Z', 1, 'truncated'],
    ['Zm9vY', 5, 'truncated'],
    ['Zg=', 3, 'truncated'],
  ])('%j is refused at %d: %s', (s, offset, why) => {
    expect(problem(() => base64Decode(s))).toEqual({ offset, problem: why });
  });

  test('error offsets count across chunks', () => {
    const d = new Base64Decoder();
    d.push('Zm9v');
    d.push('Zm');
    expect(problem(() => d.push('9*'))).toEqual({ offset: 7, problem: 'invalid character' });
    expect(() => d.push('AAAA')).toThrow(UsageError);
    d.reset();
    expect(Array.from(d.push('Zm9v'))).toEqual([0x66, 0x6f, 0x6f]);
  });

  test('arbitrary text never throws anything but ERR_BASE64, and agrees with Buffer on what it accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'AZaz09+/-_= \n!é'.split('')), maxLength: 40 }), (s) => {
        let ours: number[] | undefined;
        try {
          ours = Array.from(base64Decode(s));
        } catch (e) {
          expect((e as DecodeError).code).toBe('ERR_BASE64');
        }
        // Buffer is lenient (it stops at bad input), so only compare what we accepted
        if (ours) expect(ours).toEqual(Array.from(Buffer.from(s.replace(/\s/g, ''), 'base64')));
      }),
      { numRuns: 2000 },
    );
  });
});
