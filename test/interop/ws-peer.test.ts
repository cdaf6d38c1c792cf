/**
 * WebSocket interop with the `ws` package: our client against a ws server, and a ws client
 * against our server (an HttpServer 'ws' mount), over ws and wss. (permessage-deflate is not
 * wired yet: the handshake declines it.)
 */
import { WebSocket, WebSocketServer } from 'ws';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import { wsConnect } from '../../src/protocols/ws/ws-client.js';
import type { WsSocket } from '../../src/protocols/ws/ws-socket.js';
import type { LwsxError } from '../../src/util/errors.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';
import { waitFor } from '../helpers/wait.js';

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
let ctx: Context;
let pki: Pki;

beforeAll(async () => {
  pki = await makePki();
  ctx = new Context({ host: await NodeHost.open(), board });
});
afterAll(() => {
  ctx.destroy();
  pki.cleanup();
});

function echoServer(server?: ReturnType<typeof createHttpsServer>): Promise<{ port: number; wss: WebSocketServer; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const wss = server ? new WebSocketServer({ server, perMessageDeflate: false }) : new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (s, req) => {
      s.on('message', (data, isBinary) => s.send(data, { binary: isBinary }));
      if (req.headers['sec-websocket-protocol']) s.send(`proto:${s.protocol}`);
    });
    const done = (): void => resolve({ port: ((server ?? wss).address() as AddressInfo).port, wss, close: () => new Promise<void>((r) => { wss.close(() => (server ? server.close(() => r()) : r())); }) });
    if (server) server.listen(0, '127.0.0.1', done);
    else wss.on('listening', done);
  });
}

interface Seen { open: boolean; messages: Array<string | Uint8Array>; close?: { code: number; reason: string; err: LwsxError | undefined }; ws?: WsSocket }

function client(opts: Parameters<typeof wsConnect>[1]): Seen {
  const seen: Seen = { open: false, messages: [] };
  wsConnect(ctx, opts, {
    onOpen: (ws) => { seen.open = true; seen.ws = ws; },
    onMessage: (_ws, data) => seen.messages.push(typeof data === 'string' ? data : data.slice()),
    onClose: (_ws, code, reason, err) => { seen.close = { code, reason, err }; },
  });
  return seen;
}

test('our client ↔ ws server: text, binary, a 1 MB message, subprotocol, clean close', async () => {
  const srv = await echoServer();
  const s = client({ host: '127.0.0.1', port: srv.port, path: '/echo', protocols: ['lws-test', 'other'] });
  await waitFor('open', () => s.open);
  await waitFor('proto', () => s.messages.length === 1);
  expect(s.messages[0]).toBe('proto:lws-test');
  s.ws?.send('héllo wörld');
  s.ws?.send(new Uint8Array([1, 2, 3, 250]));
  const big = new Uint8Array(1_000_000).map((_, i) => i & 0xff);
  s.ws?.send(big);
  await waitFor('echoes', () => s.messages.length === 4);
  expect(s.messages[1]).toBe('héllo wörld');
  expect(Array.from(s.messages[2] as Uint8Array)).toEqual([1, 2, 3, 250]);
  expect(Buffer.from(s.messages[3] as Uint8Array).equals(Buffer.from(big))).toBe(true);
  s.ws?.close(1000, 'bye');
  await waitFor('close', () => s.close !== undefined);
  expect(s.close).toMatchObject({ code: 1000, err: undefined });
  await srv.close();
});

test('our client ↔ wss server (TLS with our DER trust store)', async () => {
  const srv = await echoServer(createHttpsServer({ cert: pki.server.chainPem, key: pki.server.keyPem }));
  const s = client({ host: 'localhost', port: srv.port, tls: { trust: [pki.ca.certDer] }, resolve: async () => ['127.0.0.1'] });
  await waitFor('open', () => s.open);
  s.ws?.send('over tls');
  await waitFor('echo', () => s.messages.length === 1);
  expect(s.messages[0]).toBe('over tls');
  s.ws?.close();
  await waitFor('close', () => s.close !== undefined);
  await srv.close();
});

test('a server that refuses the upgrade: onClose(1006) with ERR_WS_HS_STATUS', async () => {
  const http = new HttpServer(ctx, { listen: { address: '127.0.0.1', port: 0 }, mounts: [{ kind: 'callback', prefix: '/', handler: (x) => x.reply(403, 'no') }] });
  await (http.listener as unknown as { bound(): Promise<number> }).bound();
  const s = client({ host: '127.0.0.1', port: http.port });
  await waitFor('close', () => s.close !== undefined);
  expect(s.open).toBe(false);
  expect(s.close).toMatchObject({ code: 1006, err: { code: 'ERR_WS_HS_STATUS' } });
  http.close();
});

async function ourServer(tls = false): Promise<HttpServer> {
  const listen = tls ? { address: '127.0.0.1', port: 0, tls: { cert: pki.server.chainPem, key: pki.server.keyPem } } : { address: '127.0.0.1', port: 0 };
  const srv = new HttpServer(ctx, {
    listen,
    mounts: [
      {
        kind: 'ws',
        prefix: '/echo',
        protocols: ['lws-test'],
        handlers: () => ({ onMessage: (ws, data) => ws.send(data) }),
      },
    ],
  });
  await (srv.listener as unknown as { bound(): Promise<number> }).bound();
  return srv;
}

function wsClient(url: string, opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ got: Array<{ data: Buffer; binary: boolean }>; sock: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const sock = new WebSocket(url, ['lws-test'], { perMessageDeflate: false, ...opts });
    const got: Array<{ data: Buffer; binary: boolean }> = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => sock.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    sock.on('message', (data, binary) => got.push({ data: data as Buffer, binary }));
    sock.on('open', () => resolve({ got, sock, closed }));
    sock.on('error', reject);
  });
}

test('ws client ↔ our server: echo of text, binary, fragments and a 1 MB message; close', async () => {
  const srv = await ourServer();
  const c = await wsClient(`ws://127.0.0.1:${srv.port}/echo`);
  expect(c.sock.protocol).toBe('lws-test');
  c.sock.send('text ✓');
  c.sock.send(Buffer.from([9, 8, 7]));
  c.sock.send('frag', { fin: false });
  c.sock.send('ment', { fin: true });
  const big = Buffer.alloc(1_000_000, 0x61);
  c.sock.send(big);
  await waitFor('echoes', () => c.got.length === 4);
  expect(c.got[0]).toEqual({ data: Buffer.from('text ✓'), binary: false });
  expect(c.got[1]).toEqual({ data: Buffer.from([9, 8, 7]), binary: true });
  expect(c.got[2]?.data.toString()).toBe('fragment');
  expect(c.got[3]?.data.equals(big)).toBe(true);
  c.sock.close(1000, 'done');
  expect(await c.closed).toEqual({ code: 1000, reason: '' });
  srv.close();
});

test('closed ws connections are released by the server (no leak per client)', async () => {
  const srv = await ourServer();
  for (let i = 0; i < 20; i++) {
    const c = await wsClient(`ws://127.0.0.1:${srv.port}/echo`);
    c.sock.close(1000);
    await c.closed;
  }
  const open = await wsClient(`ws://127.0.0.1:${srv.port}/echo`);
  // accepting a connection prunes the closed ones: only the open one (and none of the 20) remains
  await waitFor('released', () => srv.connections === 1);
  open.sock.close();
  await open.closed;
  srv.close();
});

test('ws client ↔ our server over wss; a bad frame is refused with 1002', async () => {
  const srv = await ourServer(true);
  const c = await wsClient(`wss://127.0.0.1:${srv.port}/echo`, { ca: pki.ca.certPem });
  c.sock.send('secure');
  await waitFor('echo', () => c.got.length === 1);
  expect(c.got[0]?.data.toString()).toBe('secure');
  // a frame with RSV2 set: the server must fail the connection with 1002
  (c.sock as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0xa1, 0x80, 0, 0, 0, 0]));
  const closed = await c.closed;
  expect(closed.code).toBe(1002);
  srv.close();
});

describe('permessage-deflate (hosts/common on our side, zlib on ws)', () => {
  const text = 'compress me please, '.repeat(2000);

  test.each([
    ['context takeover', {}],
    ['no context takeover either way', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
  ])('our client ↔ ws server, %s', async (_name, deflate) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
    await new Promise<void>((r) => wss.on('listening', () => r()));
    let extensions = '';
    wss.on('connection', (s, req) => {
      extensions = String(req.headers['sec-websocket-extensions'] ?? '');
      s.on('message', (d, bin) => s.send(d, { binary: bin }));
    });
    const s = client({ host: '127.0.0.1', port: (wss.address() as AddressInfo).port, deflate });
    await waitFor('open', () => s.open);
    for (let i = 0; i < 3; i++) s.ws?.send(text + i);
    s.ws?.send(new Uint8Array(50_000).fill(3));
    await waitFor('echoes', () => s.messages.length === 4);
    expect(extensions).toMatch(/permessage-deflate/);
    expect(s.messages.slice(0, 3)).toEqual([text + 0, text + 1, text + 2]);
    expect((s.messages[3] as Uint8Array).every((b) => b === 3)).toBe(true);
    s.ws?.close();
    await waitFor('close', () => s.close !== undefined);
    await new Promise<void>((r) => wss.close(() => r()));
  });

  test('ws client ↔ our server, with and without context takeover', async () => {
    const srv = new HttpServer(ctx, {
      listen: { address: '127.0.0.1', port: 0 },
      mounts: [{ kind: 'ws', prefix: '/', protocols: ['lws-test'], deflate: {}, handlers: () => ({ onMessage: (ws, data) => ws.send(data) }) }],
    });
    await (srv.listener as unknown as { bound(): Promise<number> }).bound();
    for (const pmd of [{ threshold: 0 }, { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true }]) {
      const c = await wsClient(`ws://127.0.0.1:${srv.port}/`, { perMessageDeflate: pmd });
      expect(c.sock.extensions).toMatch(/permessage-deflate/);
      for (let i = 0; i < 3; i++) c.sock.send(text + i);
      await waitFor('echoes', () => c.got.length === 3);
      expect(c.got.map((g) => g.data.toString())).toEqual([text + 0, text + 1, text + 2]);
      c.sock.close();
      await c.closed;
    }
    srv.close();
  });
});
