/**
 * Our HTTP/1.1 client (H1Client on a wsi, NodeHost) against nginx: keep-alive, chunked
 * responses, a body in many reads, TLS 1.2 and TLS 1.3 with our trust store, expired,
 * wrong-host, self-signed and untrusted servers each refused with its own code, and a server
 * that is not there. Mutual TLS (`ssl_verify_client on`): the Context's CLIENT_CERT_DER /
 * CLIENT_KEY_DER blobs are presented, nginx reports the DN it saw; without them nginx answers
 * 400; explicit credentials override the blobs; bad blobs fail before anything is sent.
 */
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { BlobType } from '../../src/system/blob.js';
import { HttpClientConnection, httpFetch } from '../../src/protocols/h1/http-client.js';
import { utf8Decode } from '../../src/util/utf8.js';
import { startNginx } from '../peers/nginx.js';
import type { Nginx } from '../peers/nginx.js';
import { makePki } from '../peers/pki.js';
import type { Pki, PkiCert } from '../peers/pki.js';
import { freePort, requirePeers } from '../peers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const { ok, peerTest } = requirePeers('h1 client vs nginx', ['nginx', 'openssl']);
const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };

let nginx: Nginx;
let pki: Pki;
let plain = 0;
let tls12 = 0;
let tls13 = 0;
let mtls12 = 0;
let mtls13 = 0;
/** servers with a bad certificate each, by the code our client must refuse it with */
const badPorts: Record<string, number> = {};
const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
const text = 'lorem ipsum dolor sit amet '.repeat(400);

beforeAll(async () => {
  if (!ok) return;
  pki = await makePki();
  [plain, tls12, tls13, mtls12, mtls13] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  // a client certificate required: nginx completes the handshake without one and answers 400
  const bad: Array<[string, PkiCert]> = [['ERR_TLS_EXPIRED', pki.expired], ['ERR_TLS_HOSTNAME', pki.wrongHost], ['ERR_TLS_SELF_SIGNED', pki.selfSigned], ['ERR_TLS_UNTRUSTED', pki.untrusted]];
  for (const [code] of bad) badPorts[code] = await freePort();
  const badServers = bad.map(([code, cert]) => `
  server {
    listen 127.0.0.1:${badPorts[code]} ssl;
    ssl_certificate ${cert.chainFile}; ssl_certificate_key ${cert.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    return 200 "should never be read\n";
  }`).join('');
  const mtls = (port: number, version: string): string => `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${pki.server.chainFile}; ssl_certificate_key ${pki.server.keyFile};
    ssl_protocols ${version};
    ssl_client_certificate ${pki.ca.certFile};
    ssl_verify_client on;
    access_log $DIR/mtls.log mtls;
    location / {
      add_header X-Client-DN $ssl_client_s_dn always;
      return 200 "dn=$ssl_client_s_dn verify=$ssl_client_verify proto=$ssl_protocol\n";
    }
  }`;
  nginx = await startNginx(
    `
  types { text/plain txt; text/html html; }
  log_format conn '$connection $request $status';
  log_format mtls '$request_uri $status';
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
  }
  ${mtls(mtls12, 'TLSv1.2')}
  ${mtls(mtls13, 'TLSv1.3')}
  ${badServers}`,
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

peerTest.each([['ERR_TLS_EXPIRED'], ['ERR_TLS_HOSTNAME'], ['ERR_TLS_SELF_SIGNED'], ['ERR_TLS_UNTRUSTED']])('a server whose certificate is refused: %s', async (code) => {
  await withCtx(async (ctx) => {
    const c = new HttpClientConnection(ctx, { host: 'localhost', port: badPorts[code] as number, resolve: async () => ['127.0.0.1'], tls: { trust: [pki.ca.certDer] } });
    await expect(httpFetch(c, { path: '/' })).rejects.toMatchObject({ code: 'ERR_CONNECT_TLS', detail: { phase: 'tls', cause: code } });
  });
});

peerTest('a port where nothing listens fails with ERR_CONNECT_TCP', async () => {
  const dead = await freePort();
  await withCtx(async (ctx) => {
    const c = new HttpClientConnection(ctx, { host: '127.0.0.1', port: dead });
    await expect(httpFetch(c, { path: '/' })).rejects.toMatchObject({ code: 'ERR_CONNECT_TCP' });
  });
});

describe('client certificates: nginx with ssl_verify_client on', () => {
  const fetchAt = (ctx: Context, port: number, tls: { clientCert?: Uint8Array | string; clientKey?: Uint8Array | string } = {}, path = '/') => {
    const c = new HttpClientConnection(ctx, { host: 'localhost', port, resolve: async () => ['127.0.0.1'], tls: { trust: [pki.ca.certDer], ...tls } });
    return httpFetch(c, { path }).finally(() => c.close());
  };
  const setBlobs = (ctx: Context, cert: Uint8Array, key: Uint8Array): void => {
    ctx.system.blobs.get(BlobType.CLIENT_CERT_DER).setDirect(cert);
    ctx.system.blobs.get(BlobType.CLIENT_KEY_DER).setDirect(key);
  };

  peerTest.each([
    ['TLS 1.2', () => mtls12, 'TLSv1.2'],
    ['TLS 1.3', () => mtls13, 'TLSv1.3'],
  ])('%s: the blobs are presented and nginx sees the device\'s DN; without them, 400', async (_name, port, proto) => {
    await withCtx(async (ctx) => {
      const none = await fetchAt(ctx, port());
      expect(none.head.status).toBe(400);
      expect(utf8Decode(none.body)).toContain('No required SSL certificate was sent');
      setBlobs(ctx, pki.client.certDer, pki.client.keyDer);
      const r = await fetchAt(ctx, port());
      expect(r.head.status).toBe(200);
      expect(r.head.headers.get('x-client-dn')).toBe('CN=lwsx-device');
      expect(utf8Decode(r.body)).toBe(`dn=CN=lwsx-device verify=SUCCESS proto=${proto}\n`);
    });
  });

  peerTest('explicit credentials (RSA, PKCS#1 PEM key) override the blobs', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const pkcs1 = createPrivateKey(pki.clientRsa.keyPem).export({ format: 'pem', type: 'pkcs1' }) as string;
    await withCtx(async (ctx) => {
      setBlobs(ctx, pki.client.certDer, pki.client.keyDer);
      const r = await fetchAt(ctx, mtls13, { clientCert: pki.clientRsa.certPem, clientKey: pkcs1 });
      expect(r.head.status).toBe(200);
      expect(r.head.headers.get('x-client-dn')).toBe('CN=lwsx-device-rsa');
    });
  });

  peerTest('a certificate from a CA nginx does not trust: 400, the certificate error', async () => {
    await withCtx(async (ctx) => {
      setBlobs(ctx, pki.untrusted.certDer, pki.untrusted.keyDer);
      const r = await fetchAt(ctx, mtls12);
      expect(r.head.status).toBe(400);
      expect(utf8Decode(r.body)).toContain('The SSL certificate error');
    });
  });

  peerTest('bad blobs fail the connection with ERR_TLS_CLIENT_CERT, before anything reaches nginx', async () => {
    const log = (): string => readFileSync(join(nginx.dir, 'mtls.log'), 'utf8');
    await withCtx(async (ctx) => {
      setBlobs(ctx, pki.client.certDer, pki.server.keyDer);
      await expect(fetchAt(ctx, mtls13, {}, '/bad-pair')).rejects.toMatchObject({ code: 'ERR_TLS_CLIENT_CERT', detail: { part: 'pair' } });
      setBlobs(ctx, new Uint8Array([0x30, 0x03, 1, 2, 3]), pki.client.keyDer);
      await expect(fetchAt(ctx, mtls13, {}, '/bad-cert')).rejects.toMatchObject({ code: 'ERR_TLS_CLIENT_CERT', detail: { part: 'cert' } });
      // then a good request: once nginx has logged it, it would have logged the bad ones first
      setBlobs(ctx, pki.client.certDer, pki.client.keyDer);
      expect((await fetchAt(ctx, mtls13, {}, '/good')).head.status).toBe(200);
    });
    await waitFor('nginx to log the good request', () => log().includes('/good 200'));
    expect(log()).not.toMatch(/\/bad-/);
  });
});
