/**
 * The simulated device's web server and ws client against real peers: node:http and the `ws`
 * package as clients of its status page and state stream, a `ws` server (plain and TLS) for its
 * client, two simulators streaming to each other, and the CLI end to end.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { bundleProgram, repoRoot } from '../helpers/bundle.js';
import { waitFor } from '../helpers/wait.js';
import { makePki } from '../peers/pki.js';
import type { Pki } from '../peers/pki.js';
import { Simulator } from '../../hosts/node/sim/simulator.js';
import type { SimEvent, SimulatorOptions } from '../../hosts/node/sim/simulator.js';
import type { DeviceStatus } from '../../hosts/node/sim/device-http.js';
import { SMD_CLASS_NETWORK } from '../../src/system/smd.js';
import { SYS_STATE_NAMES, SysState } from '../../src/system/states.js';
import { UsageError } from '../../src/util/errors.js';

const boardFile = join(repoRoot, 'targets/host-sim/board.json');
const runDir = join(repoRoot, '.lwsx-run');
// a clean checkout has no .lwsx-run yet (other suites create it too, in whatever order)
mkdirSync(runDir, { recursive: true });
let pki: Pki;
const sims: Simulator[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterAll(() => {
  pki.cleanup();
});
afterEach(() => {
  for (const s of sims.splice(0)) s.stop();
});

type WsEvent = Extract<SimEvent, { type: 'ws-client' }>;

interface Sim {
  sim: Simulator;
  events: SimEvent[];
  until(pred: (e: SimEvent) => boolean, what?: string): Promise<SimEvent>;
}

function simulator(opts: Partial<SimulatorOptions>): Sim {
  const events: SimEvent[] = [];
  const sim = new Simulator({ boardFile, logLevel: 'err', ...opts, onEvent: (e) => events.push(e) });
  sims.push(sim);
  const until = async (pred: (e: SimEvent) => boolean, what = 'a simulator event'): Promise<SimEvent> => {
    await waitFor(what, () => events.some(pred), 15_000);
    return events.find(pred) as SimEvent;
  };
  return { sim, events, until };
}

/** Boots a simulator with its web server on a free port; resolves with the port once OPERATIONAL. */
async function bootWithHttp(http: SimulatorOptions['http'] = { port: 0 }, more: Partial<SimulatorOptions> = {}): Promise<Sim & { port: number }> {
  const s = simulator({ ...more, http });
  await s.sim.start();
  const h = (await s.until((e) => e.type === 'http', 'http listening')) as Extract<SimEvent, { type: 'http' }>;
  await s.until((e) => e.type === 'operational', 'OPERATIONAL');
  return { ...s, port: h.port };
}

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Viewer {
  sock: WebSocket;
  got: Array<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

function viewer(port: number, protocols: string[] = ['lws-state']): Promise<Viewer> {
  return new Promise((resolve, reject) => {
    const sock = new WebSocket(`ws://127.0.0.1:${port}/ws`, protocols, { perMessageDeflate: false });
    const got: Array<Record<string, unknown>> = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => sock.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    sock.on('message', (d) => got.push(JSON.parse(d.toString()) as Record<string, unknown>));
    sock.on('open', () => resolve({ sock, got, closed }));
    sock.on('error', reject);
  });
}

const wsEvents = (events: SimEvent[]): WsEvent[] => events.filter((e): e is WsEvent => e.type === 'ws-client');
const texts = (events: SimEvent[]): string[] => wsEvents(events).flatMap((e) => (e.event === 'message' && e.text !== undefined ? [e.text] : []));

describe('the status page and status.json', () => {
  test('GET / and /status.json show the identity, OPERATIONAL and the timeline; other paths and methods are refused', async () => {
    const d = await bootWithHttp();
    const json = await get(d.port, '/status.json');
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json');
    const st = JSON.parse(json.body) as DeviceStatus;
    expect(st).toMatchObject({ board: 'host-sim', serial: 'SIM-000001', firmwareVersion: '0.1.0', deviceType: 'lwsx-host-sim', host: 'node', boot: 1, state: 'OPERATIONAL', wsClients: 0 });
    const steps = st.timeline.filter((e) => e.kind === 'step').map((e) => e.state);
    expect(steps.at(-1)).toBe('OPERATIONAL');
    expect(steps).toContain('TIME_VALID');
    expect(st.timeline.some((e) => e.kind === 'held' && e.heldBy === 'sntp' && e.state === 'TIME_VALID')).toBe(true);
    // times since boot never go backwards
    for (let i = 1; i < st.timeline.length; i++) expect(st.timeline[i]!.sinceBootMs).toBeGreaterThanOrEqual(st.timeline[i - 1]!.sinceBootMs);

    const page = await get(d.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toMatch(/<h1>host-sim SIM-000001<\/h1>/);
    expect(page.body).toMatch(/state <b id=state>OPERATIONAL<\/b>/);
    expect(page.body).toMatch(/<td>TIME_VALID<\/td><td>held by sntp<\/td>/);
    // no external assets
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);

    const head = await get(d.port, '/status.json', 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(100);
    expect(head.body).toBe('');
    expect((await get(d.port, '/nope')).status).toBe(404);
    const post = await get(d.port, '/status.json', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
  });

  test('a port already in use is a typed ERR_LISTEN error event', async () => {
    const taken = createNetServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as AddressInfo).port;
    const s = simulator({ http: { port } });
    await s.sim.start();
    const e = await s.until((x) => x.type === 'error', 'the listen error');
    expect(e).toMatchObject({ type: 'error', code: 'ERR_LISTEN' });
    await new Promise<void>((r) => taken.close(() => r()));
  });
});

describe('the /ws state stream', () => {
  test('many clients get the snapshot, SMD messages, then CONTEXT_DESTROYING and 1001 at reboot; the next boot serves the same port', async () => {
    const d = await bootWithHttp();
    const vs = await Promise.all([viewer(d.port), viewer(d.port), viewer(d.port), viewer(d.port, [])]);
    await waitFor('snapshots', () => vs.every((v) => v.got.length === 1));
    expect(vs.map((v) => v.sock.protocol)).toEqual(['lws-state', 'lws-state', 'lws-state', '']);
    for (const v of vs) expect(v.got[0]).toMatchObject({ type: 'snapshot', serial: 'SIM-000001', boot: 1, state: 'OPERATIONAL' });
    expect(JSON.parse((await get(d.port, '/status.json')).body)).toMatchObject({ wsClients: 4 });

    // other SMD classes are forwarded as they are delivered
    expect(d.sim.ctx?.smd.send(SMD_CLASS_NETWORK, '{"link":"up"}')).toBe(true);
    await waitFor('smd', () => vs.every((v) => v.got.length === 2));
    for (const v of vs) expect(v.got[1]).toMatchObject({ type: 'smd', boot: 1, cls: SMD_CLASS_NETWORK, payload: '{"link":"up"}' });

    d.sim.board?.ops.reboot?.();
    for (const v of vs) expect(await v.closed).toEqual({ code: 1001, reason: 'device going away' });
    for (const v of vs) expect(v.got.at(-1)).toMatchObject({ type: 'state', boot: 1, from: 'OPERATIONAL', state: 'CONTEXT_DESTROYING' });

    const again = (await d.until((e) => e.type === 'http' && e.boot === 2, 'boot 2 listening')) as Extract<SimEvent, { type: 'http' }>;
    expect(again.port).toBe(d.port);
    const v2 = await viewer(d.port);
    await waitFor('snapshot', () => v2.got.length >= 1);
    expect(v2.got[0]).toMatchObject({ type: 'snapshot', boot: 2 });
    // the snapshot's steps then the state messages: every boot step exactly once, in order
    await waitFor('OPERATIONAL', () => v2.got.some((m) => m['state'] === 'OPERATIONAL'));
    const snapSteps = (v2.got[0] as unknown as DeviceStatus).timeline.filter((e) => e.kind === 'step').map((e) => e.state);
    const streamed = v2.got.slice(1).flatMap((m) => (m['type'] === 'state' ? [m['state']] : []));
    expect([...snapSteps, ...streamed]).toEqual(SYS_STATE_NAMES.slice(SysState.PRE_PRIV_DROP, SysState.OPERATIONAL + 1));
    v2.sock.close();
    await v2.closed;
  });

  test('a client past maxWsClients is closed with 1013', async () => {
    const d = await bootWithHttp({ port: 0, maxWsClients: 1 });
    const a = await viewer(d.port);
    await waitFor('snapshot', () => a.got.length === 1);
    const b = await viewer(d.port);
    expect(await b.closed).toEqual({ code: 1013, reason: 'too many clients' });
    expect(b.got).toEqual([]);
    expect(d.sim.http?.stats.busyClosed).toBe(1);
    expect(d.sim.http?.wsClients).toBe(1);
    a.sock.close();
    await a.closed;
  });

  test('a client that stops reading is closed with 1008 once its backlog passes the cap; the others carry on', async () => {
    const cap = 16 * 1024;
    const d = await bootWithHttp({ port: 0, wsBacklogCap: cap });
    const slow = await viewer(d.port);
    const fast = await viewer(d.port);
    await waitFor('snapshots', () => slow.got.length === 1 && fast.got.length === 1);
    const sock = (slow.sock as unknown as { _socket: Socket })._socket;
    sock.pause();
    const http = d.sim.http!;
    const pad = 'x'.repeat(60_000);
    let sent = 0;
    // the kernel's buffers fill first (a few MB on loopback), then the device's backlog
    while (http.stats.slowClosed === 0 && sent < 2000) {
      http.publish({ type: 'test', n: sent++, pad });
      await new Promise((r) => setImmediate(r));
    }
    expect(http.stats.slowClosed).toBe(1);
    expect(http.wsClients).toBe(1);
    // once dropped it is sent nothing more, whatever is published
    for (let i = 0; i < 5; i++) http.publish({ type: 'test', n: sent++, pad });
    await waitFor('the fast client to read everything', () => fast.got.length === 1 + sent);
    expect(fast.got.at(-1)).toMatchObject({ type: 'test', n: sent - 1 });
    sock.resume();
    expect(await slow.closed).toEqual({ code: 1008, reason: 'too slow' });
    // it got, in order, everything queued before the close and nothing published after it
    const ns = slow.got.slice(1).map((m) => m['n']);
    expect(ns).toEqual(Array.from({ length: sent - 5 }, (_, i) => i));
    fast.sock.close();
    await fast.closed;
  });
});

describe('the device ws client', () => {
  test('one simulator streams its states to another, which reconnects after a reboot', async () => {
    const a = await bootWithHttp();
    const b = simulator({ wsClient: { url: `ws://127.0.0.1:${a.port}/ws`, protocol: 'lws-state', send: 'hello from b' } });
    await b.sim.start();
    await b.until((e) => e.type === 'ws-client' && e.event === 'open', 'b open');
    // the client starts once b is OPERATIONAL, as lws client connections do
    const opIdx = b.events.findIndex((e) => e.type === 'operational');
    const connIdx = b.events.findIndex((e) => e.type === 'ws-client' && e.event === 'connecting');
    expect(opIdx).toBeGreaterThanOrEqual(0);
    expect(connIdx).toBeGreaterThan(opIdx);
    await waitFor('snapshot', () => texts(b.events).length >= 1);
    expect(JSON.parse(texts(b.events)[0]!)).toMatchObject({ type: 'snapshot', serial: 'SIM-000001', boot: 1, state: 'OPERATIONAL' });
    expect(JSON.parse((await get(a.port, '/status.json')).body)).toMatchObject({ wsClients: 1 });

    a.sim.board?.ops.reboot?.();
    const closed = (await b.until((e) => e.type === 'ws-client' && e.event === 'close', 'b closed')) as WsEvent;
    expect(closed).toMatchObject({ event: 'close', code: 1001, reason: 'device going away' });
    expect(texts(b.events).map((t) => JSON.parse(t) as Record<string, unknown>).at(-1)).toMatchObject({ type: 'state', state: 'CONTEXT_DESTROYING', boot: 1 });
    const retry = (await b.until((e) => e.type === 'ws-client' && e.event === 'retry')) as Extract<WsEvent, { event: 'retry' }>;
    // the host-sim policy's "default" table starts at 1000 ms, with up to 20 % jitter
    expect(retry.delayMs).toBeGreaterThanOrEqual(1000);
    expect(retry.delayMs).toBeLessThanOrEqual(1200);
    await waitFor('boot 2 snapshot', () => texts(b.events).some((t) => (JSON.parse(t) as Record<string, unknown>)['boot'] === 2));
    expect(wsEvents(b.events).filter((e) => e.event === 'open')).toHaveLength(2);
  });

  test('retries follow the policy table and give up with ALL_RETRIES_FAILED past its conceal count', async () => {
    const policy = join(runDir, 'sim-http-retry-policy.json');
    writeFileSync(policy, JSON.stringify({ release: '01', retry: [{ default: { backoff: [10, 20], conceal: 2, jitterpc: 1 } }] }));
    const closedPort = createNetServer();
    await new Promise<void>((r) => closedPort.listen(0, '127.0.0.1', () => r()));
    const port = (closedPort.address() as AddressInfo).port;
    await new Promise<void>((r) => closedPort.close(() => r()));
    const s = simulator({ policyFile: policy, wsClient: { url: `ws://127.0.0.1:${port}/` } });
    await s.sim.start();
    await s.until((e) => e.type === 'ws-client' && e.event === 'failed', 'giving up');
    const seen = wsEvents(s.events).map((e) => e.event);
    expect(seen).toEqual(['connecting', 'close', 'retry', 'connecting', 'close', 'retry', 'connecting', 'close', 'failed']);
    const retries = wsEvents(s.events).filter((e): e is Extract<WsEvent, { event: 'retry' }> => e.event === 'retry');
    expect(retries.map((r) => r.failures)).toEqual([1, 2]);
    expect(retries[0]!.delayMs).toBe(10);
    expect(retries[1]!.delayMs).toBe(20);
    expect(wsEvents(s.events).find((e) => e.event === 'close')).toMatchObject({ code: 1006, errorCode: 'ERR_CONNECT_TCP' });
    expect(wsEvents(s.events).at(-1)).toMatchObject({ event: 'failed', code: 'ALL_RETRIES_FAILED', failures: 3 });
  });

  test('wss:// with --ws-ca trusts the test CA; without it the server is refused as untrusted', async () => {
    const https = createHttpsServer({ cert: pki.server.chainPem, key: pki.server.keyPem });
    const wss = new WebSocketServer({ server: https, perMessageDeflate: false });
    wss.on('connection', (sock) => {
      sock.send('greetings');
      sock.on('message', (m) => sock.send(`echo:${m.toString()}`));
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
    const url = `wss://localhost:${(https.address() as AddressInfo).port}/secure`;

    const ok = simulator({ wsClient: { url, caFile: pki.ca.certFile, send: 'ping' } });
    await ok.sim.start();
    await waitFor('greetings and echo', () => texts(ok.events).length === 2);
    expect(texts(ok.events)).toEqual(['greetings', 'echo:ping']);

    const refused = simulator({ wsClient: { url } });
    await refused.sim.start();
    const c = (await refused.until((e) => e.type === 'ws-client' && e.event === 'close', 'refusal')) as WsEvent;
    expect(c).toMatchObject({ code: 1006, errorCode: 'ERR_CONNECT_TLS', errorCause: 'ERR_TLS_UNTRUSTED' });
    ok.sim.stop();
    refused.sim.stop();
    await new Promise<void>((r) => wss.close(() => https.close(() => r())));
  });

  test('bad options are UsageErrors with stable codes, before anything opens', () => {
    const bad = (opts: Partial<SimulatorOptions>): unknown => {
      try {
        new Simulator({ boardFile, onEvent: () => {}, ...opts });
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const notCert = join(runDir, 'sim-http-not-a-cert.pem');
    writeFileSync(notCert, 'hello\n');
    const cases: Array<[Partial<SimulatorOptions>, string]> = [
      [{ wsClient: { url: 'http://127.0.0.1/' } }, 'ERR_WS_URL'],
      [{ wsClient: { url: 'not a url' } }, 'ERR_WS_URL'],
      [{ wsClient: { url: 'ws://127.0.0.1/#frag' } }, 'ERR_WS_URL'],
      [{ wsClient: { url: 'ws://u:p@127.0.0.1/' } }, 'ERR_WS_URL'],
      [{ wsClient: { url: 'ws://127.0.0.1/', protocol: 'two words' } }, 'ERR_WS_PROTOCOL_NAME'],
      [{ wsClient: { url: 'ws://127.0.0.1/', caFile: pki.ca.certFile } }, 'ERR_WS_OPTION'],
      [{ wsClient: { url: 'wss://127.0.0.1/', caFile: join(runDir, 'no-such-ca.pem') } }, 'ERR_WS_CA'],
      [{ wsClient: { url: 'wss://127.0.0.1/', caFile: notCert } }, 'ERR_WS_CA'],
      [{ http: { port: 70000 } }, 'ERR_HTTP_PORT'],
      [{ http: { port: 1.5 } }, 'ERR_HTTP_PORT'],
      [{ http: { port: 0, host: 'a b' } }, 'ERR_HTTP_HOST'],
      [{ http: { port: 0, wsBacklogCap: 0 } }, 'ERR_HTTP_OPTION'],
    ];
    for (const [opts, code] of cases) {
      const e = bad(opts);
      expect(e).toBeInstanceOf(UsageError);
      expect(e).toMatchObject({ code });
    }
    // a DER file is read as one certificate; an IPv6 literal loses its brackets
    writeFileSync(join(runDir, 'sim-http-ca.der'), pki.ca.certDer);
    expect(bad({ wsClient: { url: 'wss://[::1]:8443/a?b=c', caFile: join(runDir, 'sim-http-ca.der') } })).toBeUndefined();
  });
});

describe('the CLI', () => {
  let cli = '';
  beforeAll(() => {
    cli = bundleProgram('hosts/node/sim/main.ts', 'sim-http.mjs');
  });

  function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { cwd: repoRoot });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  test('--http-port 0 --ws-connect: status page, the ws client talks to a ws server, Ctrl-C closes it with 1001', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, handleProtocols: (p) => (p.has('lws-state') ? 'lws-state' : false) });
    await new Promise<void>((r) => wss.on('listening', () => r()));
    const seen: { protocol?: string; path?: string; got: string[]; close?: number } = { got: [] };
    wss.on('connection', (sock, req) => {
      seen.protocol = sock.protocol;
      seen.path = req.url ?? '';
      sock.on('message', (m) => seen.got.push(m.toString()));
      sock.on('close', (code) => (seen.close = code));
      sock.send('welcome');
    });
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/feed?x=1`;
    const child = spawn(process.execPath, [cli, '--json', '--http-port', '0', '--ws-connect', url, '--ws-protocol', 'lws-state', '--ws-send', 'hello'], { cwd: repoRoot });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const events = (): SimEvent[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SimEvent);
    await waitFor('welcome', () => texts(events()).includes('welcome'), 20_000);
    const http = events().find((e) => e.type === 'http') as Extract<SimEvent, { type: 'http' }>;
    expect(http.url).toBe(`http://127.0.0.1:${http.port}/`);
    const st = JSON.parse((await get(http.port, '/status.json')).body) as DeviceStatus;
    expect(st).toMatchObject({ state: 'OPERATIONAL', wsClient: { url, state: 'open', attempts: 1 } });
    await waitFor('hello', () => seen.got.length === 1);
    expect(seen).toMatchObject({ protocol: 'lws-state', path: '/feed?x=1', got: ['hello'] });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await waitFor('close at the server', () => seen.close !== undefined);
    expect(seen.close).toBe(1001);
    await new Promise<void>((r) => wss.close(() => r()));
  });

  test('the timeline prints where the web server listens', async () => {
    const r = await run(['--http-port', '0', '--exit-when-operational']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/http: listening on http:\/\/127\.0\.0\.1:\d+\/ \(status page, \/status\.json, ws \/ws\)/);
  });

  test('bad http and ws options exit 2 with their error code', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--ws-connect', 'http://127.0.0.1/'], /error ERR_WS_URL: --ws-connect "http:\/\/127\.0\.0\.1\/": scheme must be ws or wss/],
      [['--ws-send', 'x'], /error ERR_WS_OPTION: --ws-send needs --ws-connect/],
      [['--http-port', '0x50'], /error ERR_HTTP_PORT/],
      [['--http-host', '127.0.0.1'], /error ERR_HTTP_OPTION: --http-host needs --http-port/],
      [['--ws-connect', 'wss://localhost/', '--ws-ca', '/nonexistent/ca.pem'], /error ERR_WS_CA/],
    ];
    for (const [args, msg] of cases) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  });
});
