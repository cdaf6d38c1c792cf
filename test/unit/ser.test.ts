import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DecodeError, UsageError } from '../../src/util/errors.js';
import {
  ru16be, ru16le, ru32be, ru32le, ru64be, ru64le, ru8,
  wu16be, wu16le, wu32be, wu32le, wu64be, wu64le, wu8,
} from '../../src/util/ser.js';

const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

describe('known encodings', () => {
  test('big and little endian layouts', () => {
    const b = new Uint8Array(8);
    expect(wu16be(b, 0, 0x1234)).toBe(2);
    expect(Array.from(b.subarray(0, 2))).toEqual([0x12, 0x34]);
    expect(wu16le(b, 0, 0x1234)).toBe(2);
    expect(Array.from(b.subarray(0, 2))).toEqual([0x34, 0x12]);
    expect(wu32be(b, 0, 0xdeadbeef)).toBe(4);
    expect(Array.from(b.subarray(0, 4))).toEqual([0xde, 0xad, 0xbe, 0xef]);
    expect(ru32be(b, 0)).toBe(0xdeadbeef);
    expect(wu32le(b, 0, 0xdeadbeef)).toBe(4);
    expect(Array.from(b.subarray(0, 4))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(ru32le(b, 0)).toBe(0xdeadbeef);
    expect(wu64be(b, 0, 0x0102030405060708n)).toBe(8);
    expect(Array.from(b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ru64be(b, 0)).toBe(0x0102030405060708n);
    expect(ru64le(b, 0)).toBe(0x0807060504030201n);
    expect(wu64le(b, 0, 0x0102030405060708n)).toBe(8);
    expect(Array.from(b)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(wu8(b, 7, 0xab)).toBe(8);
    expect(ru8(b, 7)).toBe(0xab);
  });

  test('values are truncated to the field width, as a C cast', () => {
    const b = new Uint8Array(8);
    wu8(b, 0, 0x1ff);
    expect(b[0]).toBe(0xff);
    wu16be(b, 0, -1);
    expect(ru16be(b, 0)).toBe(0xffff);
    wu32be(b, 0, -2);
    expect(ru32be(b, 0)).toBe(0xfffffffe);
    wu64be(b, 0, -1n);
    expect(ru64be(b, 0)).toBe(0xffffffffffffffffn);
    wu64be(b, 0, -1);
    expect(ru64be(b, 0)).toBe(0xffffffffffffffffn);
    wu64le(b, 0, 2n ** 64n + 5n);
    expect(ru64le(b, 0)).toBe(5n);
  });

  test('u64 from number: safe integers and large doubles', () => {
    const b = new Uint8Array(8);
    wu64be(b, 0, Number.MAX_SAFE_INTEGER);
    expect(ru64be(b, 0)).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    wu64be(b, 0, 2 ** 60);
    expect(ru64be(b, 0)).toBe(2n ** 60n);
    wu64le(b, 0, 1_700_000_000_000_000);
    expect(ru64le(b, 0)).toBe(1_700_000_000_000_000n);
  });

  test('works on a subarray view at its own offsets', () => {
    const backing = new Uint8Array(16);
    const view = backing.subarray(5, 9);
    wu32be(view, 0, 0x01020304);
    expect(Array.from(backing.subarray(5, 9))).toEqual([1, 2, 3, 4]);
    expect(ru16le(view, 2)).toBe(0x0403);
  });
});

describe('round trips against DataView', () => {
  test('16 and 32 bit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.nat(8), (v16, v32, off) => {
        const b = new Uint8Array(off + 4);
        wu16be(b, off, v16);
        expect(dv(b).getUint16(off, false)).toBe(v16);
        expect(ru16be(b, off)).toBe(v16);
        wu16le(b, off, v16);
        expect(dv(b).getUint16(off, true)).toBe(v16);
        expect(ru16le(b, off)).toBe(v16);
        dv(b).setUint32(off, v32, false);
        expect(ru32be(b, off)).toBe(v32);
        wu32be(b, off, v32);
        expect(dv(b).getUint32(off, false)).toBe(v32);
        wu32le(b, off, v32);
        expect(dv(b).getUint32(off, true)).toBe(v32);
        expect(ru32le(b, off)).toBe(v32);
      }),
      { numRuns: 1000 },
    );
  });

  test('64 bit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(8), (v, off) => {
        const b = new Uint8Array(off + 8);
        wu64be(b, off, v);
        expect(dv(b).getBigUint64(off, false)).toBe(v);
        expect(ru64be(b, off)).toBe(v);
        wu64le(b, off, v);
        expect(dv(b).getBigUint64(off, true)).toBe(v);
        expect(ru64le(b, off)).toBe(v);
      }),
      { numRuns: 1000 },
    );
  });

  test('64 bit from safe-integer numbers', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        const b = new Uint8Array(8);
        wu64be(b, 0, v);
        expect(dv(b).getBigUint64(0, false)).toBe(BigInt(v));
        wu64le(b, 0, v);
        expect(dv(b).getBigUint64(0, true)).toBe(BigInt(v));
      }),
      { numRuns: 500 },
    );
  });
});

describe('errors', () => {
  const readers = { ru8: [ru8, 1], ru16be: [ru16be, 2], ru16le: [ru16le, 2], ru32be: [ru32be, 4], ru32le: [ru32le, 4], ru64be: [ru64be, 8], ru64le: [ru64le, 8] } as const;
  const writers = { wu8: [wu8, 1], wu16be: [wu16be, 2], wu16le: [wu16le, 2], wu32be: [wu32be, 4], wu32le: [wu32le, 4], wu64be: [wu64be, 8], wu64le: [wu64le, 8] } as const;

  test.each(Object.entries(readers))('%s past the end is ERR_SER_BOUNDS', (_n, [fn, width]) => {
    const b = new Uint8Array(width + 1);
    expect(() => (fn as (b: Uint8Array, o: number) => unknown)(b, 1)).not.toThrow();
    for (const off of [2, -1, 0.5, width + 1]) {
      let err: unknown;
      try {
        (fn as (b: Uint8Array, o: number) => unknown)(b, off);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DecodeError);
      expect((err as DecodeError).code).toBe('ERR_SER_BOUNDS');
      expect((err as DecodeError).detail).toEqual({ offset: off, width, length: width + 1 });
    }
  });

  test.each(Object.entries(writers))('%s past the end is ERR_SER_BOUNDS and writes nothing', (_n, [fn, width]) => {
    const b = new Uint8Array(width);
    expect(() => (fn as (b: Uint8Array, o: number, v: number) => number)(b, 1, 0xff)).toThrow(
      expect.objectContaining({ code: 'ERR_SER_BOUNDS' }),
    );
    expect(Array.from(b).every((x) => x === 0)).toBe(true);
  });

  test('a non-integer u64 number is ERR_SER_VALUE', () => {
    const b = new Uint8Array(8);
    for (const v of [1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      let err: unknown;
      try {
        wu64be(b, 0, v);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).code).toBe('ERR_SER_VALUE');
    }
  });
});
