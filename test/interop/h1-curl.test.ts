/**
 * curl against our HTTP/1.1 server (an H1Server per connection on a vhost listener, NodeHost):
 * GET from a files mount, POST with a body, chunked upload, keep-alive across requests,
 * redirects, errors, and TLS with the test CA.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directorySource } from '../../hosts/node/file-source.js';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import type { HttpExchange } from '../../src/protocols/h1/http-server.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';
import { requirePeers } from '../peers/peers.js';

const { ok, peerTest } = requirePeers('h1 server vs curl', ['curl', 'openssl']);
const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };

let ctx: Context;
let server: HttpServer;
let tlsServer: HttpServer;
let pki: Pki;
let dir: string;
const requests: string[] = [];

/** echoes the request body back with what the server saw */
function echo(x: HttpExchange): void {
  const parts: Uint8Array[] = [];
  x.onData = (d) => parts.push(d.slice());
  x.onEnd = () => {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const body = Buffer.concat(parts);
    x.reply(200, `${x.head.method} ${x.path} q=${x.query} chunked=${x.head.chunked} len=${n} body=${body.toString()}\n`, [['content-type', 'text/plain']]);
  };
}

beforeAll(async () => {
  if (!ok) return;
  pki = await makePki();
  dir = mkdtempSync(join(tmpdir(), 'lwsx-www-'));
  writeFileSync(join(dir, 'index.html'), '<h1>lwsx</h1>\n');
  writeFileSync(join(dir, 'data.json'), '{"ok":true}\n');
  const host = await NodeHost.open();
  ctx = new Context({ host, board });
  const mounts = [
    { kind: 'files' as const, prefix: '/', source: directorySource(dir) },
    { kind: 'callback' as const, prefix: '/echo', handler: (x: HttpExchange) => { requests.push(x.path); echo(x); } },
    { kind: 'redirect' as const, prefix: '/old', location: '/new', status: 301 as const },
  ];
  server = new HttpServer(ctx, { listen: { address: '127.0.0.1', port: 0 }, mounts });
  tlsServer = new HttpServer(ctx, { listen: { address: '127.0.0.1', port: 0, tls: { cert: pki.server.chainPem, key: pki.server.keyDer } }, mounts });
  await Promise.all([(server.listener as unknown as { bound(): Promise<number> }).bound?.(), (tlsServer.listener as unknown as { bound(): Promise<number> }).bound?.()]);
});

afterAll(() => {
  ctx?.destroy();
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function curl(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = execFile('curl', ['-sS', ...args], { timeout: 20_000 }, (e, out, err) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err }));
    if (input !== undefined) c.stdin?.end(input);
  });
}

const url = (p: string): string => `http://127.0.0.1:${server.port}${p}`;

peerTest('GET from a files mount, with content types; 404 for what is not there', async () => {
  const r = await curl(['-i', url('/')]);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(r.out).toMatch(/content-type: text\/html/i);
  expect(r.out.endsWith('<h1>lwsx</h1>\n')).toBe(true);
  expect((await curl([url('/data.json')])).out).toBe('{"ok":true}\n');
  expect((await curl(['-o', '/dev/null', '-w', '%{http_code}', url('/nope.txt')])).out).toBe('404');
  expect((await curl(['-o', '/dev/null', '-w', '%{http_code}', '--path-as-is', url('/../etc/passwd')])).out).toMatch(/^40[034]$/);
});

peerTest('POST with a body, query arguments, and a chunked upload', async () => {
  const post = await curl(['--data-binary', 'hello=world', url('/echo/form?a=1&b=%20x')]);
  expect(post.out).toBe('POST /echo/form q=a=1&b=%20x chunked=false len=11 body=hello=world\n');
  const chunked = await curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', url('/echo/up')], 'x'.repeat(100_000));
  expect(chunked.out).toBe(`POST /echo/up q= chunked=true len=100000 body=${'x'.repeat(100_000)}\n`);
});

peerTest('keep-alive: curl reuses one connection for several requests', async () => {
  const r = await curl(['-v', url('/echo/1'), url('/echo/2'), url('/index.html')]);
  expect(r.code).toBe(0);
  expect(r.err).toMatch(/Re-using existing connection/);
  expect(r.err.match(/Connected to 127\.0\.0\.1/g)?.length).toBe(1);
});

peerTest('redirects and a malformed request', async () => {
  const r = await curl(['-i', url('/old/page')]);
  expect(r.out).toMatch(/^HTTP\/1\.1 301/);
  expect(r.out).toMatch(/location: \/new\/page/i);
  const bad = await curl(['-i', '-H', 'Content-Length: 5', '-H', 'Transfer-Encoding: chunked', '--data-binary', 'hello', url('/echo/smuggle')]);
  expect(bad.out).toMatch(/^HTTP\/1\.1 400/);
});

peerTest('TLS: curl trusting the test CA', async () => {
  const r = await curl(['--cacert', pki.ca.certFile, `https://localhost:${tlsServer.port}/echo/tls`, '--resolve', `localhost:${tlsServer.port}:127.0.0.1`]);
  expect(r.code).toBe(0);
  expect(r.out).toBe('GET /echo/tls q= chunked=false len=0 body=\n');
  const untrusted = await curl([`https://localhost:${tlsServer.port}/`, '--resolve', `localhost:${tlsServer.port}:127.0.0.1`]);
  expect(untrusted.code).toBe(60); // curl: peer certificate cannot be authenticated
});
