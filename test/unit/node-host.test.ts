/**
 * The Node host on real loopback sockets: TCP through its own listener (both directions,
 * backpressure, how a connection ends), UDP, the wake timer, the wakeup pair, and the small
 * things (clocks, entropy, interfaces). Every socket is closed by the end of its test.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { NodeHost } from '../../hosts/node/host.js';
import type { NodeListener } from '../../hosts/node/listener.js';
import type { NodeStream } from '../../hosts/node/tcp.js';
import type { NodeUdp } from '../../hosts/node/udp.js';
import type { SocketCallbacks } from '../../src/net/host.js';
import type { LwsxError } from '../../src/util/errors.js';
import { sleep, waitFor } from '../helpers/wait.js';

const text = (b: ArrayBuffer | undefined): string => (b ? Buffer.from(b).toString('latin1') : '');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

let host: NodeHost;
const cleanup: Array<() => void> = [];

beforeEach(async () => {
  host = await NodeHost.open();
});

afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
  host.close();
});

/**
 * A listener on 127.0.0.1 adopting every connection with the callbacks `onAccept` returns;
 * `self()` is the adopted stream, for use inside those callbacks.
 */
async function listen(onAccept: (self: () => NodeStream) => SocketCallbacks): Promise<{ l: NodeListener; accepted: NodeStream[] }> {
  const accepted: NodeStream[] = [];
  const l: NodeListener = host.listener({
    address: '127.0.0.1',
    port: 0,
    onReadable: () => {
      for (let a = l.read(); a; a = l.read()) {
        const held: { s?: NodeStream } = {};
        held.s = a.adopt(onAccept(() => held.s as NodeStream));
        accepted.push(held.s);
      }
    },
  });
  cleanup.push(() => { l.close(); for (const t of accepted) t.close(); });
  await l.bound();
  return { l, accepted };
}

describe('clocks, entropy, interfaces', () => {
  test('nowUs is a monotonic integer; wallUs is the unix clock in µs', async () => {
    const a = host.nowUs();
    await sleep(3);
    const b = host.nowUs();
    expect(Number.isInteger(a) && Number.isInteger(b)).toBe(true);
    expect(b).toBeGreaterThan(a);
    expect(Math.abs(host.wallUs() - Date.now() * 1000)).toBeLessThan(5_000_000);
  });

  test('random fills the whole buffer', () => {
    const x = new Uint8Array(64);
    const y = new Uint8Array(64);
    host.random(x);
    host.random(y);
    expect(Buffer.from(x).equals(Buffer.from(y))).toBe(false);
    expect(x.some((v) => v !== 0)).toBe(true);
  });

  test('random: small requests come from a pool that refills, never repeating bytes across the refill', () => {
    // 3000 two-byte draws cross the 4 KiB pool boundary at least once; as 16-bit values from a
    // CSPRNG, 3000 of them repeat far less than a reused or zeroed pool would make them
    const seen = new Map<number, number>();
    const two = new Uint8Array(2);
    for (let i = 0; i < 3000; i++) {
      host.random(two);
      const v = (two[0] as number) | ((two[1] as number) << 8);
      seen.set(v, (seen.get(v) ?? 0) + 1);
    }
    expect(seen.get(0) ?? 0).toBeLessThan(5);
    expect(Math.max(...seen.values())).toBeLessThan(6);
    expect(seen.size).toBeGreaterThan(2800);
    // a request larger than the pool's share goes straight through and is filled whole
    const big = new Uint8Array(4096);
    host.random(big);
    expect(big.subarray(4000).some((v) => v !== 0)).toBe(true);
  });

  test('interfaces() maps os.networkInterfaces() to NetIf', () => {
    const ifs = host.interfaces();
    expect(ifs.length).toBeGreaterThan(0);
    for (const i of ifs) {
      expect(typeof i.name).toBe('string');
      expect(i.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(i.up).toBe(true);
      for (const a of i.addresses) {
        expect(['IPv4', 'IPv6']).toContain(a.family);
        expect(Number.isInteger(a.prefixLength)).toBe(true);
        expect(a.prefixLength).toBeLessThanOrEqual(a.family === 'IPv4' ? 32 : 128);
      }
    }
    const lo = ifs.flatMap((i) => i.addresses).find((a) => a.address === '127.0.0.1');
    expect(lo).toEqual({ family: 'IPv4', address: '127.0.0.1', prefixLength: 8 });
  });
});

describe('wake timer', () => {
  test('re-arming replaces the deadline; the runner runs once, not before it', async () => {
    const runs: number[] = [];
    host.setLoopRunner(() => runs.push(host.nowUs()));
    const t0 = host.nowUs();
    host.setWakeTimer(t0 + 200_000);
    host.setWakeTimer(t0 + 20_000);
    expect(host.wakeTimerUs).toBe(t0 + 20_000);
    await waitFor('the timer', () => runs.length > 0);
    expect(runs[0]).toBeGreaterThanOrEqual(t0 + 20_000);
    expect(host.wakeTimerUs).toBeUndefined();
    await sleep(250);
    expect(runs).toHaveLength(1);
    expect(host.stats).toEqual({ timerRuns: 1, wakeRuns: 0 });
  });

  test('re-arming later postpones it', async () => {
    const runs: number[] = [];
    host.setLoopRunner(() => runs.push(host.nowUs()));
    const t0 = host.nowUs();
    host.setWakeTimer(t0 + 5_000);
    host.setWakeTimer(t0 + 60_000);
    await waitFor('the timer', () => runs.length > 0);
    // had the 5 ms deadline survived, the first run would have come ~55 ms earlier
    expect(runs[0]).toBeGreaterThanOrEqual(t0 + 60_000);
    await sleep(20);
    expect(runs).toHaveLength(1);
  });

  test('undefined disarms; a deadline in the past runs at once', async () => {
    let runs = 0;
    host.setLoopRunner(() => runs++);
    host.setWakeTimer(host.nowUs() + 10_000);
    host.setWakeTimer(undefined);
    await sleep(40);
    expect(runs).toBe(0);
    host.setWakeTimer(host.nowUs() - 1_000_000);
    await waitFor('the timer', () => runs === 1);
  });

  test('a non-finite deadline is a usage error', () => {
    expect(() => host.setWakeTimer(Number.NaN)).toThrow(expect.objectContaining({ code: 'ERR_WAKE_TIMER' }));
  });
});

describe('wakeup pair', () => {
  test('wakeTarget is the bound loopback port, and only once bound', async () => {
    const h = new NodeHost();
    try {
      expect(() => h.wakeTarget()).toThrow(expect.objectContaining({ code: 'ERR_HOST_NOT_READY' }));
      await h.ready();
      const t = h.wakeTarget();
      expect(t.address).toBe('127.0.0.1');
      expect(t.port).toBeGreaterThan(0);
    } finally {
      h.close();
    }
  });

  test('wakeups from this thread coalesce into one run, and a later one runs again', async () => {
    let runs = 0;
    host.setLoopRunner(() => runs++);
    host.wakeup();
    host.wakeup();
    host.wakeup();
    await waitFor('the wakeup', () => runs === 1);
    await sleep(30);
    expect(runs).toBe(1);
    expect(host.stats).toEqual({ timerRuns: 0, wakeRuns: 1 });
    host.wakeup();
    await waitFor('the second wakeup', () => runs === 2);
  });

  test('any datagram to wakeTarget runs the loop', async () => {
    let runs = 0;
    host.setLoopRunner(() => runs++);
    const u = host.udp({ address: '127.0.0.1' });
    cleanup.push(() => u.close());
    const t = host.wakeTarget();
    u.write(bytes('x'), t.address, t.port);
    await waitFor('the wakeup', () => runs === 1);
  });

  test('after close() the host is inert', async () => {
    let runs = 0;
    host.setLoopRunner(() => runs++);
    host.setWakeTimer(host.nowUs() + 1_000);
    host.close();
    host.wakeup();
    host.setWakeTimer(host.nowUs() + 1_000);
    expect(host.wakeTimerUs).toBeUndefined();
    expect(() => host.wakeTarget()).toThrow(expect.objectContaining({ code: 'ERR_HOST_CLOSED' }));
    await sleep(30);
    expect(runs).toBe(0);
  });
});

describe('TCP', () => {
  test('echo both ways through the host listener', async () => {
    const { l } = await listen((self) => ({
      onReadable: () => {
        const got = self().read();
        self().write(bytes(`echo:${text(got)}`));
      },
    }));
    let received = '';
    let writable = 0;
    const c = host.tcp({
      address: '127.0.0.1',
      port: l.port,
      nodelay: true,
      onWritable: (n) => {
        writable = n;
      },
      onReadable: () => { received += text(c.read()); },
    });
    cleanup.push(() => c.close());
    await waitFor('connect', () => writable > 0);
    expect(c.remoteAddress).toBe('127.0.0.1');
    expect(c.remotePort).toBe(l.port);
    expect(c.write(bytes('hello'))).toBeGreaterThan(0);
    await waitFor('the echo', () => received === 'echo:hello');
  });

  test('read(max) hands out at most max bytes, in order', async () => {
    const { l, accepted } = await listen(() => ({}));
    let readable = 0;
    let connected = false;
    const c = host.tcp({ address: '127.0.0.1', port: l.port, onWritable: () => { connected = true; }, onReadable: (n) => { readable = n; } });
    cleanup.push(() => c.close());
    await waitFor('connect and accept', () => connected && accepted.length === 1);
    const server = accepted[0] as NodeStream;
    server.write(bytes('abc'));
    server.write(bytes('defgh'));
    await waitFor('8 bytes', () => readable === 8);
    expect(text(c.read(2))).toBe('ab');
    expect(text(c.read(4))).toBe('cdef');
    expect(text(c.read(100))).toBe('gh');
    expect(c.read()).toBeUndefined();
    expect(() => c.read(0)).toThrow(expect.objectContaining({ code: 'ERR_TCP_READ' }));
  });

  test('a large write meets backpressure, resumes on onWritable, and arrives intact', async () => {
    const TOTAL = 32 * 1024 * 1024;
    const CHUNK = 60 * 1024;
    let serverReading = false;
    let received = 0;
    let mismatch = -1;
    const drain = (s: NodeStream): void => {
      for (let b = s.read(); b; b = s.read()) {
        const u = new Uint8Array(b);
        for (let i = 0; i < u.length; i++) if (mismatch < 0 && u[i] !== ((received + i) & 0xff)) mismatch = received + i;
        received += u.length;
      }
    };
    const { l, accepted } = await listen((self) => ({
      onReadable: () => { if (serverReading) drain(self()); },
    }));
    let sent = 0;
    let blocked = 0;
    let resumed = 0;
    let connected = false;
    const pattern = new Uint8Array(CHUNK + 256);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i & 0xff;
    const pump = (): void => {
      while (sent < TOTAL) {
        const n = Math.min(CHUNK, TOTAL - sent);
        const room = c.write(pattern.subarray(sent & 0xff, (sent & 0xff) + n));
        sent += n;
        if (room <= 0) { blocked++; return; }
      }
    };
    const c = host.tcp({
      address: '127.0.0.1',
      port: l.port,
      onWritable: () => {
        if (connected) resumed++;
        connected = true;
        pump();
      },
    });
    cleanup.push(() => c.close());
    // the server does not read, so the client must run into its high-water mark
    await waitFor('backpressure', () => blocked > 0 && accepted.length === 1);
    const server = accepted[0] as NodeStream;
    // it stopped reading from the kernel at its read limit, which is what stalled the writer
    await waitFor('the server to hold its read limit', () => server.readable >= 64 * 1024);
    expect(sent).toBeLessThan(TOTAL);
    serverReading = true;
    drain(server);
    await waitFor('everything', () => received === TOTAL, 30_000);
    expect(mismatch).toBe(-1);
    expect(resumed).toBeGreaterThan(0);
  });

  test('connecting to a closed port fails with ERR_TCP_CONNECT', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    let err: LwsxError | undefined;
    let writable = false;
    const c = host.tcp({ address: '127.0.0.1', port, onWritable: () => { writable = true; }, onError: (e) => { err = e as LwsxError; } });
    cleanup.push(() => c.close());
    await waitFor('the error', () => err !== undefined);
    expect(writable).toBe(false);
    expect(err?.code).toBe('ERR_TCP_CONNECT');
    expect(err?.detail).toMatchObject({ errno: 'ECONNREFUSED', address: '127.0.0.1', port });
  });

  test('the peer closing is reported only after its last bytes are read', async () => {
    const { l } = await listen((self) => ({
      onWritable: () => {
        self().write(bytes('bye'));
        self().close();
      },
    }));
    let readable = 0;
    let err: LwsxError | undefined;
    const c = host.tcp({
      address: '127.0.0.1',
      port: l.port,
      onReadable: (n) => { readable = n; },
      onError: (e) => { err = e as LwsxError; },
    });
    cleanup.push(() => c.close());
    await waitFor('the data', () => readable === 3);
    await sleep(50);
    expect(err).toBeUndefined();
    expect(() => c.write(bytes('late'))).toThrow(expect.objectContaining({ code: 'ERR_TCP_CLOSED' }));
    expect(text(c.read())).toBe('bye');
    await waitFor('the close', () => err !== undefined);
    expect(err?.code).toBe('ERR_TCP_CLOSED');
  });

  test('a reset by the peer is ERR_TCP_RESET', async () => {
    const peers: Socket[] = [];
    const srv: Server = createServer((s) => { peers.push(s); });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanup.push(() => { srv.close(); for (const p of peers) p.destroy(); });
    let err: LwsxError | undefined;
    let connected = false;
    const c = host.tcp({
      address: '127.0.0.1',
      port: (srv.address() as { port: number }).port,
      onWritable: () => { connected = true; },
      onError: (e) => { err = e as LwsxError; },
    });
    cleanup.push(() => c.close());
    await waitFor('connect', () => connected && peers.length === 1);
    (peers[0] as Socket).resetAndDestroy();
    await waitFor('the reset', () => err !== undefined);
    expect(err?.code).toBe('ERR_TCP_RESET');
    expect(err?.detail?.['errno']).toBe('ECONNRESET');
  });

  test('close() is final: no callbacks, writes throw', async () => {
    const { l, accepted } = await listen(() => ({}));
    let calls = 0;
    let connected = false;
    const c = host.tcp({ address: '127.0.0.1', port: l.port, onWritable: () => { connected = true; }, onError: () => calls++ });
    await waitFor('connect', () => connected);
    c.close();
    c.close();
    expect(() => c.write(bytes('x'))).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
    await waitFor('accept', () => accepted.length === 1);
    (accepted[0] as NodeStream).close();
    await sleep(30);
    expect(calls).toBe(0);
  });

  test('bad options are usage errors', () => {
    expect(() => host.tcp({ port: 80 })).toThrow(expect.objectContaining({ code: 'ERR_TCP_ADDRESS' }));
    expect(() => host.tcp({ address: '127.0.0.1', port: 0 })).toThrow(expect.objectContaining({ code: 'ERR_TCP_PORT' }));
  });
});

describe('UDP', () => {
  test('datagrams both ways, with the sender address and port', async () => {
    const got: Array<{ to: string; data: string; address: string; port: number }> = [];
    let a!: NodeUdp;
    let b!: NodeUdp;
    const reader = (name: string, s: () => NodeUdp) => (count: number): void => {
      expect(count).toBeGreaterThan(0);
      for (let d = s().read(); d; d = s().read()) got.push({ to: name, data: text(d.data), address: d.address, port: d.port });
    };
    a = host.udp({ address: '127.0.0.1', onReadable: reader('a', () => a) });
    b = host.udp({ address: '127.0.0.1', onReadable: reader('b', () => b) });
    cleanup.push(() => { a.close(); b.close(); });
    const [pa, pb] = await Promise.all([a.bound(), b.bound()]);
    expect(a.port).toBe(pa);
    a.write(bytes('ping'), '127.0.0.1', pb);
    await waitFor('ping', () => got.length === 1);
    expect(got[0]).toEqual({ to: 'b', data: 'ping', address: '127.0.0.1', port: pa });
    const buf = bytes('xxpongxx');
    b.write(buf.subarray(2, 6), '127.0.0.1', pa);
    buf.fill(0);
    await waitFor('pong', () => got.length === 2);
    expect(got[1]).toEqual({ to: 'a', data: 'pong', address: '127.0.0.1', port: pb });
  });

  test('a full receive queue drops and counts', async () => {
    const rx = host.udp({ address: '127.0.0.1', onReadable: () => {} });
    const tx = host.udp({ address: '127.0.0.1' });
    cleanup.push(() => { rx.close(); tx.close(); });
    const port = await rx.bound();
    for (let i = 0; i < 80; i++) tx.write(bytes(`d${i}`), '127.0.0.1', port);
    await waitFor('the datagrams', () => rx.dropped > 0 && rx.dropped + 64 === 80, 5_000);
    expect(text(rx.read()?.data)).toBe('d0');
  });

  test('binding an address this machine does not have fails with ERR_UDP_BIND', async () => {
    let err: LwsxError | undefined;
    // 192.0.2.0/24 is TEST-NET-1: never a local address
    const u = host.udp({ address: '192.0.2.1', port: 0, onError: (e) => { err = e as LwsxError; } });
    cleanup.push(() => u.close());
    await expect(u.bound()).rejects.toMatchObject({ code: 'ERR_UDP_BIND' });
    expect(err?.code).toBe('ERR_UDP_BIND');
    expect(err?.detail?.['errno']).toBe('EADDRNOTAVAIL');
  });

  test('addresses must be literals', () => {
    expect(() => host.udp({ address: 'localhost' })).toThrow(expect.objectContaining({ code: 'ERR_UDP_ADDRESS' }));
    const u = host.udp({});
    cleanup.push(() => u.close());
    expect(() => u.write(bytes('x'), 'example.com', 53)).toThrow(expect.objectContaining({ code: 'ERR_UDP_ADDRESS' }));
  });
});
