/**
 * The wsi pump on real loopback sockets (NodeHost): backlog and coalesced writeable callbacks,
 * rx pause/resume, connect phases with typed errors, validity ping/hangup, machine timers.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { Wsi } from '../../src/loop/wsi.js';
import type { WsiCallbacks, WsiMachine } from '../../src/loop/wsi.js';
import { LwsxError } from '../../src/util/errors.js';
import { freePort } from '../peers/peers.js';
import { waitFor } from '../helpers/wait.js';

/** A raw machine: what it is told to send goes out; what arrives is one event per chunk. */
class RawMachine implements WsiMachine<Uint8Array> {
  out: Uint8Array[] = [];
  pings = 0;
  deadline: number | undefined;
  timers = 0;
  closed = false;
  constructor(private readonly ping = true, private readonly failOn?: number) {}
  send(b: Uint8Array): void { this.out.push(b); }
  receive(bytes: Uint8Array): Uint8Array[] {
    if (this.failOn !== undefined && bytes.includes(this.failOn)) throw new LwsxError('ERR_TEST_PROTOCOL', 'bad byte');
    return [bytes.slice()];
  }
  pendingOutput(): Uint8Array[] { return this.out.splice(0); }
  nextDeadlineUs(): number | undefined { return this.deadline; }
  onTimer(): Uint8Array[] { this.timers++; this.deadline = undefined; return []; }
  get validityPing(): ((now: number) => void) | undefined {
    return this.ping ? () => { this.pings++; this.out.push(new Uint8Array([0x50])); } : undefined;
  }
}

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
let host: NodeHost;
let ctx: Context;
const servers: Server[] = [];
const conns = new Set<Socket>();

beforeEach(async () => {
  host = await NodeHost.open();
  ctx = new Context({ host, board });
});
afterEach(async () => {
  ctx.destroy();
  for (const c of conns) c.destroy();
  conns.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function server(onConn: (s: Socket) => void): Promise<number> {
  const s = createServer((c) => {
    conns.add(c);
    onConn(c);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

function recorder() {
  const rx: Uint8Array[] = [];
  const closes: Array<LwsxError | undefined> = [];
  let writables = 0;
  let connected = 0;
  const cb: WsiCallbacks<Uint8Array> = {
    onConnected: () => { connected++; },
    onEvents: (_w, ev) => { rx.push(...ev); },
    onWritable: () => { writables++; },
    onClose: (_w, e) => { closes.push(e); },
  };
  return { rx, closes, cb, get writables() { return writables; }, get connected() { return connected; }, bytes: () => rx.reduce((n, b) => n + b.length, 0) };
}

test('large writes are backlogged, never blocking, and arrive intact; writeable callbacks coalesce', async () => {
  const port = await server((s) => s.pipe(s));
  const r = recorder();
  const m = new RawMachine();
  const w = Wsi.connect(ctx, { host: '127.0.0.1', port, machine: m, callbacks: r.cb });
  await waitFor('connected', () => r.connected === 1);
  const big = new Uint8Array(4 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  for (let off = 0; off < big.length; off += 65536) m.send(big.subarray(off, off + 65536));
  w.flush();
  expect(w.backlogBytes).toBeGreaterThan(0); // the socket took what it had room for
  w.callOnWritable();
  w.callOnWritable();
  w.callOnWritable();
  await waitFor('echo', () => r.bytes() === big.length, 20_000);
  const got = new Uint8Array(big.length);
  let at = 0;
  for (const b of r.rx) { got.set(b, at); at += b.length; }
  expect(Buffer.from(got).equals(Buffer.from(big))).toBe(true);
  await waitFor('writable', () => r.writables === 1);
  expect(r.writables).toBe(1);
  w.close();
  expect(r.closes).toEqual([undefined]);
});

test('pauseRx stops delivery; resumeRx brings the rest', async () => {
  const payload = Buffer.alloc(1024 * 1024, 7);
  const port = await server((s) => s.end(payload));
  const r = recorder();
  const w = Wsi.connect(ctx, { host: '127.0.0.1', port, machine: new RawMachine(), callbacks: { ...r.cb, onEvents: (wsi, ev) => { r.rx.push(...ev); wsi.pauseRx(); } } });
  await waitFor('first chunk', () => r.rx.length === 1);
  await new Promise((res) => setTimeout(res, 50));
  expect(r.rx.length).toBe(1); // paused after the first chunk
  const cb2 = (): void => { w.resumeRx(); };
  while (r.bytes() < payload.length) {
    cb2();
    await new Promise((res) => setTimeout(res, 1));
  }
  expect(r.bytes()).toBe(payload.length);
});

test('connect tries each address in turn; all failing is ERR_CONNECT_TCP naming the phase', async () => {
  const dead = await freePort();
  const port = await server((s) => s.end('hi'));
  const r = recorder();
  // the resolver gives a dead address first (nothing listens there on that port), then a live one
  Wsi.connect(ctx, { host: 'svc.lws.test', port, resolve: async () => ['127.0.0.2', '127.0.0.1'], machine: new RawMachine(), callbacks: r.cb, name: 'c1' });
  // 127.0.0.2 is loopback too on Linux and the port is free there: refused at once
  await waitFor('data', () => r.bytes() === 2);
  expect(r.connected).toBe(1);

  const r2 = recorder();
  Wsi.connect(ctx, { host: '127.0.0.1', port: dead, machine: new RawMachine(), callbacks: r2.cb });
  await waitFor('close', () => r2.closes.length === 1);
  expect(r2.closes[0]).toMatchObject({ code: 'ERR_CONNECT_TCP', detail: { phase: 'tcp', address: '127.0.0.1', port: dead } });
  expect(r2.connected).toBe(0);
});

test('a name that does not resolve is ERR_CONNECT_DNS', async () => {
  const r = recorder();
  Wsi.connect(ctx, { host: 'nope.lws.test', port: 1, resolve: async () => { throw new LwsxError('ERR_DNS_NXDOMAIN', 'no such name'); }, machine: new RawMachine(), callbacks: r.cb });
  await waitFor('close', () => r.closes.length === 1);
  expect(r.closes[0]).toMatchObject({ code: 'ERR_CONNECT_DNS', detail: { phase: 'dns', host: 'nope.lws.test', cause: 'ERR_DNS_NXDOMAIN' } });
});

test('a TLS handshake that never completes times out in the tls phase', async () => {
  const port = await server(() => { /* accepts and says nothing */ });
  const r = recorder();
  Wsi.connect(ctx, { host: '127.0.0.1', port, tls: { verify: false }, timeouts: { tcp: 100, tls: 100 }, machine: new RawMachine(), callbacks: r.cb });
  await waitFor('close', () => r.closes.length === 1);
  expect(r.closes[0]).toMatchObject({ code: 'ERR_CONNECT_TIMEOUT', detail: { phase: 'tls' } });
});

test('a server that never answers fails in the first-response phase', async () => {
  const port = await server(() => {});
  const r = recorder();
  Wsi.connect(ctx, { host: '127.0.0.1', port, timeouts: { 'first-response': 150 }, machine: new RawMachine(), callbacks: r.cb });
  await waitFor('close', () => r.closes.length === 1);
  expect(r.connected).toBe(1);
  expect(r.closes[0]).toMatchObject({ code: 'ERR_CONNECT_TIMEOUT', detail: { phase: 'first-response' } });
});

test('validity: a silent peer gets the role ping, then a hang-up with ERR_VALIDITY_TIMEOUT', async () => {
  let seenPing = false;
  const port = await server((s) => { s.write('x'); s.on('data', (d) => { if (d.includes(0x50)) seenPing = true; }); });
  const r = recorder();
  const m = new RawMachine(true);
  Wsi.connect(ctx, { host: '127.0.0.1', port, validity: { secsSinceValidPing: 0.1, secsSinceValidHangup: 0.3 }, machine: m, callbacks: r.cb });
  await waitFor('close', () => r.closes.length === 1);
  expect(m.pings).toBe(1);
  expect(seenPing).toBe(true);
  expect(r.closes[0]).toMatchObject({ code: 'ERR_VALIDITY_TIMEOUT' });
});

test('validity: a peer that answers pings stays up', async () => {
  const port = await server((s) => s.pipe(s)); // echoes the ping: proof of life
  const r = recorder();
  const m = new RawMachine(true);
  const w = Wsi.connect(ctx, { host: '127.0.0.1', port, validity: { secsSinceValidPing: 0.05, secsSinceValidHangup: 0.2 }, machine: m, callbacks: r.cb });
  await waitFor('three pings answered', () => m.pings >= 3 && r.bytes() >= 3);
  expect(r.closes).toEqual([]);
  w.close();
});

test("the machine's own timer runs, and a machine's protocol error closes with that error", async () => {
  const port = await server((s) => { setTimeout(() => s.write(Buffer.from([1, 2, 0xee])), 50); });
  const r = recorder();
  const m = new RawMachine(false, 0xee);
  m.deadline = ctx.nowUs() + 20_000;
  Wsi.connect(ctx, { host: '127.0.0.1', port, machine: m, callbacks: r.cb });
  await waitFor('close', () => r.closes.length === 1);
  expect(m.timers).toBe(1);
  expect(r.closes[0]).toMatchObject({ code: 'ERR_TEST_PROTOCOL' });
});
