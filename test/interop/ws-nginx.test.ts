/**
 * Our WebSocket client (wsConnect) through nginx's WebSocket proxy (`proxy_http_version 1.1`
 * with the Upgrade and Connection headers passed on), over ws:// and over wss:// with nginx
 * ending TLS, to two upstreams: the `ws` package's server and our own HttpServer 'ws' mount.
 * Messages of every length class (7-bit, 16-bit, 64-bit), ping/pong, the close handshake's code
 * and reason both ways, and permessage-deflate negotiated end to end through the proxy — nginx
 * logs the bytes it forwarded, so compression is seen on the wire, not assumed.
 */
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import { wsConnect } from '../../src/protocols/ws/ws-client.js';
import type { WsClientOptions } from '../../src/protocols/ws/ws-client.js';
import type { WsSocket } from '../../src/protocols/ws/ws-socket.js';
import type { LwsxError } from '../../src/util/errors.js';
import { waitFor } from '../helpers/wait.js';
import { startNginx } from '../peers/nginx.js';
import type { Nginx } from '../peers/nginx.js';
import { freePort, requirePeers } from '../peers/peers.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';

const { ok, peerTest } = requirePeers('ws client through nginx', ['nginx', 'openssl']);
const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };

/** What an upstream saw of one WebSocket, by request path. */
interface UpstreamSeen {
  extensions: string;
  error?: string;
  close?: { code: number; reason: string };
}

let pki: Pki;
let ctx: Context;
let nginx: Nginx;
let wsUpstream: WebSocketServer;
let ourUpstream: HttpServer;
let plainPort = 0;
let tlsPort = 0;
const seen = new Map<string, UpstreamSeen>();

/** "close:CODE:REASON" asks the upstream to close with that code and reason. */
function closeCommand(data: string): { code: number; reason: string } | undefined {
  const m = /^close:(\d+):(.*)$/.exec(data);
  return m ? { code: Number(m[1]), reason: m[2] as string } : undefined;
}

beforeAll(async () => {
  if (!ok) return;
  pki = await makePki();
  ctx = new Context({ host: await NodeHost.open(), board });

  // the ws package: echoes, closes on command; compresses only when the client offers
  wsUpstream = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
  await new Promise<void>((r) => wsUpstream.on('listening', () => r()));
  wsUpstream.on('connection', (s, req) => {
    const rec: UpstreamSeen = { extensions: s.extensions };
    seen.set(req.url ?? '', rec);
    // a frame it cannot take (say, bad deflate data) fails the connection, which the test sees
    s.on('error', (e) => { rec.error = e.message; });
    s.on('message', (d, binary) => {
      const cmd = binary ? undefined : closeCommand(d.toString());
      if (cmd) s.close(cmd.code, cmd.reason);
      else s.send(d, { binary });
    });
    s.on('close', (code, reason) => { rec.close = { code, reason: reason.toString() }; });
  });

  // our own server, the same behaviour
  ourUpstream = new HttpServer(ctx, {
    listen: { address: '127.0.0.1', port: 0 },
    mounts: [{
      kind: 'ws',
      prefix: '/',
      deflate: {},
      handlers: (x) => {
        const rec: UpstreamSeen = { extensions: '' };
        seen.set(x.head.target, rec);
        return {
          onOpen: () => { rec.extensions = x.head.headers.get('sec-websocket-extensions') === undefined ? '' : 'offered'; },
          onMessage: (ws, data) => {
            const cmd = typeof data === 'string' ? closeCommand(data) : undefined;
            if (cmd) ws.close(cmd.code, cmd.reason);
            else ws.send(data);
          },
          onClose: (_ws, code, reason) => { rec.close = { code, reason }; },
        };
      },
    }],
  });
  await (ourUpstream.listener as unknown as { bound(): Promise<number> }).bound();

  [plainPort, tlsPort] = [await freePort(), await freePort()];
  const proxy = (port: number): string => `
      proxy_pass http://127.0.0.1:${port}/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 60s;`;
  nginx = await startNginx(
    `
  log_format ws '$request_uri $status $bytes_sent';
  server {
    listen 127.0.0.1:${plainPort};
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${pki.server.chainFile}; ssl_certificate_key ${pki.server.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    access_log $DIR/ws.log ws;
    location /ws/ { ${proxy((wsUpstream.address() as AddressInfo).port)} }
    location /lws/ { ${proxy(ourUpstream.port)} }
  }`,
    plainPort,
  );
});

afterAll(async () => {
  await nginx?.stop();
  ourUpstream?.close();
  if (wsUpstream) await new Promise<void>((r) => wsUpstream.close(() => r()));
  ctx?.destroy();
  pki?.cleanup();
});

interface Client {
  open: boolean;
  messages: Array<string | Uint8Array>;
  pongs: Uint8Array[];
  close?: { code: number; reason: string; err: LwsxError | undefined };
  ws?: WsSocket;
}

let nextId = 0;

/** Our client to `/{upstream}/{name}-{n}` through nginx; the path names it to the upstream. */
function connect(upstream: 'ws' | 'lws', secure: boolean, name: string, extra: Partial<WsClientOptions> = {}): { c: Client; path: string } {
  const path = `/${upstream}/${name}-${nextId++}`;
  const c: Client = { open: false, messages: [], pongs: [] };
  const opts: WsClientOptions = secure
    ? { host: 'localhost', port: tlsPort, path, tls: { trust: [pki.ca.certDer] }, resolve: async () => ['127.0.0.1'], ...extra }
    : { host: '127.0.0.1', port: plainPort, path, ...extra };
  wsConnect(ctx, opts, {
    onOpen: (ws) => { c.open = true; c.ws = ws; },
    onMessage: (_ws, data) => c.messages.push(typeof data === 'string' ? data : data.slice()),
    onPong: (_ws, data) => c.pongs.push(data.slice()),
    onClose: (_ws, code, reason, err) => { c.close = { code, reason, err }; },
  });
  return { c, path };
}

/** What the upstream saw for our path (nginx strips the /ws or /lws prefix). */
const upstreamSaw = (path: string): UpstreamSeen | undefined => seen.get(path.replace(/^\/l?ws/, ''));

/** Bytes nginx sent to the client on `path`, from its log once the connection is over. */
async function bytesSent(path: string): Promise<number> {
  let line: string | undefined;
  await waitFor(`nginx to log ${path}`, () => {
    line = readFileSync(join(nginx.dir, 'ws.log'), 'utf8').split('\n').find((l) => l.startsWith(`${path} `));
    return line !== undefined;
  });
  const [, status, bytes] = (line as string).split(' ');
  expect(status).toBe('101');
  return Number(bytes);
}

const pattern = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
// every frame length class: 7-bit (0, 1, 125), 16-bit (126, 65535), 64-bit (65536, 1 MiB)
const SIZES = [0, 1, 125, 126, 65_535, 65_536, 1 << 20];

const cases = [
  ['ws package', 'ws', false],
  ['ws package', 'ws', true],
  ['lwsx HttpServer', 'lws', false],
  ['lwsx HttpServer', 'lws', true],
] as const;

describe.each(cases)('upstream: %s, %s', (_name, upstream, secure) => {
  const scheme = secure ? 'wss' : 'ws';

  peerTest(`${scheme}://: echo of every length class, text and binary; ping/pong; our close code and reason reach the upstream`, async () => {
    const { c, path } = connect(upstream, secure, 'echo');
    await waitFor('open', () => c.open);
    const ws = c.ws as WsSocket;
    const binaries = SIZES.map((n, i) => pattern(n, i));
    const texts = ['', 'héllo wörld ✓', '€'.repeat(40_000)];
    for (const b of binaries) ws.send(b);
    for (const t of texts) ws.send(t);
    await waitFor('the echoes', () => c.messages.length === binaries.length + texts.length);
    binaries.forEach((b, i) => {
      const got = c.messages[i];
      expect(got).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got as Uint8Array).equals(Buffer.from(b))).toBe(true);
    });
    expect(c.messages.slice(binaries.length).map((m, i) => m === texts[i])).toEqual(texts.map(() => true));
    ws.ping('are you there?');
    ws.ping(new Uint8Array([0, 1, 2, 255]));
    await waitFor('the pongs', () => c.pongs.length === 2);
    expect(Buffer.from(c.pongs[0] as Uint8Array).toString()).toBe('are you there?');
    expect(Array.from(c.pongs[1] as Uint8Array)).toEqual([0, 1, 2, 255]);
    ws.close(4001, 'client says bye');
    await waitFor('our close', () => c.close !== undefined);
    expect(c.close).toEqual({ code: 4001, reason: expect.any(String), err: undefined });
    await waitFor('the upstream\'s close', () => upstreamSaw(path)?.close !== undefined);
    expect(upstreamSaw(path)?.close).toEqual({ code: 4001, reason: 'client says bye' });
  });

  peerTest(`${scheme}://: the upstream's close code and reason reach us`, async () => {
    const { c } = connect(upstream, secure, 'server-close');
    await waitFor('open', () => c.open);
    c.ws?.send('close:4002:server says bye ✓');
    await waitFor('close', () => c.close !== undefined);
    expect(c.close).toEqual({ code: 4002, reason: 'server says bye ✓', err: undefined });
  });

  peerTest(`${scheme}://: permessage-deflate negotiated through the proxy; what nginx forwards is compressed`, async () => {
    const text = 'the quick brown fox jumps over the lazy dog; '.repeat(1500);
    const run = async (deflate: boolean): Promise<number> => {
      const { c, path } = connect(upstream, secure, deflate ? 'deflate' : 'plain', deflate ? { deflate: {} } : {});
      await waitFor('open', () => c.open);
      for (let i = 0; i < 3; i++) c.ws?.send(text + i);
      c.ws?.send(new Uint8Array(65_536).fill(7));
      await waitFor('the echoes', () => c.messages.length === 4);
      // compared here, not by toEqual, so that a failure does not print 200 kB of text
      expect(c.messages.slice(0, 3).map((m, i) => (m === text + i ? 'same' : typeof m === 'string' ? `text of ${m.length}` : 'binary'))).toEqual(['same', 'same', 'same']);
      expect((c.messages[3] as Uint8Array).length).toBe(65_536);
      expect((c.messages[3] as Uint8Array).every((b) => b === 7)).toBe(true);
      if (upstream === 'ws') expect(upstreamSaw(path)?.extensions ?? '').toBe(deflate ? 'permessage-deflate' : '');
      else expect(upstreamSaw(path)?.extensions).toBe(deflate ? 'offered' : '');
      c.ws?.close(1000, 'done');
      await waitFor('close', () => c.close !== undefined);
      expect(c.close?.code).toBe(1000);
      // nginx counts the TLS records on wss, the plain frames on ws
      return bytesSent(path);
    };
    const raw = 3 * (text.length + 1) + 65_536;
    const plain = await run(false);
    const compressed = await run(true);
    expect(plain).toBeGreaterThan(raw);
    expect(compressed).toBeLessThan(raw / 20);
  });
});

peerTest('a path nginx has no upstream for: the upgrade is refused, onClose(1006) with ERR_WS_HS_STATUS 404', async () => {
  const c: Client = { open: false, messages: [], pongs: [] };
  wsConnect(ctx, { host: '127.0.0.1', port: plainPort, path: '/nowhere' }, {
    onOpen: () => { c.open = true; },
    onClose: (_ws, code, reason, err) => { c.close = { code, reason, err }; },
  });
  await waitFor('close', () => c.close !== undefined);
  expect(c.open).toBe(false);
  expect(c.close).toMatchObject({ code: 1006, err: { code: 'ERR_WS_HS_STATUS', detail: { status: 404 } } });
});
