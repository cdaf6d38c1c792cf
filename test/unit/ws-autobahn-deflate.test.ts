/**
 * The conformance suite's sections 12 and 13 (permessage-deflate, modelled on the Autobahn
 * testsuite: see ws-autobahn-deflate-cases.ts) run in memory: our client against our server,
 * both WsConnection machines with the hosts' deflater, the parameters settled by our own
 * handshake code from Autobahn's offers and accepts. Every message is compressed
 * (compressThreshold 0), the client auto-fragments as the case says, the server echoes.
 *
 * Besides the echo, each case checks what went over the wire: RSV1 on the first frame of each
 * message only, frames no longer than the auto-fragment size, and the negotiated parameters on
 * both sides equal. Also here: compressed messages streamed in pieces (sendFragment).
 */
import { wsDeflater } from '../../hosts/common/ws-deflater.js';
import { WsConnection, type WsEvent } from '../../src/protocols/ws/connection.js';
import { acceptHandshake, ClientHandshake } from '../../src/protocols/ws/handshake.js';
import type { DeflateOptions, DeflateParams } from '../../src/protocols/ws/extensions.js';
import { type DeflateCase, deflateCases, messageCount, SectionTally, slice } from './ws-autobahn-deflate-cases.js';
import { BINARY, CONT, decodeFrames, seededRandom, TEXT } from './ws-harness.js';

/** per case: Autobahn sends 1000 messages; here at most MAX_COUNT and BUDGET bytes */
const BUDGET = 64 * 1024;
const MAX_COUNT = 100;
const tally = new SectionTally();
const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);
const asString = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += latin1(b.subarray(i, i + 8192));
  return s;
};

/** Runs our handshake both ways: the parameters each side ends up with. */
function negotiate(offers: DeflateOptions[], accept: DeflateOptions): { client: DeflateParams; server: DeflateParams; extensions: string } {
  const ch = new ClientHandshake({ host: 'lws.test', random: seededRandom(11), deflate: offers });
  const hs = acceptHandshake(ch.request, { deflate: accept });
  const neg = ch.validateResponse(hs.response);
  if (!neg.deflate || !hs.negotiated.deflate || neg.extensions === undefined) throw new Error(`deflate was not negotiated: ${neg.extensions}`);
  return { client: neg.deflate, server: hs.negotiated.deflate, extensions: neg.extensions };
}

function pair(c: DeflateCase): { client: WsConnection; server: WsConnection; params: DeflateParams } {
  const n = negotiate(c.offers, c.accept);
  expect(n.client).toEqual(n.server);
  const client = new WsConnection({
    role: 'client',
    random: seededRandom(2),
    deflater: wsDeflater(n.client, 'client'),
    compressThreshold: 0,
    ...(c.autofrag ? { fragmentSize: c.autofrag } : {}),
  });
  const server = new WsConnection({ role: 'server', deflater: wsDeflater(n.server, 'server'), compressThreshold: 0 });
  client.open(0);
  server.open(0);
  return { client, server, params: n.client };
}

function runCase(c: DeflateCase): void {
  const { client, server } = pair(c);
  const count = messageCount(c.len, BUDGET, MAX_COUNT);
  let ptr = 0;
  let wire = 0;
  for (let i = 0; i < count; i++) {
    const msg = slice(c.corpus.data, ptr, c.len);
    ptr = (ptr + c.len) % c.corpus.data.length;
    if (c.corpus.binary) client.sendBinary(msg);
    else client.sendText(asString(msg));
    const out = client.pendingOutput();
    // the frames of one message: RSV1 on the first only, each within the auto-fragment size
    const frames = decodeFrames(out);
    frames.forEach((f, k) => {
      expect([f.op, f.rsv, f.fin]).toEqual([k === 0 ? (c.corpus.binary ? BINARY : TEXT) : CONT, k === 0 ? 4 : 0, k === frames.length - 1]);
      if (c.autofrag) expect(f.payload.length).toBeLessThanOrEqual(c.autofrag);
      wire += f.payload.length;
    });
    for (const b of out) {
      for (const e of server.receive(b, i)) {
        expect(e.type).toBe('message');
        if (e.type === 'message') server.send(e.data);
      }
    }
    const back: WsEvent[] = [];
    for (const b of server.pendingOutput()) back.push(...client.receive(b, i));
    expect(back).toHaveLength(1);
    const got = back[0]!;
    if (got.type !== 'message') throw new Error(`expected the echo, got ${got.type}`);
    if (c.corpus.binary) expect(Buffer.from(got.data as Uint8Array).equals(Buffer.from(msg))).toBe(true);
    else expect(got.data === asString(msg)).toBe(true);
  }
  client.close(count, 1000);
  for (const b of client.pendingOutput()) expect(server.receive(b, count).map((e) => e.type)).toEqual(['close']);
  for (const b of server.pendingOutput()) expect(client.receive(b, count)).toEqual([{ type: 'close', code: 1000, reason: '', wasClean: true }]);
  tally.add(c.section, count, count * c.len, wire);
}

const cases = deflateCases();
describe.each(['12', '13'])('section %s: permessage-deflate, our client ↔ our server', (sec) => {
  test.each(cases.filter((c) => c.id.startsWith(`${sec}.`)).map((c) => [`${c.id} ${c.len} B × ${messageCount(c.len, BUDGET, MAX_COUNT)}${c.autofrag ? `, frames of ${c.autofrag}` : ''}`, c] as const))(
    '%s',
    (_name, c) => runCase(c),
  );
});

afterAll(() => {
  process.stdout.write(tally.format('Autobahn 12/13 model, our client ↔ our server (in memory):'));
});

describe('negotiated parameters (13.x) as the handshake settles them', () => {
  test.each([
    [1, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    [2, { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    [3, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
    [4, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    [5, { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
    [6, { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
    [7, { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
  ] as const)('13.%i', (i, want) => {
    const c = cases.find((x) => x.id === `13.${i}.1`)!;
    expect(negotiate(c.offers, c.accept).client).toEqual(want);
  });

  test('13.7: a response that fits only the second offer is accepted under it', () => {
    const offers: DeflateOptions[] = [{ serverNoContextTakeover: true, serverMaxWindowBits: 8 }, { clientMaxWindowBits: true }];
    const ch = new ClientHandshake({ host: 'h', random: seededRandom(1), deflate: offers });
    const hs = acceptHandshake(ch.request, { deflate: { clientMaxWindowBits: 10 } });
    // the server skipped the first offer (it could not limit the client's window there)
    expect(hs.response.headers.find(([k]) => k === 'Sec-WebSocket-Extensions')?.[1]).toBe('permessage-deflate; client_max_window_bits=10');
    expect(ch.validateResponse(hs.response).deflate).toEqual({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 10 });
  });

  test('a response that fits none of several offers is refused', () => {
    const ch = new ClientHandshake({ host: 'h', random: seededRandom(1), deflate: [{ serverNoContextTakeover: true }, { serverMaxWindowBits: 9 }] });
    const res = { status: 101, reason: 'Switching Protocols', headers: [...acceptHandshake(ch.request).response.headers, ['Sec-WebSocket-Extensions', 'permessage-deflate'] as const] };
    expect(() => ch.validateResponse(res)).toThrow(expect.objectContaining({ code: 'ERR_WS_HS_EXTENSIONS' }));
  });
});

describe('compressed messages sent in pieces', () => {
  const both = (reset: boolean, bits = 15): { client: WsConnection; server: WsConnection } => {
    const p: DeflateParams = { serverNoContextTakeover: reset, clientNoContextTakeover: reset, serverMaxWindowBits: bits, clientMaxWindowBits: bits };
    const client = new WsConnection({ role: 'client', random: seededRandom(4), deflater: wsDeflater(p, 'client') });
    const server = new WsConnection({ role: 'server', deflater: wsDeflater(p, 'server'), streamFragments: true });
    client.open(0);
    server.open(0);
    return { client, server };
  };

  test.each([false, true])('sendFragment streams one compressed message: RSV1 on the first frame, each piece readable on arrival (no context takeover: %s)', (reset) => {
    const { client, server } = both(reset, 10);
    const pieces = ['{"temperature": 21.5, ', '"humidity": 40, ', '"temperature": 21.5, '.repeat(30), '"end": true}'];
    for (let round = 0; round < 3; round++) {
      const got: string[] = [];
      pieces.forEach((p, i) => {
        client.sendFragment(p, i === pieces.length - 1);
        const raw = client.pendingOutput();
        const frames = decodeFrames(raw);
        expect(frames).toHaveLength(1);
        expect([frames[0]!.op, frames[0]!.rsv]).toEqual([i === 0 ? TEXT : CONT, i === 0 ? 4 : 0]);
        // the piece inflates as soon as its frame arrives
        const ev = server.receive(raw[0]!, round * 10 + i);
        expect(ev).toHaveLength(1);
        const e = ev[0]!;
        if (e.type !== 'message') throw new Error(e.type);
        expect([e.first, e.final]).toEqual([i === 0, i === pieces.length - 1]);
        got.push(Buffer.from(e.data as Uint8Array).toString());
      });
      expect(got).toEqual(pieces);
    }
  });

  test('a piece below the threshold still compresses when more pieces follow; a lone small fragment does not', () => {
    const { client } = both(false);
    client.sendFragment('a', false);
    client.sendFragment('b', true);
    client.sendFragment('c', true);
    const frames = decodeFrames(client.pendingOutput());
    expect(frames.map((f) => [f.op, f.rsv, f.fin])).toEqual([
      [TEXT, 4, false],
      [CONT, 0, true],
      [TEXT, 0, true],
    ]);
    expect(Buffer.from(frames[2]!.payload).toString()).toBe('c');
  });

  test('fragmentSize cuts compressed and plain messages alike, and must be a positive whole number', () => {
    const p: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
    const client = new WsConnection({ role: 'client', random: seededRandom(4), deflater: wsDeflater(p, 'client'), fragmentSize: 7, compressThreshold: 100 });
    client.open(0);
    client.send('short, plain: under the threshold');
    const big = new Uint8Array(5000);
    seededRandom(5)(big);
    client.send(big);
    const frames = decodeFrames(client.pendingOutput());
    const plain = frames.filter((f) => f.op === TEXT || (f.op === CONT && frames.indexOf(f) < frames.findIndex((g) => g.op === BINARY)));
    expect(Buffer.concat(plain.map((f) => f.payload)).toString()).toBe('short, plain: under the threshold');
    expect(plain.every((f) => f.rsv === 0 && f.payload.length <= 7)).toBe(true);
    const firstBin = frames.findIndex((f) => f.op === BINARY);
    expect(frames[firstBin]!.rsv).toBe(4);
    expect(frames.slice(firstBin + 1).every((f) => f.op === CONT && f.rsv === 0 && f.payload.length <= 7)).toBe(true);
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      expect(() => new WsConnection({ role: 'server', fragmentSize: bad })).toThrow(expect.objectContaining({ code: 'ERR_WS_OPTION' }));
    }
  });
});
