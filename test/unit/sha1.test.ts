import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { Sha1, sha1 } from '../../src/util/sha1.js';
import { UsageError } from '../../src/util/errors.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const oracle = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

describe('sha1', () => {
  test.each([
    ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
  ])('FIPS 180 vector %j', (s, want) => {
    expect(hex(sha1(new TextEncoder().encode(s)))).toBe(want);
  });

  test('a million "a"', () => {
    expect(hex(sha1(new Uint8Array(1_000_000).fill(0x61)))).toBe('34aa973cd4c4daa4f61eeb2bdbad27316534016f');
  });

  test('every length 0..200 around the padding boundaries matches node:crypto', () => {
    for (let n = 0; n <= 200; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff);
      expect(hex(sha1(b))).toBe(oracle(b));
    }
  });

  test('random inputs, fed in random pieces, match node:crypto', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(300), { maxLength: 10 }), (data, cuts) => {
        const h = new Sha1();
        let off = 0;
        for (const c of cuts) {
          h.update(data.subarray(off, Math.min(data.length, off + c)));
          off = Math.min(data.length, off + c);
        }
        h.update(data.subarray(off));
        expect(hex(h.digest())).toBe(oracle(data));
      }),
      { numRuns: 300 },
    );
  });

  test('a finished hash refuses more input', () => {
    const h = new Sha1();
    h.digest();
    expect(() => h.update(new Uint8Array(1))).toThrow(UsageError);
    expect(() => h.digest()).toThrow(UsageError);
  });
});
