/**
 * The server under test for bench/http-server.bench.ts, in a process of its own so the load
 * generator and the bench driver never share its thread. `node http-server.child.js lwsx|node`
 * listens on 127.0.0.1, an ephemeral port, prints `port N`, and serves until stdin closes.
 *
 * Both answer every request alike: 200, `content-type: text/plain`, the 13-byte body
 * "Hello, World!", keep-alive. node:http also sends Date and Keep-Alive fields of its own.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeHost } from '../hosts/node/host.js';
import { Context } from '../src/loop/context.js';
import { HttpServer } from '../src/protocols/h1/http-server.js';

const BODY = 'Hello, World!';

const board = { description: { board: 'bench', identity: { serial: 'b', firmwareVersion: '1', deviceType: 'bench' }, interfaces: 'preconfigured' as const }, ops: {} };

async function lwsx(): Promise<{ port: number; close(): void }> {
  const ctx = new Context({ host: await NodeHost.open(), board });
  const body = new TextEncoder().encode(BODY);
  const headers = [['content-type', 'text/plain']] as const;
  const srv = new HttpServer(ctx, {
    listen: { address: '127.0.0.1', port: 0 },
    // a long idle timeout, as node:http's keep-alive outlasts the run too
    h1: { idleTimeoutUs: 60_000_000 },
    mounts: [{ kind: 'callback', prefix: '/', handler: (x) => x.reply(200, body, headers) }],
  });
  const port = await (srv.listener as unknown as { bound(): Promise<number> }).bound();
  return { port, close: () => ctx.destroy() };
}

async function nodeHttp(): Promise<{ port: number; close(): void }> {
  const srv = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  srv.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as AddressInfo).port, close: () => srv.close() };
}

const kind = process.argv[2];
if (kind !== 'lwsx' && kind !== 'node') {
  process.stderr.write('usage: http-server.child.js lwsx|node\n');
  process.exit(2);
}
const server = kind === 'lwsx' ? await lwsx() : await nodeHttp();
process.stdout.write(`port ${server.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  process.exit(0);
});
