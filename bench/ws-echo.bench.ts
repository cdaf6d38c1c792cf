/**
 * WebSocket echo, 16-byte binary messages, on loopback: lwsx client ↔ lwsx server against
 * `ws` client ↔ `ws` server, measured in the same run, with one message in flight and with 100.
 * After a warm-up, ROUNDS runs of each alternate (so a neighbour's load hits both alike) and
 * each figure is the median of its runs. Prints messages/s for each and the ratio lwsx ÷ ws
 * (above 1: lwsx is faster).
 */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { NodeHost } from '../hosts/node/host.js';
import { Context } from '../src/loop/context.js';
import { HttpServer } from '../src/protocols/h1/http-server.js';
import { wsConnect } from '../src/protocols/ws/ws-client.js';
import type { WsSocket } from '../src/protocols/ws/ws-socket.js';

const board = { description: { board: 'bench', identity: { serial: 'b', firmwareVersion: '1', deviceType: 'bench' }, interfaces: 'preconfigured' as const }, ops: {} };
const MSG = new Uint8Array(16).fill(7);
const ROUNDS = 5;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/** Sends `total` messages keeping `window` in flight; resolves with messages/s. */
function drive(send: () => void, onEcho: (fn: () => void) => void, total: number, window: number): Promise<number> {
  return new Promise((done) => {
    let sent = 0;
    let got = 0;
    const t0 = process.hrtime.bigint();
    onEcho(() => {
      got++;
      if (got === total) {
        done(total / (Number(process.hrtime.bigint() - t0) / 1e9));
        return;
      }
      if (sent < total) {
        sent++;
        send();
      }
    });
    for (; sent < Math.min(window, total); sent++) send();
  });
}

async function lwsxRate(total: number, window: number): Promise<number> {
  const ctx = new Context({ host: await NodeHost.open(), board });
  const srv = new HttpServer(ctx, {
    listen: { address: '127.0.0.1', port: 0 },
    mounts: [{ kind: 'ws', prefix: '/', handlers: () => ({ onMessage: (ws, data) => ws.send(data) }) }],
  });
  await (srv.listener as unknown as { bound(): Promise<number> }).bound();
  let echo: () => void = () => {};
  const ws = await new Promise<WsSocket>((ok, fail) =>
    wsConnect(ctx, { host: '127.0.0.1', port: srv.port }, {
      onOpen: (s) => ok(s),
      onMessage: () => echo(),
      onClose: (_s, _c, _r, err) => { if (err) fail(err); },
    }),
  );
  const rate = await drive(() => ws.send(MSG), (fn) => { echo = fn; }, total, window);
  ctx.destroy();
  return rate;
}

async function wsRate(total: number, window: number): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.on('listening', () => r()));
  wss.on('connection', (s) => s.on('message', (d, bin) => s.send(d, { binary: bin })));
  const c = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { perMessageDeflate: false });
  await new Promise<void>((r) => c.on('open', () => r()));
  let echo: () => void = () => {};
  c.on('message', () => echo());
  const rate = await drive(() => c.send(MSG), (fn) => { echo = fn; }, total, window);
  c.terminate();
  await new Promise<void>((r) => wss.close(() => r()));
  return rate;
}

export async function main(): Promise<void> {
  console.log('\nws echo, 16-byte binary messages on loopback (client and server in one process)');
  console.log(`${'in flight'.padEnd(12)} ${'lwsx msg/s'.padStart(12)} ${'ws msg/s'.padStart(12)} ${'lwsx ÷ ws'.padStart(10)}`);
  for (const [window, total] of [[1, 20_000], [100, 100_000]] as const) {
    // warm both up first, so neither is measured while V8 still compiles it
    await lwsxRate(2000, window);
    await wsRate(2000, window);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      a.push(await lwsxRate(total, window));
      b.push(await wsRate(total, window));
    }
    const ours = median(a);
    const theirs = median(b);
    console.log(`${String(window).padEnd(12)} ${Math.round(ours).toLocaleString('en-US').padStart(12)} ${Math.round(theirs).toLocaleString('en-US').padStart(12)} ${(ours / theirs).toFixed(2).padStart(10)}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
