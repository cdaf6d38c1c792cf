/**
 * The conformance suite's sections 1-7 and 9 (modelled on the Autobahn testsuite: the cases are
 * in test/unit/ws-autobahn-cases.ts) over loopback TCP, as Autobahn runs them:
 *
 *  (a) fuzzing client → our server (an HttpServer 'ws' mount echoing)
 *  (b) fuzzing client → a `ws` WebSocketServer echoing
 *  (c) our client (wsConnect, echoing) ← fuzzing server
 *  (d) a `ws` WebSocket client (echoing) ← fuzzing server
 *
 * The fuzzing peer is a raw node:net socket: it does a real upgrade handshake, writes each case's
 * frames byte-exact (masked towards a server; chopped per frame where the case says), reads and
 * parses what comes back, and ends the case as Autobahn does: a case that expects no Close gets
 * the fuzzer's Close 1000 once its echoes are in; a Close from the peer under test is answered;
 * a server under test must then drop the TCP connection, a client's is dropped by the fuzzer.
 *
 * Frames go out back to back, as Autobahn writes them (the peer under test may read several at
 * once, and must still echo what came before a failing frame in the same read). The 6.4.x
 * fail-fast cases write three pieces and want the 1007 Close before the third goes out.
 *
 * Outcomes are Autobahn's: OK (the echoed frames and the close code expected), NON-STRICT (what
 * Autobahn also accepts: an echo before the failure missing, a failure by dropping without a Close,
 * an empty Close where a code was expected, failing only at the end of the message in 6.4.x, a
 * server that leaves the TCP connection to the client), FAILED. Our pairings must be OK with the
 * exact payloads (Close reasons included) and the typed error our side reported. `ws`'s
 * deviations are information, printed at the end; it is asserted never FAILED (it is not, in any
 * case here: its only deviation is not failing fast in 6.4.x).
 *
 * Section 9's message sizes are divided by LARGE_SCALE (Autobahn's 16 MiB run in memory in
 * test/unit/ws-autobahn.test.ts).
 */
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import type { Mount } from '../../src/protocols/h1/mount.js';
import type { WsRole } from '../../src/protocols/ws/connection.js';
import { WsProtocolError } from '../../src/protocols/ws/errors.js';
import { wsConnect } from '../../src/protocols/ws/ws-client.js';
import type { WsHandlers } from '../../src/protocols/ws/ws-socket.js';
import type { LwsxError } from '../../src/util/errors.js';
import { autobahnSections, type Case, closeBody, failFastCases, type Out, outFrames } from '../unit/ws-autobahn-cases.js';
import { CLOSE, type DecodedFrame, rawFrame, show } from '../unit/ws-harness.js';

const LARGE_SCALE = 16;
/** how long an answer may take before the case is judged without it (never reached when all is well) */
const LIMIT_OURS_MS = 10_000;
const LIMIT_WS_MS = 2_000;
/** ws is given this long to fail a 6.4.x case before the fuzzer sends the rest */
const FAIL_FAST_WS_MS = 500;
/** our peers' close handshake timeout: no case waits on it, so a stuck one shows at once */
const CLOSE_TIMEOUT_US = 500_000;
const DEFAULT_LIMIT = 1024 * 1024;

type Result = 'OK' | 'NON-STRICT' | 'FAILED';

interface Pairing {
  key: 'a' | 'b' | 'c' | 'd';
  title: string;
  /** the role of the peer under test */
  role: WsRole;
  ours: boolean;
}
const PAIRINGS: readonly Pairing[] = [
  { key: 'a', title: 'fuzzing client → our server', role: 'server', ours: true },
  { key: 'b', title: 'fuzzing client → ws server', role: 'server', ours: false },
  { key: 'c', title: 'our client ← fuzzing server', role: 'client', ours: true },
  { key: 'd', title: 'ws client ← fuzzing server', role: 'client', ours: false },
];

// ---- the fuzzing peer's side of a connection

/** Parses the frames the peer under test sends, as they arrive. */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): DecodedFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: DecodedFrame[] = [];
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      let len = (b[1] as number) & 0x7f;
      let p = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        p = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        len = Number(b.readBigUInt64BE(2));
        p = 10;
      }
      const masked = ((b[1] as number) & 0x80) !== 0;
      const key = masked ? b.subarray(p, p + 4) : undefined;
      if (masked) p += 4;
      if (b.length < p + len) break;
      const payload = Uint8Array.from(b.subarray(p, p + len));
      if (key) for (let k = 0; k < len; k++) payload[k] = (payload[k] as number) ^ (key[k & 3] as number);
      const b0 = b[0] as number;
      out.push({ op: b0 & 0x0f, fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, masked, payload });
      this.buf = b.subarray(p + len);
    }
    return out;
  }
}

/** An upgraded connection as the fuzzer sees it: what came back, and whether it ended. */
class Wire {
  readonly frames: DecodedFrame[] = [];
  /** the peer under test sent FIN, reset, or the socket closed */
  ended = false;
  private readonly reader = new FrameReader();
  private wake: (() => void) | undefined;

  constructor(readonly sock: Socket, rest: Buffer) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.feed(d));
    // a reset after the peer under test dropped us is one of the ways a case ends
    sock.on('error', () => this.finish());
    sock.on('end', () => this.finish());
    sock.on('close', () => this.finish());
    if (rest.length) this.feed(rest);
  }

  get closeSeen(): boolean {
    return this.frames.some((f) => f.op === CLOSE);
  }

  write(b: Uint8Array): void {
    if (!this.ended && this.sock.writable) this.sock.write(b);
  }

  /** Resolves true once `cond()` holds, false if `ms` pass first. */
  async until(cond: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return true;
  }

  private feed(d: Buffer): void {
    this.frames.push(...this.reader.push(d));
    this.poke();
  }

  private finish(): void {
    this.ended = true;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const acceptKey = (key: string): string => createHash('sha1').update(key + GUID).digest('base64');

/** Reads an HTTP head off `sock`; resolves with the head and the bytes after it. */
function readHead(sock: Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let acc = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      acc = Buffer.concat([acc, d]);
      const end = acc.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      sock.off('error', reject);
      resolve({ head: acc.subarray(0, end).toString('latin1'), rest: acc.subarray(end + 4) });
    };
    sock.on('data', onData);
    sock.on('error', reject);
  });
}

/** Fuzzing client: connects and upgrades (checking the 101 and its accept key). */
async function dial(port: number, path: string): Promise<Wire> {
  const sock = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const key = Buffer.from(createHash('sha1').update(path).digest().subarray(0, 16)).toString('base64');
  const head = readHead(sock);
  sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const { head: h, rest } = await head;
  if (!/^HTTP\/1\.1 101 /.test(h)) throw new Error(`upgrade refused: ${h.split('\r\n')[0]}`);
  const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(h)?.[1];
  if (accept !== acceptKey(key)) throw new Error(`bad Sec-WebSocket-Accept ${accept}`);
  return new Wire(sock, rest);
}

/** Fuzzing server: answers each upgrade with a 101 and hands the connection to the waiting case. */
class FuzzServer {
  readonly server: Server;
  private waiting: ((w: Wire) => void) | undefined;

  constructor() {
    this.server = createServer((sock) => {
      sock.on('error', () => {});
      readHead(sock).then(({ head, rest }) => {
        const key = /\r\nsec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
        sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
        const w = new Wire(sock, rest);
        const take = this.waiting;
        this.waiting = undefined;
        if (take) take(w);
        else sock.destroy();
      }, () => sock.destroy());
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  /** The next upgraded connection (the caller starts the client under test right after). */
  accept(ms: number): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the client under test never connected')), ms);
      this.waiting = (w) => {
        clearTimeout(t);
        resolve(w);
      };
    });
  }
}

// ---- running a case

/** A case as the fuzzer plays it: the pieces of each frame, in order. */
interface Plan {
  id: string;
  section: string;
  /** per frame: its bytes in the writes the fuzzer makes */
  frames: Uint8Array[][];
  expect: Out[];
  /** 6.4.x: the Close must come before the last frame's bytes go out */
  failFast: boolean;
  maxMessageSize: number;
}

function chops(b: Uint8Array, size: number | undefined): Uint8Array[] {
  if (!size) return [b];
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

function planCase(id: string, section: string, c: Case, role: WsRole): Plan {
  return {
    id,
    section,
    frames: c.frames.map((f) => chops(rawFrame(f, role), c.chunk)),
    expect: c.expect,
    failFast: false,
    maxMessageSize: c.maxMessageSize ?? DEFAULT_LIMIT,
  };
}

function planFailFast(id: string, pieces: Uint8Array[]): Plan {
  return { id, section: '6', frames: pieces.map((p) => [p]), expect: [{ fail: 1007 }], failFast: true, maxMessageSize: DEFAULT_LIMIT };
}

interface Observed {
  frames: DecodedFrame[];
  /** a server under test dropped the TCP connection once the close handshake was over */
  dropped: boolean;
  /** 6.4.x: the Close came before the last piece was sent */
  early: boolean;
}


async function play(w: Wire, role: WsRole, plan: Plan, limitMs: number, failFastMs: number): Promise<Observed> {
  // frames begun: the loop stops early only once the peer under test closed
  let started = 0;
  for (let i = 0; i < plan.frames.length; i++) {
    if (w.closeSeen || w.ended) break;
    if (plan.failFast && i === plan.frames.length - 1) {
      await w.until(() => w.closeSeen || w.ended, failFastMs);
      if (w.closeSeen || w.ended) break;
    }
    started++;
    const pieces = plan.frames[i] as Uint8Array[];
    for (let k = 0; k < pieces.length; k++) {
      // let the peer under test read each chop on its own
      if (k > 0) await new Promise((r) => setImmediate(r));
      if (w.closeSeen || w.ended) break;
      w.write(pieces[k] as Uint8Array);
    }
  }
  const expectsClose = plan.expect.some((o) => 'fail' in o || o.op === CLOSE);
  let closedByMe = false;
  if (!expectsClose) {
    await w.until(() => w.frames.length >= plan.expect.length || w.closeSeen || w.ended, limitMs);
    if (!w.closeSeen && !w.ended) {
      w.write(rawFrame({ op: CLOSE, payload: closeBody(1000) }, role));
      closedByMe = true;
    }
  }
  await w.until(() => w.closeSeen || w.ended, limitMs);
  const theirs = w.frames.find((f) => f.op === CLOSE);
  // answer the peer's Close, echoing its code (§5.5.1)
  if (theirs && !closedByMe && !w.ended) w.write(rawFrame({ op: CLOSE, payload: theirs.payload.subarray(0, 2) }, role));
  let dropped = true;
  if (role === 'server') dropped = await w.until(() => w.ended, limitMs);
  else {
    w.sock.end();
    await w.until(() => w.ended, limitMs);
  }
  w.sock.destroy();
  return { frames: w.frames, dropped, early: !plan.failFast || started < plan.frames.length };
}

// ---- judging

type CloseSeen = number | 'empty' | 'none';
const closeOf = (payload: Uint8Array): CloseSeen => (payload.length >= 2 ? ((payload[0] as number) << 8) | (payload[1] as number) : 'empty');

interface Verdict {
  result: Result;
  why: string[];
}

/** What the fuzzer must receive: the expected frames, then the answer to its own Close when it sends one. */
function expectedFrames(expect: readonly Out[]): Array<{ op: number; payload: unknown }> {
  const out = outFrames(expect);
  if (!out.some((f) => f.op === CLOSE)) out.push({ op: CLOSE, payload: show(closeBody(1000)) });
  return out;
}

/** The close code the peer under test must send: the failure's, the one its Close echoes, or 1000 answering ours. */
function expectedClose(expect: readonly Out[]): CloseSeen {
  for (const o of expect) {
    if ('fail' in o) return o.fail;
    if (o.op === CLOSE) return closeOf(typeof o.payload === 'string' ? Buffer.from(o.payload) : (o.payload ?? new Uint8Array(0)));
  }
  return 1000;
}

/** Autobahn's judgement of one run (close frames by their code, as Autobahn compares them). */
function judge(plan: Plan, o: Observed, role: WsRole): Verdict {
  const why: string[] = [];
  const nonStrict: string[] = [];
  const exp = expectedFrames(plan.expect);
  const closeAt = o.frames.findIndex((f) => f.op === CLOSE);
  const data = (closeAt < 0 ? o.frames : o.frames.slice(0, closeAt)).map((f) => ({ op: f.op, payload: show(f.payload) }));
  const expData = exp.filter((f) => f.op !== CLOSE);
  const expFail = plan.expect.some((x) => 'fail' in x);
  const expCode = expectedClose(plan.expect);
  const got: CloseSeen = closeAt < 0 ? 'none' : closeOf(o.frames[closeAt]!.payload);

  const bad = o.frames.filter((f) => !f.fin || f.rsv !== 0 || f.masked !== (role === 'client'));
  if (bad.length) why.push(`${bad.length} frame(s) with FIN clear, RSV set or wrong masking`);
  if (closeAt >= 0 && closeAt < o.frames.length - 1) why.push('frames after its Close');
  const same = JSON.stringify(data) === JSON.stringify(expData);
  const prefix = data.length < expData.length && JSON.stringify(data) === JSON.stringify(expData.slice(0, data.length));
  if (!same) {
    if (expFail && prefix) nonStrict.push(`failed without ${expData.length - data.length} echo(es) owed before the bad frame`);
    else why.push(`sent ${JSON.stringify(data.map((f) => f.op))} where ${JSON.stringify(expData.map((f) => f.op))} was expected${data.length === expData.length ? ' (or other payloads)' : ''}`);
  }
  if (got !== expCode) {
    if (expFail && got === 'none' && o.dropped) nonStrict.push('dropped the connection without a Close');
    else if (got === 'empty' && typeof expCode === 'number') nonStrict.push(`empty Close where ${expCode} was expected`);
    else why.push(`close ${got} where ${expCode} was expected`);
  }
  if (!o.early) nonStrict.push('failed only once the whole message was in (not fail-fast)');
  if (!o.dropped) nonStrict.push('left the TCP connection open after the close handshake');
  if (why.length) return { result: 'FAILED', why: [...why, ...nonStrict] };
  if (nonStrict.length) return { result: 'NON-STRICT', why: nonStrict };
  return { result: 'OK', why: [] };
}

// ---- the peers under test

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
let ctx: Context;
let ourServer: HttpServer;
let wsServer: WebSocketServer;
let fuzz: FuzzServer;
let fuzzPort: number;

interface Report {
  code: number;
  err: LwsxError | undefined;
}
/** what our server's WebSockets reported, by request path */
const serverReports = new Map<string, Report>();
let seq = 0;

const echoHandlers = (onClose: (r: Report) => void): WsHandlers => ({
  // a message that came in the same read as the peer's Close is still answered (canSend)
  onMessage: (ws, data) => {
    if (ws.conn.canSend) ws.send(data);
  },
  onClose: (_ws, code, _reason, err) => onClose({ code, err }),
});

const limits = [...new Set([DEFAULT_LIMIT, ...autobahnSections(LARGE_SCALE).flatMap((s) => Object.values(s.cases).map((c) => c.maxMessageSize ?? DEFAULT_LIMIT))])];

beforeAll(async () => {
  ctx = new Context({ host: await NodeHost.open(), board });
  const mounts: Mount[] = limits.map((limit) => ({
    kind: 'ws',
    prefix: `/m${limit}/`,
    connection: { maxMessageSize: limit, closeTimeoutUs: CLOSE_TIMEOUT_US },
    handlers: (x) => {
      const path = x.path;
      return echoHandlers((r) => serverReports.set(path, r));
    },
  }));
  ourServer = new HttpServer(ctx, { listen: { address: '127.0.0.1', port: 0 }, mounts });
  await (ourServer.listener as unknown as { bound(): Promise<number> }).bound();
  wsServer = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wsServer.on('listening', () => r()));
  wsServer.on('connection', (s) => {
    s.on('error', () => {});
    s.on('message', (d, binary) => s.send(d as Buffer, { binary }));
  });
  fuzz = new FuzzServer();
  fuzzPort = await fuzz.listen();
});

const tally = new Map<string, Map<Pairing['key'], Record<Result, number>>>();
const wsNotes: Array<{ pairing: Pairing['key']; id: string; verdict: Verdict }> = [];

afterAll(async () => {
  ourServer.close();
  await new Promise<void>((r) => wsServer.close(() => r()));
  await new Promise<void>((r) => fuzz.server.close(() => r()));
  ctx.destroy();
  process.stdout.write(formatTally());
});

function count(section: string, p: Pairing['key'], r: Result): void {
  const bySection = tally.get(section) ?? new Map<Pairing['key'], Record<Result, number>>();
  const row = bySection.get(p) ?? { OK: 0, 'NON-STRICT': 0, FAILED: 0 };
  row[r]++;
  bySection.set(p, row);
  tally.set(section, bySection);
}

function formatTally(): string {
  const col = (r: Record<Result, number> | undefined): string => (r ? `${r.OK}/${r['NON-STRICT']}/${r.FAILED}` : '-').padStart(14);
  const lines = [
    `Autobahn 1-7, 9 model over loopback TCP (section 9 sizes ÷${LARGE_SCALE}), OK/NON-STRICT/FAILED per pairing:`,
    ...PAIRINGS.map((p) => `  (${p.key}) ${p.title}`),
    `${'section'.padEnd(8)} ${'cases'.padStart(5)} ${PAIRINGS.map((p) => `(${p.key})`.padStart(14)).join('')}`,
  ];
  const totals = new Map<Pairing['key'], Record<Result, number>>();
  let cases = 0;
  for (const [s, by] of [...tally].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    const n = Math.max(...[...by.values()].map((r) => r.OK + r['NON-STRICT'] + r.FAILED));
    cases += n;
    lines.push(`${s.padEnd(8)} ${String(n).padStart(5)} ${PAIRINGS.map((p) => col(by.get(p.key))).join('')}`);
    for (const [k, r] of by) {
      const t = totals.get(k) ?? { OK: 0, 'NON-STRICT': 0, FAILED: 0 };
      for (const x of ['OK', 'NON-STRICT', 'FAILED'] as const) t[x] += r[x];
      totals.set(k, t);
    }
  }
  lines.push(`${'total'.padEnd(8)} ${String(cases).padStart(5)} ${PAIRINGS.map((p) => col(totals.get(p.key))).join('')}`);
  // ws's deviations, grouped by what went wrong
  const groups = new Map<string, string[]>();
  for (const n of wsNotes) {
    const key = `(${n.pairing}) ${n.verdict.result}: ${n.verdict.why.join('; ')}`;
    groups.set(key, [...(groups.get(key) ?? []), n.id.split(' ')[0] as string]);
  }
  if (groups.size) lines.push('ws deviations:');
  for (const [k, ids] of groups) lines.push(`  ${k} — ${ids.join(', ')}`);
  return lines.join('\n') + '\n';
}

/** Connects the pairing's peers for one case and plays it; resolves with what the fuzzer saw and what our side reported. */
async function run(p: Pairing, plan: Plan): Promise<{ o: Observed; report: Report | undefined }> {
  const limitMs = p.ours ? LIMIT_OURS_MS : LIMIT_WS_MS;
  const failFastMs = p.ours ? LIMIT_OURS_MS : FAIL_FAST_WS_MS;
  let report: Report | undefined;
  let w: Wire;
  switch (p.key) {
    case 'a': {
      const path = `/m${plan.maxMessageSize}/${++seq}`;
      w = await dial(ourServer.port, path);
      const o = await play(w, p.role, plan, limitMs, failFastMs);
      // our server reports as its socket closes, which is before the fuzzer sees the end
      await w.until(() => serverReports.has(path), limitMs);
      return { o, report: serverReports.get(path) };
    }
    case 'b':
      w = await dial((wsServer.address() as AddressInfo).port, `/${++seq}`);
      return { o: await play(w, p.role, plan, limitMs, failFastMs), report: undefined };
    case 'c': {
      const accepted = fuzz.accept(limitMs);
      wsConnect(
        ctx,
        { host: '127.0.0.1', port: fuzzPort, path: `/${++seq}`, connection: { maxMessageSize: plan.maxMessageSize, closeTimeoutUs: CLOSE_TIMEOUT_US } },
        echoHandlers((r) => (report = r)),
      );
      w = await accepted;
      const o = await play(w, p.role, plan, limitMs, failFastMs);
      await w.until(() => report !== undefined, limitMs);
      return { o, report };
    }
    case 'd': {
      const accepted = fuzz.accept(limitMs);
      const ws = new WebSocket(`ws://127.0.0.1:${fuzzPort}/${++seq}`, { perMessageDeflate: false });
      ws.on('error', () => {});
      ws.on('message', (d, binary) => ws.send(d as Buffer, { binary }));
      w = await accepted;
      const o = await play(w, p.role, plan, limitMs, failFastMs);
      ws.terminate();
      return { o, report: undefined };
    }
  }
}

async function check(p: Pairing, plan: Plan): Promise<void> {
  const { o, report } = await run(p, plan);
  const verdict = judge(plan, o, p.role);
  count(plan.section, p.key, verdict.result);
  if (p.ours) {
    // strict: every frame exactly as the in-memory suite wants it, Close reasons included
    expect(o.frames.map((f) => ({ op: f.op, payload: show(f.payload) }))).toEqual(expectedFrames(plan.expect));
    expect(verdict).toEqual({ result: 'OK', why: [] });
    const code = expectedClose(plan.expect);
    if (plan.expect.some((x) => 'fail' in x)) {
      // no Close was received: the connection's close code is 1006 (RFC 6455 §7.1.5); ours is in the error
      expect(report?.code).toBe(1006);
      expect(report?.err).toBeInstanceOf(WsProtocolError);
      expect((report?.err as WsProtocolError).closeCode).toBe(code);
    } else expect(report).toEqual({ code: code === 'empty' ? 1005 : code, err: undefined });
    return;
  }
  if (verdict.result !== 'OK') wsNotes.push({ pairing: p.key, id: plan.id, verdict });
  expect(verdict).not.toMatchObject({ result: 'FAILED' });
}

// ---- the suite

const sections = autobahnSections(LARGE_SCALE);

describe.each(PAIRINGS.map((p) => [`(${p.key}) ${p.title}`, p] as const))('%s', (_t, p) => {
  for (const s of sections) {
    describe(`${s.n} ${s.title}`, () => {
      test.each(Object.entries(s.cases))('%s', (id, c) => check(p, planCase(id, s.n, c, p.role)));
      if (s.n === '6') test.each(failFastCases(p.role))('%s', (id, pieces) => check(p, planFailFast(id, pieces)));
    });
  }
});
