/**
 * permessage-deflate's compression (hosts/common): RawDeflate and the MessageDeflater built on
 * it, checked against node:zlib both ways. zlib is the oracle for the window too: inflating with
 * windowBits N and 64-byte output chunks makes zlib keep only its 2^N window, so a distance
 * further back fails with "invalid distance too far back".
 */
import fc from 'fast-check';
import { constants as zc, createDeflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import { wsDeflater } from '../../hosts/common/ws-deflater.js';
import { RawDeflate } from '../../hosts/common/raw-deflate.js';
import type { DeflateParams } from '../../src/protocols/ws/extensions.js';
import { seededRandom } from './ws-harness.js';

const TAIL = Buffer.from([0, 0, 0xff, 0xff]);

/** zlib inflates `stream` keeping only a 2^bits window (8 is read as 9 by zlib's raw inflate). */
function zlibInflate(stream: Uint8Array, bits = 15): Buffer {
  return inflateRawSync(stream, { windowBits: Math.max(9, bits), chunkSize: 64, finishFlush: zc.Z_SYNC_FLUSH });
}

/** Data of several kinds: text-like, runs, sparse binary, random. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 4000 }),
  fc.array(fc.constantFrom('lws ', 'frame ', 'deflate ', '{"a":1}', '\u00e9t\u00e9 ', 'x'), { maxLength: 800 }).map((w) => Buffer.from(w.join(''))),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 70000 })).map(([b, n]) => new Uint8Array(n).fill(b)),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 5000 }).map((a) => Uint8Array.from(a)),
);

const params = (over: Partial<DeflateParams> = {}): DeflateParams => ({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  ...over,
});

describe('RawDeflate', () => {
  test('every piece ends with a sync flush, and zlib inflates the stream within the window, whatever the pieces', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 15 }), fc.array(payload, { minLength: 1, maxLength: 6 }), (bits, pieces) => {
        const d = new RawDeflate(bits);
        const out = pieces.map((p) => d.push(p));
        for (const o of out) expect(Buffer.from(o.subarray(-4)).equals(TAIL)).toBe(true);
        expect(zlibInflate(Buffer.concat(out), bits).equals(Buffer.concat(pieces))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('after reset() each piece inflates on its own', () => {
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 15 }), fc.array(payload, { minLength: 1, maxLength: 4 }), (bits, pieces) => {
        const d = new RawDeflate(bits);
        for (const p of pieces) {
          expect(zlibInflate(d.push(p), bits).equals(Buffer.from(p))).toBe(true);
          d.reset();
        }
      }),
      { numRuns: 100 },
    );
  });

  test('a repeat just beyond the window is not referred to; within it, it is', () => {
    const block = new Uint8Array(600);
    seededRandom(5)(block);
    const data = Buffer.concat([block, block, block]);
    const narrow = new RawDeflate(9).push(data); // 512-byte window: the 600-byte period is out of reach
    const wide = new RawDeflate(10).push(data);
    expect(zlibInflate(narrow, 9).equals(data)).toBe(true);
    expect(wide.length).toBeLessThan(narrow.length / 2);
    // the wide stream does reach back 600 bytes: zlib with a 512-byte window refuses it
    expect(() => zlibInflate(wide, 9)).toThrow(/too far back/);
  });

  test('the window slides through a long stream (several MiB) and context carries across pieces', () => {
    const d = new RawDeflate(15);
    const pieces: Buffer[] = [];
    const out: Uint8Array[] = [];
    const random = seededRandom(3);
    for (let i = 0; i < 40; i++) {
      const p = Buffer.alloc(100_000 + i * 997);
      random(p);
      // repeat part of the previous piece so matches cross pieces and slides
      if (i > 0) pieces[i - 1]!.copy(p, 5000, 0, 20_000);
      pieces.push(p);
      out.push(d.push(p));
    }
    expect(zlibInflate(Buffer.concat(out)).equals(Buffer.concat(pieces))).toBe(true);
  });

  test('incompressible data goes out as stored blocks, never much larger than the input', () => {
    const p = new Uint8Array(200_000);
    seededRandom(9)(p);
    const out = new RawDeflate(15).push(p);
    expect(out.length).toBeLessThanOrEqual(p.length + 5 * Math.ceil(p.length / 65535) + 5);
    expect(zlibInflate(out).equals(Buffer.from(p))).toBe(true);
  });

  test('an empty piece is just the empty stored block', () => {
    expect(Array.from(new RawDeflate(15).push(new Uint8Array(0)))).toEqual([0, 0, 0, 0xff, 0xff]);
  });

  test('window bits outside 8..15 are refused', () => {
    expect(() => new RawDeflate(7)).toThrow(RangeError);
    expect(() => new RawDeflate(16)).toThrow(RangeError);
  });
});

describe('wsDeflater (MessageDeflater)', () => {
  test('compress: a message, in one piece or many, is what zlib reads as RFC 7692 §7.2.2 says', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 8, max: 15 }), fc.array(fc.array(payload, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), (reset, bits, messages) => {
        const d = wsDeflater(params({ clientNoContextTakeover: reset, clientMaxWindowBits: bits }), 'client');
        const wire: Buffer[] = [];
        for (const msg of messages) {
          const frames = msg.map((p, i) => d.compress(p, i === msg.length - 1));
          const last = frames[frames.length - 1]!;
          if (last.length >= 4) expect(Buffer.from(last.subarray(-4)).equals(TAIL)).toBe(false);
          const m = Buffer.concat([...frames, TAIL]);
          if (reset) expect(zlibInflate(m, bits).equals(Buffer.concat(msg))).toBe(true);
          wire.push(m);
        }
        // with context takeover the messages form one stream
        if (!reset) expect(zlibInflate(Buffer.concat(wire), bits).equals(Buffer.concat(messages.flat()))).toBe(true);
      }),
      { numRuns: 120 },
    );
  });

  test("decompress: zlib's messages, with and without context takeover, split into frames anywhere", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 5 }), async (messages, reset, cuts) => {
        const d = wsDeflater(params({ serverNoContextTakeover: reset }), 'client');
        const z = zlibStream();
        for (const m of messages) {
          if (reset) z.reset();
          const c = await z.push(Buffer.from(m));
          expect(c.subarray(-4).equals(TAIL)).toBe(true);
          expect(feed(d, c.subarray(0, c.length - 4), cuts, m.length).equals(Buffer.from(m))).toBe(true);
        }
        z.close();
      }),
      { numRuns: 80 },
    );
  });

  test('decompress carries the window from message to message (context takeover)', async () => {
    const z = zlibStream();
    const msgs = ['the same words again and again ', 'the same words again and again, and again ', 'again and again and again'].map((s) => Buffer.from(s.repeat(20)));
    const d = wsDeflater(params(), 'server');
    const sizes: number[] = [];
    for (const m of msgs) {
      const c = await z.push(m);
      sizes.push(c.length);
      expect(Buffer.from(d.decompress(c.subarray(0, c.length - 4), true, 1 << 20)!).equals(m)).toBe(true);
    }
    z.close();
    // the later messages refer back into the earlier ones: far smaller than the first
    expect(sizes[1]!).toBeLessThan(sizes[0]! / 2);
  });

  test("a peer that ends messages with a final block (§7.2.3.4): each message is then a new stream", () => {
    const d = wsDeflater(params(), 'client');
    for (const text of ['Hello', 'Hello again', 'and once more']) {
      // BFINAL=1 data, then the empty stored block's first byte, as the RFC's example
      const body = Buffer.concat([deflateRawSync(Buffer.from(text)), Buffer.from([0])]);
      expect(Buffer.from(d.decompress(body, true, 1000)!).toString()).toBe(text);
    }
  });

  test('decompress refuses output beyond maxOutput (undefined), and throws on data that is not DEFLATE', () => {
    const d = wsDeflater(params(), 'client');
    const c = deflateRawSync(Buffer.alloc(5000, 7), { finishFlush: zc.Z_SYNC_FLUSH });
    expect(d.decompress(c.subarray(0, c.length - 4), true, 4999)).toBeUndefined();
    const bad = wsDeflater(params(), 'client');
    expect(() => bad.decompress(Uint8Array.of(0xff, 0xff, 0xff), true, 1000)).toThrow();
  });
});

/** Feeds `body` as frames cut at `cuts` (mod length), returns everything inflated. */
function feed(d: ReturnType<typeof wsDeflater>, body: Uint8Array, cuts: number[], max: number): Buffer {
  const at = [...new Set(cuts.map((c) => (body.length ? c % body.length : 0)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let prev = 0;
  for (const c of at) {
    pieces.push(body.subarray(prev, c));
    prev = c;
  }
  pieces.push(body.subarray(prev));
  const out: Buffer[] = [];
  let room = max;
  pieces.forEach((p, i) => {
    const o = d.decompress(p, i === pieces.length - 1, room);
    expect(o).toBeDefined();
    out.push(Buffer.from(o!));
    room -= o!.length;
  });
  return Buffer.concat(out);
}

/** A zlib raw deflate stream kept across messages and sync-flushed after each, as ws does. */
function zlibStream(): { push(b: Buffer): Promise<Buffer>; reset(): void; close(): void } {
  const z = createDeflateRaw();
  let got: Buffer[] = [];
  z.on('data', (c: Buffer) => got.push(c));
  return {
    push: (b) =>
      new Promise((resolve) => {
        z.write(b);
        z.flush(zc.Z_SYNC_FLUSH, () => {
          const out = Buffer.concat(got);
          got = [];
          resolve(out);
        });
      }),
    reset: () => z.reset(),
    close: () => z.close(),
  };
}
