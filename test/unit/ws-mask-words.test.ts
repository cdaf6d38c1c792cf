/**
 * maskCopy's word path (runs of MASK_WORDS_FROM bytes and more are copied natively, then
 * unmasked 32 bits at a time where aligned): against a byte-by-byte reference, at every
 * alignment of source and destination, every phase, and split into pieces anywhere.
 */
import fc from 'fast-check';
import { maskCopy } from '../../src/protocols/ws/frame.js';

const reference = (src: Uint8Array, key: Uint8Array, phase: number): number[] => Array.from(src, (x, i) => x ^ (key[(phase + i) & 3] as number));

test('long runs unmask like the byte-by-byte reference at any offset, phase and cut', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 700, size: 'max' }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
      fc.nat(7),
      fc.nat(7),
      fc.nat(3),
      fc.nat(700),
      (p, key, srcPad, dstPad, phase, cut) => {
        // unaligned views on both sides: the source inside a larger buffer, the destination too
        const srcBuf = new Uint8Array(srcPad + p.length);
        srcBuf.set(p, srcPad);
        const src = srcBuf.subarray(srcPad);
        const once = new Uint8Array(dstPad + p.length + 3).fill(0xee);
        maskCopy(src, 0, once, dstPad, p.length, key, phase);
        expect(Array.from(once.subarray(dstPad, dstPad + p.length))).toEqual(reference(p, key, phase));
        // the bytes around the destination run are untouched
        expect(Array.from(once.subarray(0, dstPad)).every((b) => b === 0xee)).toBe(true);
        expect(Array.from(once.subarray(dstPad + p.length)).every((b) => b === 0xee)).toBe(true);
        const c = Math.min(cut, p.length);
        const pieces = new Uint8Array(p.length);
        maskCopy(src, 0, pieces, 0, c, key, phase);
        maskCopy(src, c, pieces, c, p.length - c, key, phase + c);
        expect(Array.from(pieces)).toEqual(reference(p, key, phase));
      },
    ),
    { numRuns: 300 },
  );
});

test('a 64 KiB payload at an odd offset round-trips through masking twice', () => {
  const p = new Uint8Array(65536 + 3);
  for (let i = 0; i < p.length; i++) p[i] = (i * 131 + 7) & 0xff;
  const key = Uint8Array.of(0x12, 0x34, 0x56, 0x78);
  const masked = new Uint8Array(p.length + 1);
  maskCopy(p, 0, masked, 1, p.length, key, 1);
  const back = new Uint8Array(p.length);
  maskCopy(masked, 1, back, 0, p.length, key, 1);
  expect(Buffer.from(back).equals(Buffer.from(p))).toBe(true);
  expect(masked[1]).toBe((p[0] as number) ^ 0x34);
});
