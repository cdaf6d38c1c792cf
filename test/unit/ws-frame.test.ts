import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { WsProtocolError } from '../../src/protocols/ws/errors.js';
import { encodeFrame, FrameHeaderReader, maskCopy, OP_BINARY, OP_PING, OP_TEXT } from '../../src/protocols/ws/frame.js';
import { bytes, decodeFrames, rawFrame } from './ws-harness.js';

const reader = (expectMasked = true, maxFrameSize = 1 << 20, allowRsv1 = false): FrameHeaderReader =>
  new FrameHeaderReader({ expectMasked, allowRsv1, maxFrameSize });

function headerOf(r: FrameHeaderReader) {
  return { fin: r.fin, rsv1: r.rsv1, opcode: r.opcode, masked: r.masked, length: r.length, mask: Array.from(r.mask) };
}

function errOf(fn: () => unknown): WsProtocolError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WsProtocolError);
    return e as WsProtocolError;
  }
  throw new Error('expected a WsProtocolError');
}

describe('FrameHeaderReader', () => {
  test.each([0, 1, 125, 126, 127, 65535, 65536, 70000])('length %d in its minimal form, whole or byte by byte', (n) => {
    const f = rawFrame({ op: OP_BINARY, payload: new Uint8Array(n) }, 'server');
    const head = f.subarray(0, f.length - n);
    const a = reader();
    expect(a.read(f, 0)).toBe(head.length);
    expect(a.complete).toBe(true);
    const b = reader();
    for (let i = 0; i < head.length; i++) {
      expect(b.complete).toBe(false);
      expect(b.read(head.subarray(0, i + 1), i)).toBe(i + 1);
    }
    expect(b.complete).toBe(true);
    expect(headerOf(b)).toEqual(headerOf(a));
    expect(a.length).toBe(n);
    expect(Array.from(a.mask)).toEqual([0x37, 0xfa, 0x21, 0x3d]);
  });

  test('non-minimal lengths are accepted', () => {
    for (const form of [16, 64] as const) {
      const r = reader();
      r.read(rawFrame({ op: OP_TEXT, payload: 'abc', lengthForm: form }, 'server'), 0);
      expect(r.length).toBe(3);
    }
  });

  test('a 64-bit length with its top bit set is 1002', () => {
    const e = errOf(() => reader().read(rawFrame({ op: OP_BINARY, payload: new Uint8Array(3), lengthForm: 64, len64TopByte: 0x80 }, 'server'), 0));
    expect([e.code, e.closeCode]).toEqual(['ERR_WS_LENGTH', 1002]);
  });

  test('a frame over maxFrameSize is 1009 as soon as its length is read', () => {
    const f = rawFrame({ op: OP_BINARY, payload: new Uint8Array(101) }, 'server');
    const e = errOf(() => reader(true, 100).read(f.subarray(0, 6), 0));
    expect([e.code, e.closeCode, e.detail]).toEqual(['ERR_WS_FRAME_TOO_BIG', 1009, { field: 'length', length: 101, limit: 100 }]);
    // 2^53 and beyond are simply too big, never misread
    const huge = bytes(0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4);
    expect(errOf(() => reader(true, Number.MAX_SAFE_INTEGER).read(huge, 0)).code).toBe('ERR_WS_FRAME_TOO_BIG');
  });

  test.each([
    ['RSV2', bytes(0xa2, 0x80), 'ERR_WS_RSV'],
    ['RSV1 without deflate', bytes(0xc2, 0x80), 'ERR_WS_RSV'],
    ['opcode 3', bytes(0x83, 0x80), 'ERR_WS_OPCODE'],
    ['opcode 15', bytes(0x8f, 0x80), 'ERR_WS_OPCODE'],
    ['fragmented ping', bytes(0x09, 0x80), 'ERR_WS_CONTROL_FRAGMENTED'],
    ['ping of 126', bytes(0x89, 0xfe), 'ERR_WS_CONTROL_LENGTH'],
    ['unmasked from a client', bytes(0x82, 0x00), 'ERR_WS_UNMASKED'],
  ])('%s is refused with 1002 on the first two bytes', (_n, b, code) => {
    const e = errOf(() => reader().read(b, 0));
    expect([e.code, e.closeCode]).toEqual([code, 1002]);
  });

  test('masked frames are refused by a client; RSV1 is fine with deflate except on control frames', () => {
    expect(errOf(() => reader(false).read(bytes(0x82, 0x80), 0)).code).toBe('ERR_WS_MASKED');
    const r = reader(true, 100, true);
    r.read(bytes(0xc1, 0x80, 0, 0, 0, 0), 0);
    expect(r.rsv1).toBe(true);
    expect(errOf(() => reader(true, 100, true).read(bytes(0xc9, 0x80), 0)).code).toBe('ERR_WS_RSV');
  });

  test('fuzz: arbitrary bytes either parse as a header or throw WsProtocolError, whole or byte by byte alike', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 16 }), fc.boolean(), fc.boolean(), (b, masked, rsv1) => {
        const outcome = (feed: (r: FrameHeaderReader) => number) => {
          const r = reader(masked, 1000, rsv1);
          try {
            const used = feed(r);
            return r.complete ? { used, h: headerOf(r) } : { partial: true };
          } catch (e) {
            expect(e).toBeInstanceOf(WsProtocolError);
            return { error: (e as WsProtocolError).code };
          }
        };
        const whole = outcome((r) => r.read(b, 0));
        const bytewise = outcome((r) => {
          let off = 0;
          while (off < b.length && !r.complete) off = r.read(b.subarray(0, off + 1), off);
          return off;
        });
        expect(bytewise).toEqual(whole);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('maskCopy and encodeFrame', () => {
  test('unmasking in pieces at any phase equals unmasking at once', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(100), (p, key, cut) => {
        const c = Math.min(cut, p.length);
        const once = new Uint8Array(p.length);
        maskCopy(p, 0, once, 0, p.length, key, 0);
        const pieces = new Uint8Array(p.length);
        maskCopy(p, 0, pieces, 0, c, key, 0);
        maskCopy(p, c, pieces, c, p.length - c, key, c);
        expect(Array.from(pieces)).toEqual(Array.from(once));
        expect(Array.from(once)).toEqual(Array.from(p, (x, i) => x ^ (key[i & 3] as number)));
      }),
    );
  });

  test('encodeFrame agrees with the independent decoder, masked and not, at every length form', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 125, 126, 127, 65535, 65536, 70001),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (n, fin, rsv1, masked) => {
          const p = Uint8Array.from({ length: n }, (_, i) => i * 31);
          const f = encodeFrame(OP_BINARY, p, fin, rsv1, masked ? bytes(1, 2, 3, 4) : undefined);
          const [d] = decodeFrames([f]);
          expect(d).toMatchObject({ op: OP_BINARY, fin, rsv: rsv1 ? 4 : 0, masked });
          expect(Buffer.from(d!.payload).equals(Buffer.from(p))).toBe(true);
          const r = reader(masked, 1 << 20, true);
          expect(r.read(f, 0)).toBe(f.length - n);
          expect([r.length, r.fin, r.rsv1, r.opcode]).toEqual([n, fin, rsv1, OP_BINARY]);
        },
      ),
      { numRuns: 100 },
    );
    expect(Array.from(encodeFrame(OP_PING, bytes(), true, false, undefined))).toEqual([0x89, 0x00]);
  });
});
