/**
 * Our HTTP/1.1 client (H1Client on a wsi, NodeHost) against nginx: keep-alive, chunked
 * responses, a body in many reads, TLS 1.2 and TLS 1.3 with our trust store, and a server that
 * is not there.
 */
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpClientConnection, httpFetch } from '../../src/protocols/h1/http-client.js';
import { utf8Decode } from '../../src/util/utf8.js';
import { startNginx } from '../peers/nginx.js';
import type { Nginx } from '../peers/nginx.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';
import { freePort, requirePeers } from '../peers/peers.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const { ok, peerTest } = requirePeers('h1 client vs nginx', ['nginx', 'openssl']);
const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };

let nginx: Nginx;
let pki: Pki;
let plain = 0;
let tls12 = 0;
let tls13 = 0;
const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
const text = 'lorem ipsum dolor sit amet '.repeat(400);

beforeAll(async () => {
  if (!ok) return;
  pki = await makePki();
  [plain, tls12, tls13] = [await freePort(), await freePort(), await freePort()];
  nginx = await startNginx(
    `
  types { text/plain txt; text/html html; }
  log_format conn '$connection $request $status';
  server {
    listen 127.0.0.1:${plain};
    access_log $DIR/conn.log conn;
    keepalive_requests 100;
    root $ROOT;
    gzip on; gzip_min_length 1; gzip_types text/plain;
    location / { }
  }
  server {
    listen 127.0.0.1:${tls12} ssl;
    ssl_certificate ${pki.server.chainFile}; ssl_certificate_key ${pki.server.keyFile};
    ssl_protocols TLSv1.2;
    root $ROOT;
  }
  server {
    listen 127.0.0.1:${tls13} ssl;
    ssl_certificate ${pki.server.chainFile}; ssl_certificate_key ${pki.server.keyFile};
    ssl_protocols TLSv1.3;
    root $ROOT;
  }`,
    plain,
    { 'index.html': 'hello from nginx\n', 'big.bin': big, 'text.txt': text },
  );
});

afterAll(async () => {
  await nginx?.stop();
  pki?.cleanup();
});

async function withCtx<T>(fn: (ctx: Context) => Promise<T>): Promise<T> {
  const host = await NodeHost.open();
  const ctx = new Context({ host, board });
  try {
    return await fn(ctx);
  } finally {
    ctx.destroy();
  }
}

peerTest('several requests ride one kept-alive connection', async () => {
  await withCtx(async (ctx) => {
    const c = new HttpClientConnection(ctx, { host: '127.0.0.1', port: plain });
    for (let i = 0; i < 5; i++) {
      const r = await httpFetch(c, { path: `/index.html?i=${i}` });
      expect(r.head.status).toBe(200);
      expect(utf8Decode(r.body)).toBe('hello from nginx\n');
    }
    const nf = await httpFetch(c, { path: '/nope' });
    expect(nf.head.status).toBe(404);
    c.close();
  });
  const lines = readFileSync(join(nginx.dir, 'conn.log'), 'utf8').trim().split('\n');
  const conns = new Set(lines.map((l) => l.split(' ')[0]));
  expect(lines.length).toBe(6);
  expect(conns.size).toBe(1);
});

peerTest('a chunked response (gzip makes nginx chunk) and a 300 kB body in many reads', async () => {
  await withCtx(async (ctx) => {
    const c = new HttpClientConnection(ctx, { host: '127.0.0.1', port: plain });
    const gz = await httpFetch(c, { path: '/text.txt', headers: [['accept-encoding', 'gzip']] });
    expect(gz.head.status).toBe(200);
    expect(gz.head.chunked).toBe(true);
    expect(gz.head.headers.get('content-encoding')).toBe('gzip');
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(gz.body).toString()).toBe(text);
    const b = await httpFetch(c, { path: '/big.bin' });
    expect(b.head.contentLength).toBe(big.length);
    expect(Buffer.from(b.body).equals(Buffer.from(big))).toBe(true);
    const head = await httpFetch(c, { method: 'HEAD', path: '/big.bin' });
    expect(head.body.length).toBe(0);
    c.close();
  });
});

peerTest.each([
  ['TLS 1.2', () => tls12],
  ['TLS 1.3', () => tls13],
])('%s with the CA from a DER trust store', async (_name, port) => {
  await withCtx(async (ctx) => {
    const c = new HttpClientConnection(ctx, { host: 'localhost', port: port(), resolve: async () => ['127.0.0.1'], tls: { trust: [pki.ca.certDer] } });
    const r = await httpFetch(c, { path: '/index.html' });
    expect(r.head.status).toBe(200);
    expect(utf8Decode(r.body)).toBe('hello from nginx\n');
    c.close();
  });
});

peerTest('without the CA the TLS connection is refused with a typed error', async () => {
  await withCtx(async (ctx) => {
    const c = new HttpClientConnection(ctx, { host: 'localhost', port: tls13, resolve: async () => ['127.0.0.1'], tls: true });
    await expect(httpFetch(c, { path: '/' })).rejects.toMatchObject({ code: 'ERR_CONNECT_TLS', detail: { phase: 'tls', cause: 'ERR_TLS_UNTRUSTED' } });
  });
});

peerTest('a port where nothing listens fails with ERR_CONNECT_TCP', async () => {
  const dead = await freePort();
  await withCtx(async (ctx) => {
    const c = new HttpClientConnection(ctx, { host: '127.0.0.1', port: dead });
    await expect(httpFetch(c, { path: '/' })).rejects.toMatchObject({ code: 'ERR_CONNECT_TCP' });
  });
});
