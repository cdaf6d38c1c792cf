import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { deflateRawSync, inflateRawSync, constants as zc } from 'node:zlib';
import { WsConnection, type WsEvent, type WsRole } from '../../src/protocols/ws/connection.js';
import type { MessageDeflater } from '../../src/protocols/ws/deflater.js';
import { WsProtocolError } from '../../src/protocols/ws/errors.js';
import { UsageError } from '../../src/util/errors.js';
import { BINARY, CONT, concat, decodeFrames, echoRun, enc, machinePair, norm, PING, rawFrame, seededRandom, show, TEXT, type RawFrame } from './ws-harness.js';

const types = (ev: readonly WsEvent[]): string[] => ev.map((e) => e.type);

describe('client ↔ server in memory', () => {
  test('messages both ways, masked from the client only, with fresh keys', () => {
    const { client, server, pump } = machinePair();
    client.send('héllo');
    client.sendBinary(Uint8Array.of(1, 2, 3));
    const wire = client.pendingOutput();
    const frames = decodeFrames(wire);
    expect(frames.map((f) => f.masked)).toEqual([true, true]);
    expect(wire[0]!.subarray(2, 6)).not.toEqual(wire[1]!.subarray(2, 6));
    const got = wire.flatMap((b) => server.receive(b, 1));
    expect(norm(got)).toEqual([
      { type: 'message', binary: false, data: 'héllo', first: true, final: true },
      { type: 'message', binary: true, data: [1, 2, 3], first: true, final: true },
    ]);
    server.send('back');
    expect(decodeFrames(server.pendingOutput()).map((f) => f.masked)).toEqual([false]);
    expect(pump().client).toEqual([]);
  });

  test('open event carries the negotiated subprotocol and extensions', () => {
    const c = new WsConnection({ role: 'client', random: seededRandom(), protocol: 'chat', extensions: 'permessage-deflate' });
    expect(c.state).toBe('connecting');
    expect(c.open(0)).toEqual([{ type: 'open', protocol: 'chat', extensions: 'permessage-deflate' }]);
    expect(c.state).toBe('open');
  });

  test('fragmented send with a ping interleaved', () => {
    const { client, server } = machinePair();
    client.sendFragment('frag', false);
    client.ping('p');
    client.sendFragment('ment', false);
    client.sendFragment('ed', true);
    const ev = client.pendingOutput().flatMap((b) => server.receive(b, 1));
    expect(norm(ev)).toEqual([
      { type: 'ping', data: [0x70] },
      { type: 'message', binary: false, data: 'fragmented', first: true, final: true },
    ]);
    expect(decodeFrames(server.pendingOutput()).map((f) => [f.op, f.payload[0]])).toEqual([[10, 0x70]]);
  });

  test('autoPong off: the ping is reported and answering is up to the user', () => {
    const { client, server } = machinePair({}, { autoPong: false });
    client.ping('x');
    expect(types(client.pendingOutput().flatMap((b) => server.receive(b, 1)))).toEqual(['ping']);
    expect(server.pendingOutput()).toEqual([]);
    server.pong('x');
    expect(norm(server.pendingOutput().flatMap((b) => client.receive(b, 1)))).toEqual([{ type: 'pong', data: [0x78] }]);
  });

  test.each<WsRole>(['client', 'server'])('clean close initiated by the %s', (who) => {
    const p = machinePair();
    const [a, b] = who === 'client' ? [p.client, p.server] : [p.server, p.client];
    a.close(100, 1001, 'bye');
    expect(a.state).toBe('closing');
    expect(a.nextDeadlineUs()).toBe(100 + 5_000_000);
    // data still flows to the closing side until the peer's Close
    b.send('late');
    const toB = a.pendingOutput().flatMap((x) => b.receive(x, 2));
    expect(toB).toEqual([{ type: 'close', code: 1001, reason: 'bye', wasClean: true }]);
    // b answers with the next drain of its output; until then it may still send (§5.5.1)
    expect(b.state).toBe('closing');
    const out = b.pendingOutput();
    expect(b.state).toBe('closed');
    expect(() => b.send('too late')).toThrow(UsageError);
    const toA = out.flatMap((x) => a.receive(x, 3));
    expect(norm(toA)).toEqual([
      { type: 'message', binary: false, data: 'late', first: true, final: true },
      { type: 'close', code: 1001, reason: '', wasClean: true },
    ]);
    expect(a.state).toBe('closed');
    expect(a.nextDeadlineUs()).toBeUndefined();
    expect(a.receive(Uint8Array.of(0x81, 0x00), 4)).toEqual([]);
    expect(() => a.send('x')).toThrow(UsageError);
  });

  test('close without a code is reported as 1005', () => {
    const { client, server } = machinePair();
    client.close(0);
    expect(client.pendingOutput().flatMap((b) => server.receive(b, 1))).toEqual([{ type: 'close', code: 1005, reason: '', wasClean: true }]);
    expect(decodeFrames(server.pendingOutput())[0]!.payload.length).toBe(0);
  });

  test('the close handshake times out into 1006', () => {
    const { client } = machinePair();
    client.close(1_000, 1000);
    expect(client.onTimer(1_000 + 4_999_999)).toEqual([]);
    const ev = client.onTimer(1_000 + 5_000_000);
    expect(types(ev)).toEqual(['error', 'close']);
    expect(ev[0]).toMatchObject({ error: { code: 'ERR_WS_CLOSE_TIMEOUT', closeCode: 1006 } });
    expect(ev[1]).toEqual({ type: 'close', code: 1006, reason: '', wasClean: false });
    expect(client.state).toBe('closed');
    expect(client.nextDeadlineUs()).toBeUndefined();
    expect(client.pendingOutput().length).toBe(1); // only the Close we sent
  });

  test('usage errors throw UsageError', () => {
    const c = new WsConnection({ role: 'client', random: seededRandom() });
    expect(() => c.send('x')).toThrow(UsageError);
    expect(() => c.receive(new Uint8Array(1), 0)).toThrow(UsageError);
    expect(() => new WsConnection({ role: 'client' })).toThrow(UsageError);
    expect(() => new WsConnection({ role: 'server', maxMessageSize: 0 })).toThrow(UsageError);
    c.open(0);
    expect(() => c.open(0)).toThrow(UsageError);
    expect(() => c.ping(new Uint8Array(126))).toThrow(UsageError);
    expect(() => c.close(0, 1005)).toThrow(UsageError);
    expect(() => c.close(0, 1000, 'x'.repeat(124))).toThrow(UsageError);
    expect(() => c.close(0, undefined, 'why')).toThrow(UsageError);
    c.sendFragment(Uint8Array.of(1), false);
    expect(() => c.send('other')).toThrow(UsageError);
    c.sendFragment(Uint8Array.of(2), true);
    c.send('now fine');
  });
});

describe('limits', () => {
  test('a message over maxMessageSize is refused with 1009 at the frame that overflows, before its payload', () => {
    const frames: RawFrame[] = [
      { op: TEXT, payload: 'x'.repeat(60), fin: false },
      { op: CONT, payload: 'x'.repeat(50) },
    ];
    const wire = frames.map((f) => rawFrame(f, 'server'));
    const r = echoRun('server', [wire[0]!, wire[1]!.subarray(0, 6)], { maxMessageSize: 100 });
    expect(types(r.events)).toEqual(['error', 'close']);
    expect(r.events[0]).toMatchObject({ error: { code: 'ERR_WS_MESSAGE_TOO_BIG', closeCode: 1009, detail: { length: 110, limit: 100 } } });
    expect(r.frames.map((f) => [f.op, f.payload[0], f.payload[1]])).toEqual([[8, 0x03, 0xf1]]);
    // exactly at the limit is fine
    expect(types(echoRun('server', [rawFrame({ op: BINARY, payload: new Uint8Array(100) }, 'server')], { maxMessageSize: 100 }).events)).toEqual(['message']);
  });

  test('a frame over maxFrameSize is refused with 1009 even when the message limit is larger', () => {
    const r = echoRun('client', [rawFrame({ op: BINARY, payload: new Uint8Array(65) }, 'client')], { maxFrameSize: 64, maxMessageSize: 1000 });
    expect(r.events[0]).toMatchObject({ error: { code: 'ERR_WS_FRAME_TOO_BIG', closeCode: 1009 } });
  });
});

describe('streamFragments', () => {
  test('each data frame is its own event; text fragments are bytes, valid so far', () => {
    const euro = enc('€'); // 3 bytes, split across frames
    const frames: RawFrame[] = [
      { op: TEXT, payload: euro.subarray(0, 1), fin: false },
      { op: PING, payload: 'p' },
      { op: CONT, payload: euro.subarray(1), fin: false },
      { op: CONT, payload: '' },
    ];
    const r = echoRun('server', frames.map((f) => rawFrame(f, 'server')), { streamFragments: true });
    expect(norm(r.events)).toEqual([
      { type: 'message', binary: false, data: [0xe2], first: true, final: false },
      { type: 'ping', data: [0x70] },
      { type: 'message', binary: false, data: [0x82, 0xac], first: false, final: false },
      { type: 'message', binary: false, data: [], first: false, final: true },
    ]);
  });

  test('a text message ending inside a character fails with 1007 on its final frame', () => {
    const frames: RawFrame[] = [
      { op: TEXT, payload: enc('€').subarray(0, 2), fin: false },
      { op: CONT, payload: '' },
    ];
    for (const streamFragments of [false, true]) {
      const r = echoRun('server', frames.map((f) => rawFrame(f, 'server')), { streamFragments });
      expect(r.events.find((e) => e.type === 'error')).toMatchObject({ error: { code: 'ERR_WS_UTF8', closeCode: 1007, detail: { offset: 2 } } });
    }
  });
});

/**
 * A permessage-deflate stand-in built on node:zlib, without context takeover (each message
 * compressed and inflated on its own): RSV1 handling checked against zlib rather than our own
 * deflater (hosts/common/ws-deflater.ts, tested in ws-deflate.test.ts).
 */
class TestDeflater implements MessageDeflater {
  private pieces: Uint8Array[] = [];
  compress(data: Uint8Array): Uint8Array {
    const out = deflateRawSync(data, { finishFlush: zc.Z_SYNC_FLUSH });
    return out.subarray(0, out.length - 4);
  }
  decompress(data: Uint8Array, final: boolean, maxOutput: number): Uint8Array | undefined {
    this.pieces.push(data);
    if (!final) return new Uint8Array(0);
    const all = concat([...this.pieces, Uint8Array.of(0, 0, 0xff, 0xff)]);
    this.pieces = [];
    const out = inflateRawSync(all, { finishFlush: zc.Z_SYNC_FLUSH });
    return out.length > maxOutput ? undefined : new Uint8Array(out);
  }
}

describe('RSV1 with a MessageDeflater', () => {
  const compressed = (s: string | Uint8Array): Uint8Array => new TestDeflater().compress(typeof s === 'string' ? enc(s) : s);

  test('messages at or over the threshold are compressed (RSV1) and round-trip; small ones are not', () => {
    const { client, server } = machinePair({ deflater: new TestDeflater(), compressThreshold: 10 }, { deflater: new TestDeflater() });
    const long = 'a'.repeat(1000);
    client.send(long);
    client.send('short');
    const wire = client.pendingOutput();
    expect(decodeFrames(wire).map((f) => f.rsv)).toEqual([4, 0]);
    expect(wire[0]!.length).toBeLessThan(100);
    expect(norm(wire.flatMap((b) => server.receive(b, 1))).map((e) => (e as { data: unknown }).data)).toEqual([show(long), 'short']);
  });

  test('a compressed message in fragments: RSV1 on the first frame only', () => {
    const z = compressed('hello hello hello');
    const ok = echoRun('server', [rawFrame({ op: TEXT, payload: z.subarray(0, 3), fin: false, rsv: 4 }, 'server'), rawFrame({ op: CONT, payload: z.subarray(3) }, 'server')], { deflater: new TestDeflater() });
    expect(norm(ok.events)[0]).toEqual({ type: 'message', binary: false, data: 'hello hello hello', first: true, final: true });
    const bad = echoRun('server', [rawFrame({ op: TEXT, payload: z.subarray(0, 3), fin: false, rsv: 4 }, 'server'), rawFrame({ op: CONT, payload: z.subarray(3), rsv: 4 }, 'server')], { deflater: new TestDeflater() });
    expect(bad.events[0]).toMatchObject({ error: { code: 'ERR_WS_RSV', closeCode: 1002 } });
  });

  test('corrupt data is 1007, inflation past the limit 1009, invalid UTF-8 after inflation 1007', () => {
    const run = (payload: Uint8Array, op = BINARY, maxMessageSize = 1000) =>
      echoRun('server', [rawFrame({ op, payload, rsv: 4 }, 'server')], { deflater: new TestDeflater(), maxMessageSize }).events[0];
    expect(run(Uint8Array.of(0xff, 0xff, 0xff))).toMatchObject({ error: { code: 'ERR_WS_INFLATE', closeCode: 1007 } });
    expect(run(compressed(new Uint8Array(5000)))).toMatchObject({ error: { code: 'ERR_WS_MESSAGE_TOO_BIG', closeCode: 1009 } });
    expect(run(compressed(Uint8Array.of(0x61, 0xff)), TEXT)).toMatchObject({ error: { code: 'ERR_WS_UTF8', closeCode: 1007 } });
  });

  test('without a deflater RSV1 is a protocol error', () => {
    const r = echoRun('server', [rawFrame({ op: TEXT, payload: compressed('x'), rsv: 4 }, 'server')]);
    expect(r.events[0]).toMatchObject({ error: { code: 'ERR_WS_RSV', closeCode: 1002 } });
  });
});

// ---- properties

type Op =
  | { k: 'text'; s: string }
  | { k: 'bin'; b: Uint8Array }
  | { k: 'frag'; parts: string[] }
  | { k: 'ping'; b: Uint8Array }
  | { k: 'pong'; b: Uint8Array };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('text' as const), s: fc.string({ unit: 'binary', maxLength: 40 }) }),
  fc.record({ k: fc.constant('bin' as const), b: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ k: fc.constant('frag' as const), parts: fc.array(fc.string({ unit: 'binary', maxLength: 10 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ k: fc.constant('ping' as const), b: fc.uint8Array({ maxLength: 125 }) }),
  fc.record({ k: fc.constant('pong' as const), b: fc.uint8Array({ maxLength: 20 }) }),
);

function wireOf(from: WsRole, ops: readonly Op[], close: boolean): Uint8Array {
  const m = new WsConnection({ role: from, random: seededRandom(3) });
  m.open(0);
  for (const o of ops) {
    if (o.k === 'text') m.send(o.s);
    else if (o.k === 'bin') m.send(o.b);
    else if (o.k === 'frag') o.parts.forEach((p, i) => m.sendFragment(p, i === o.parts.length - 1));
    else if (o.k === 'ping') m.ping(o.b);
    else m.pong(o.b);
  }
  if (close) m.close(0, 1000, 'done');
  return concat(m.pendingOutput());
}

function feed(role: WsRole, chunks: readonly Uint8Array[], opts = {}): { events: unknown[]; out: number[] } {
  const m = new WsConnection({ role, random: seededRandom(9), ...opts });
  m.open(0);
  const events = chunks.flatMap((c) => m.receive(c, 1));
  return { events: norm(events), out: Array.from(concat(m.pendingOutput())) };
}

describe('properties', () => {
  test.each<WsRole>(['server', 'client'])('%s: every split of the stream at every byte gives identical events and output', (role) => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 5 }), fc.boolean(), fc.boolean(), (ops, close, streamFragments) => {
        const wire = wireOf(role === 'server' ? 'client' : 'server', ops, close);
        const whole = feed(role, [wire], { streamFragments });
        for (let cut = 0; cut <= wire.length; cut++) {
          expect(feed(role, [wire.subarray(0, cut), wire.subarray(cut)], { streamFragments })).toEqual(whole);
        }
        expect(feed(role, Array.from(wire, (x) => Uint8Array.of(x)), { streamFragments })).toEqual(whole);
      }),
      { numRuns: 60 },
    );
  });

  test('random chunkings of a valid stream give identical events; the messages are the ones sent', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }), (ops, sizes) => {
        const wire = wireOf('client', ops, true);
        const chunks: Uint8Array[] = [];
        for (let off = 0, i = 0; off < wire.length; i++) {
          const n = sizes[i % sizes.length]!;
          chunks.push(wire.subarray(off, off + n));
          off += n;
        }
        const a = feed('server', [wire]);
        expect(feed('server', chunks)).toEqual(a);
        const msgs = (a.events as Array<{ type: string; data: unknown }>).filter((e) => e.type === 'message').map((e) => e.data);
        const want = ops
          .filter((o) => o.k === 'text' || o.k === 'bin' || o.k === 'frag')
          .map((o) => (o.k === 'text' ? new TextDecoder().decode(enc(o.s)) : o.k === 'bin' ? Array.from(o.b) : new TextDecoder().decode(concat(o.parts.map(enc)))))
          .map((d) => (typeof d === 'string' && d.length > 256 ? expect.any(String) : d));
        expect(msgs).toEqual(want);
        expect((a.events as Array<{ type: string }>).at(-1)).toEqual({ type: 'close', code: 1000, reason: 'done', wasClean: true });
      }),
      { numRuns: 200 },
    );
  });

  test.each<WsRole>(['server', 'client'])('fuzz (%s): arbitrary and mutated bytes never throw, end in at most one close, and nothing after it', (role) => {
    const valid = fc.array(opArb, { maxLength: 4 }).map((ops) => wireOf(role === 'server' ? 'client' : 'server', ops, false));
    const mutated = fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })).map(([w, muts]) => {
      const b = w.slice();
      for (const [i, v] of muts) if (b.length) b[i % b.length] = v;
      return b;
    });
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
        fc.record({ streamFragments: fc.boolean(), maxMessageSize: fc.integer({ min: 1, max: 400 }), autoPong: fc.boolean() }),
        fc.boolean(),
        (bytes, sizes, opts, deflate) => {
          const m = new WsConnection({ role, random: seededRandom(5), ...opts, ...(deflate ? { deflater: new TestDeflater() } : {}) });
          m.open(0);
          const ev: WsEvent[] = [];
          for (let off = 0, i = 0; off < bytes.length; i++) {
            const n = sizes[i % sizes.length]!;
            ev.push(...m.receive(bytes.subarray(off, off + n), i));
            off += n;
          }
          const closes = ev.filter((e) => e.type === 'close');
          expect(closes.length).toBeLessThanOrEqual(1);
          if (closes.length) expect(ev.at(-1)!.type).toBe('close');
          for (const e of ev) if (e.type === 'error') expect(e.error).toBeInstanceOf(WsProtocolError);
          decodeFrames(m.pendingOutput());
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('a failure after a message in the same read', () => {
  test('the message can still be answered, and our Close follows it', () => {
    const server = new WsConnection({ role: 'server' });
    server.open(0);
    // a text message, then a frame with RSV2 set: one read
    const ev = server.receive(concat([rawFrame({ op: TEXT, payload: 'first' }, 'server'), rawFrame({ op: TEXT, payload: 'x', rsv: 2 }, 'server')]), 1);
    expect(types(ev)).toEqual(['message', 'error', 'close']);
    expect(server.canSend).toBe(true);
    server.send('first');
    const out = decodeFrames(server.pendingOutput());
    expect(out.map((f) => f.op)).toEqual([TEXT, 8]);
    expect((out[1]!.payload[0]! << 8) | out[1]!.payload[1]!).toBe(1002);
    expect(server.state).toBe('closed');
    expect(server.canSend).toBe(false);
    expect(() => server.send('late')).toThrow(UsageError);
  });
});
