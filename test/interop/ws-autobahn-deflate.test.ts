/**
 * The conformance suite's sections 12 and 13 (permessage-deflate, modelled on the Autobahn
 * testsuite: test/unit/ws-autobahn-deflate-cases.ts) against the `ws` package and its zlib, over
 * loopback: our client against a ws echo server, and a ws client against our server (an
 * HttpServer 'ws' mount echoing). Our own pairing runs in memory in
 * test/unit/ws-autobahn-deflate.test.ts.
 *
 * Our client auto-fragments as the case says (fragmentSize); a ws client cannot, so it streams
 * each message in pieces of that size (send with fin: false), which ws compresses piece by piece.
 * ws offers one permessage-deflate element, so 13.7's three offers become its first.
 * Every message of a case is echoed back intact, or the case fails.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from 'ws';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import type { DeflateOptions } from '../../src/protocols/ws/extensions.js';
import { wsConnect } from '../../src/protocols/ws/ws-client.js';
import type { WsSocket } from '../../src/protocols/ws/ws-socket.js';
import { type DeflateCase, deflateCases, messageCount, SectionTally, slice } from '../unit/ws-autobahn-deflate-cases.js';

/** per case: Autobahn sends 1000 messages; over sockets here at most MAX_COUNT and BUDGET bytes */
const BUDGET = 32 * 1024;
const MAX_COUNT = 10;
const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
let ctx: Context;
const tallies = { client: new SectionTally(), server: new SectionTally() };

beforeAll(async () => {
  ctx = new Context({ host: await NodeHost.open(), board });
});
afterAll(() => {
  ctx.destroy();
  process.stdout.write(tallies.client.format('Autobahn 12/13 model, our client ↔ ws server:'));
  process.stdout.write(tallies.server.format('Autobahn 12/13 model, ws client ↔ our server:'));
});

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** What `ws` is told to offer or accept for our DeflateOptions (threshold 0: compress everything). */
function wsOptions(o: DeflateOptions): PerMessageDeflateOptions {
  const w: PerMessageDeflateOptions = { threshold: 0 };
  if (o.serverNoContextTakeover) w.serverNoContextTakeover = true;
  if (o.clientNoContextTakeover) w.clientNoContextTakeover = true;
  if (o.serverMaxWindowBits !== undefined) w.serverMaxWindowBits = o.serverMaxWindowBits;
  // ws offers client_max_window_bits by itself; a number limits (or, accepting, asks to limit) the client's window
  if (typeof o.clientMaxWindowBits === 'number') w.clientMaxWindowBits = o.clientMaxWindowBits;
  return w;
}

/** A queue of received messages that a case awaits one by one. */
class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: ((v: T) => void) | undefined;
  put(v: T): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(v);
    } else this.items.push(v);
  }
  next(what: string, ms = 10_000): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift() as T);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.waiter = (v) => {
        clearTimeout(t);
        resolve(v);
      };
    });
  }
}

function messages(c: DeflateCase): Uint8Array[] {
  const out: Uint8Array[] = [];
  let ptr = 0;
  for (let i = messageCount(c.len, BUDGET, MAX_COUNT); i > 0; i--) {
    out.push(slice(c.corpus.data, ptr, c.len));
    ptr = (ptr + c.len) % c.corpus.data.length;
  }
  return out;
}

async function ourClientWsServer(c: DeflateCase): Promise<void> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: wsOptions(c.accept) });
  await new Promise<void>((r) => wss.on('listening', () => r()));
  let extensions = '';
  wss.on('connection', (s, req) => {
    extensions = String(req.headers['sec-websocket-extensions'] ?? '');
    s.on('message', (d, bin) => s.send(d as Buffer, { binary: bin }));
  });
  const inbox = new Inbox<string | Uint8Array>();
  const closed = new Inbox<{ code: number; err: unknown }>();
  const ws = await new Promise<WsSocket>((resolve, reject) => {
    wsConnect(
      ctx,
      { host: '127.0.0.1', port: (wss.address() as AddressInfo).port, deflate: c.offers, connection: { compressThreshold: 0, ...(c.autofrag ? { fragmentSize: c.autofrag } : {}) } },
      {
        onOpen: (w) => resolve(w),
        onMessage: (_ws, data) => inbox.put(typeof data === 'string' ? data : data.slice()),
        onClose: (_ws, code, _reason, err) => {
          reject(new Error(`closed before it opened: ${code} ${String(err)}`));
          closed.put({ code, err });
        },
      },
    );
  });
  expect(extensions).toMatch(/^permessage-deflate/);
  const msgs = messages(c);
  for (const m of msgs) {
    ws.send(c.corpus.binary ? m : latin1(m));
    const got = await inbox.next(`echo in ${c.id}`);
    if (c.corpus.binary) expect(Buffer.from(got as Uint8Array).equals(Buffer.from(m))).toBe(true);
    else expect(got === latin1(m)).toBe(true);
  }
  ws.close(1000);
  expect(await closed.next('close')).toEqual({ code: 1000, err: undefined });
  await new Promise<void>((r) => wss.close(() => r()));
  tallies.client.add(c.section, msgs.length, msgs.length * c.len, 0);
}

async function wsClientOurServer(c: DeflateCase): Promise<void> {
  const srv = new HttpServer(ctx, {
    listen: { address: '127.0.0.1', port: 0 },
    mounts: [{ kind: 'ws', prefix: '/', deflate: c.accept, connection: { compressThreshold: 0 }, handlers: () => ({ onMessage: (ws, data) => ws.send(data) }) }],
  });
  await (srv.listener as unknown as { bound(): Promise<number> }).bound();
  const sock = new WebSocket(`ws://127.0.0.1:${srv.port}/`, { perMessageDeflate: wsOptions(c.offers[0] as DeflateOptions) });
  const inbox = new Inbox<{ data: Buffer; binary: boolean }>();
  sock.on('message', (data, binary) => inbox.put({ data: data as Buffer, binary }));
  const closed = new Promise<number>((r) => sock.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    sock.on('open', () => resolve());
    sock.on('error', reject);
  });
  expect(sock.extensions).toMatch(/^permessage-deflate/);
  const msgs = messages(c);
  for (const m of msgs) {
    const data = c.corpus.binary ? Buffer.from(m) : latin1(m);
    if (!c.autofrag) sock.send(data, { binary: c.corpus.binary });
    else {
      for (let off = 0; off < m.length; off += c.autofrag) {
        const piece = typeof data === 'string' ? data.slice(off, off + c.autofrag) : data.subarray(off, off + c.autofrag);
        sock.send(piece, { binary: c.corpus.binary, fin: off + c.autofrag >= m.length });
      }
    }
    const got = await inbox.next(`echo in ${c.id}`);
    expect(got.binary).toBe(c.corpus.binary);
    expect(got.data.equals(Buffer.from(m))).toBe(true);
  }
  sock.close(1000);
  expect(await closed).toBe(1000);
  srv.close();
  tallies.server.add(c.section, msgs.length, msgs.length * c.len, 0);
}

const cases = deflateCases();
const named = (sec: string): Array<readonly [string, DeflateCase]> =>
  cases
    .filter((c) => c.id.startsWith(`${sec}.`))
    .map((c) => [`${c.id} ${c.len} B × ${messageCount(c.len, BUDGET, MAX_COUNT)}${c.autofrag ? `, frames of ${c.autofrag}` : ''}`, c] as const);

describe.each(['12', '13'])('section %s', (sec) => {
  describe('our client ↔ ws server', () => {
    test.each(named(sec))('%s', (_n, c) => ourClientWsServer(c));
  });
  describe('ws client ↔ our server', () => {
    test.each(named(sec))('%s', (_n, c) => wsClientOurServer(c));
  });
});
