/**
 * The SNTP client on a virtual network and clock: sources and their order, retransmission and
 * backoff, Kiss-o'-Death, rejected replies, resolving, resync, clock setting and wall timers.
 * Every time here is virtual, so schedules are checked exactly rather than measured.
 */
import { describe, expect, test } from '@jest/globals';
import { Context } from '../../src/loop/context.js';
import type { LogRecord } from '../../src/loop/log.js';
import { makeRetryPolicy } from '../../src/loop/retry.js';
import { Sul } from '../../src/loop/sul.js';
import { WallTimers } from '../../src/loop/wall-timers.js';
import { SntpClient, isAddressLiteral, splitServer } from '../../src/services/sntp/client.js';
import type { SntpClientOptions } from '../../src/services/sntp/client.js';
import { BlobType } from '../../src/system/blob.js';
import type { Board } from '../../src/system/board.js';
import type { SystemOps } from '../../src/system/ops.js';
import type { LwsxError } from '../../src/util/errors.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { NetHost, ntpServer } from './sntp-vnet.js';
import type { NtpServerOptions } from './sntp-vnet.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const C = '10.0.0.3';
const D = '10.0.0.4';
const S = 1_000_000;

interface MakeOpts {
  ntpServer?: string;
  blob?: string;
  setClock?: boolean;
  client?: SntpClientOptions;
}

function make(o: MakeOpts = {}) {
  const host = new NetHost();
  let boardOffsetUs = 0;
  const setClockCalls: number[] = [];
  const ops: SystemOps = { wallUs: () => host.wallUs() + boardOffsetUs };
  if (o.setClock !== false) {
    ops.setClock = (us) => {
      setClockCalls.push(us);
      boardOffsetUs = us - host.wallUs();
    };
  }
  const board: Board = {
    description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' },
    ops,
  };
  if (o.ntpServer) board.description.ntpServer = o.ntpServer;
  const logs: LogRecord[] = [];
  const ctx = new Context({ host, board, log: (r) => logs.push(r), logLevel: 'debug' });
  if (o.blob) ctx.system.blobs.get(BlobType.NTP_SERVER).setDirect(utf8Encode(o.blob));
  const errors: Array<{ code: string; server: string | undefined; e: LwsxError }> = [];
  const client = new SntpClient(ctx, {
    defaultServer: '',
    onError: (e, server) => errors.push({ code: e.code, server, e }),
    ...o.client,
  });
  /** send times (virtual µs) of requests to `address:port` */
  const sendsTo = (address: string, port = 123): number[] => host.sent.filter((s) => s.to === `${address}:${port}`).map((s) => s.atUs);
  const boardOffset = (): number => boardOffsetUs;
  return { host, ctx, client, errors, logs, setClockCalls, sendsTo, boardOffset };
}

const gaps = (ts: number[]): number[] => ts.slice(1).map((t, i) => t - (ts[i] as number));

test('address literals and host:port forms', () => {
  expect(isAddressLiteral('127.0.0.1')).toBe(true);
  expect(isAddressLiteral('::1')).toBe(true);
  expect(isAddressLiteral('256.0.0.1')).toBe(false);
  expect(isAddressLiteral('pool.ntp.org')).toBe(false);
  expect(splitServer('10.0.0.1', 123)).toEqual({ host: '10.0.0.1', port: 123 });
  expect(splitServer('10.0.0.1:11123', 123)).toEqual({ host: '10.0.0.1', port: 11123 });
  expect(splitServer('ntp.lws.test:9', 123)).toEqual({ host: 'ntp.lws.test', port: 9 });
  expect(splitServer('fd00::1', 123)).toEqual({ host: 'fd00::1', port: 123 });
  expect(splitServer('[fd00::1]:5123', 123)).toEqual({ host: 'fd00::1', port: 5123 });
  expect(splitServer('10.0.0.1:0', 123)).toBeUndefined();
  expect(splitServer('10.0.0.1:70000', 123)).toBeUndefined();
  expect(splitServer('10.0.0.1:x', 123)).toBeUndefined();
});

describe('a sync', () => {
  test('corrects the board clock by the four-timestamp offset, half the round trip compensated', async () => {
    const { host, ctx, client, setClockCalls, sendsTo, boardOffset } = make({ ntpServer: A });
    host.addServer(A, 123, ntpServer({ processingUs: 500 }), 5 * S);
    client.start();
    await host.run(host.now + 10 * S);
    expect(client.synced).toBe(true);
    expect(client.last).toMatchObject({ server: A, address: A, offsetUs: 5 * S, delayUs: 4000, stratum: 2, stepUs: 5 * S });
    expect(setClockCalls).toHaveLength(1);
    expect(boardOffset()).toBe(5 * S);
    expect(ctx.wallUs() - host.wallUs()).toBe(5 * S);
    expect(sendsTo(A)).toHaveLength(1);
    expect(client.stats).toMatchObject({ rounds: 1, exchanges: 1, transmissions: 1, syncs: 1, failures: 0 });
    // the socket of the exchange is closed once it is over
    expect(host.sockets.every((s) => s.closed)).toBe(true);
  });

  test('a clock ahead of the server is stepped back', async () => {
    const { host, client, boardOffset } = make({ ntpServer: A });
    host.addServer(A, 123, ntpServer(), -90 * S);
    client.start();
    await host.run(host.now + 10 * S);
    expect(client.last?.offsetUs).toBe(-90 * S);
    expect(boardOffset()).toBe(-90 * S);
  });

  test('lost requests are retransmitted on the exchange policy (1 s, 1.25 s, +20 % jitter)', async () => {
    const { host, client, sendsTo } = make({ ntpServer: A });
    host.addServer(A, 123, ntpServer({ drop: (n) => n <= 2 }), 1 * S);
    client.start();
    await host.run(host.now + 20 * S);
    expect(client.synced).toBe(true);
    const g = gaps(sendsTo(A));
    expect(g).toHaveLength(2);
    expect(g[0]).toBeGreaterThanOrEqual(1000_000);
    expect(g[0]).toBeLessThan(1200_000);
    expect(g[1]).toBeGreaterThanOrEqual(1250_000);
    expect(g[1]).toBeLessThan(1500_000);
    expect(client.last?.offsetUs).toBe(1 * S);
  });

  test('a late answer to an earlier transmission counts, timed from that transmission', async () => {
    const { host, client, sendsTo } = make({ ntpServer: A });
    // the first answer takes 1.5 s of server time, past the 1 s retransmission; the second is lost
    host.addServer(A, 123, ntpServer({ processingFor: (n) => (n === 1 ? 1_500_000 : 0), drop: (n) => n === 2 }), 7 * S);
    client.start();
    await host.run(host.now + 20 * S);
    expect(sendsTo(A)).toHaveLength(2);
    expect(client.last?.offsetUs).toBe(7 * S);
    expect(client.last?.delayUs).toBe(4000);
  });

  test('resyncs every interval', async () => {
    const { host, client } = make({ ntpServer: A, client: { resyncIntervalMs: 600_000 } });
    host.addServer(A, 123, ntpServer(), 2 * S);
    const at: number[] = [];
    client.onSync((s) => at.push(s.atUs));
    client.start();
    await host.run(host.now + 25 * 60 * S);
    expect(at).toHaveLength(3);
    expect(gaps(at)).toEqual([600 * S + 4000, 600 * S + 4000]);
    // the second sync found the clock already right
    expect(client.last?.offsetUs).toBe(0);
  });
});

describe('sources', () => {
  test('priority: the NTP_SERVER blob, then DHCP, then the board, then the default', async () => {
    const { host, ctx, client } = make({ ntpServer: C, blob: A, client: { defaultServer: D } });
    client.setDhcpServers([B]);
    expect(client.configured()).toEqual([
      { server: A, kind: 'blob' },
      { server: B, kind: 'dhcp' },
      { server: C, kind: 'board' },
      { server: D, kind: 'default' },
    ]);
    for (const [i, s] of [A, B, C, D].entries()) host.addServer(s, 123, ntpServer(), (i + 1) * S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(client.last?.server).toBe(A);
    ctx.system.blobs.get(BlobType.NTP_SERVER).reset();
    client.resync();
    await host.run(host.now + 5 * S);
    expect(client.last?.server).toBe(B);
    client.setDhcpServers([]);
    client.resync();
    await host.run(host.now + 5 * S);
    expect(client.last?.server).toBe(C);
    expect(host.requestsTo(D, 123)).toBe(0);
  });

  test('the configured default is the last resort', async () => {
    const { host, client } = make({ client: { defaultServer: D } });
    host.addServer(D, 123, ntpServer(), S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(client.last?.server).toBe(D);
  });

  test('a dead server costs one exchange: the timeout is reported and the next source answers', async () => {
    const { host, client, errors, sendsTo } = make({ blob: A, ntpServer: B });
    host.addServer(B, 123, ntpServer(), S);
    client.start();
    await host.run(host.now + 30 * S);
    expect(client.last?.server).toBe(B);
    expect(errors.map((e) => [e.code, e.server])).toEqual([['ERR_UDP_TIMEOUT', A]]);
    const toA = sendsTo(A);
    expect(toA).toHaveLength(4);
    // after the last try's 5 s wait, the round's retry delay (300 ms + up to 20 %) before B
    const toB = sendsTo(B)[0] as number;
    const wait = toB - (toA[3] as number);
    expect(wait).toBeGreaterThanOrEqual(5_300_000);
    expect(wait).toBeLessThan(6_000_000 + 360_000);
  });

  test('nothing configured: ERR_SNTP_NO_SERVER, retried; servers from DHCP are tried at once', async () => {
    const { host, client, errors } = make();
    client.start();
    await host.run(host.now + 3 * S);
    expect(errors.length).toBeGreaterThan(1);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['ERR_SNTP_NO_SERVER']));
    host.addServer(B, 123, ntpServer(), S);
    client.setDhcpServers([B]);
    await host.run(host.now + 10_000);
    expect(client.last?.server).toBe(B);
  });

  test('host:port servers go to their own port', async () => {
    const { host, client } = make({ blob: `${A}:11123` });
    host.addServer(A, 11123, ntpServer(), S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(client.last?.server).toBe(`${A}:11123`);
    expect(client.last?.address).toBe(A);
  });

  test('the default port is configurable', async () => {
    const { host, client } = make({ ntpServer: A, client: { port: 4123 } });
    host.addServer(A, 4123, ntpServer(), S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(client.synced).toBe(true);
  });
});

describe('names', () => {
  test('a name goes through the resolver', async () => {
    const asked: string[] = [];
    const { host, client } = make({ ntpServer: 'ntp.lws.test', client: { resolve: async (n) => { asked.push(n); return A; } } });
    host.addServer(A, 123, ntpServer(), 3 * S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(asked).toEqual(['ntp.lws.test']);
    expect(client.last).toMatchObject({ server: 'ntp.lws.test', address: A, offsetUs: 3 * S });
  });

  test('a name without a resolver, or a failing resolver: ERR_SNTP_RESOLVE and the next source', async () => {
    const none = make({ ntpServer: 'ntp.lws.test', client: { defaultServer: D } });
    none.host.addServer(D, 123, ntpServer(), S);
    none.client.start();
    await none.host.run(none.host.now + 5 * S);
    expect(none.errors.map((e) => e.code)).toEqual(['ERR_SNTP_RESOLVE']);
    expect(none.client.last?.server).toBe(D);

    const failing = make({
      ntpServer: 'ntp.lws.test',
      client: { defaultServer: D, resolve: () => Promise.reject(Object.assign(new Error('NXDOMAIN'), { code: 'ERR_DNS_NXDOMAIN' })) },
    });
    failing.host.addServer(D, 123, ntpServer(), S);
    failing.client.start();
    await failing.host.run(failing.host.now + 5 * S);
    expect(failing.errors[0]?.code).toBe('ERR_SNTP_RESOLVE');
    expect(failing.errors[0]?.e.detail).toMatchObject({ server: 'ntp.lws.test', code: 'ERR_DNS_NXDOMAIN' });
    expect(failing.client.last?.server).toBe(D);
  });

  test('a bad port is a typed error naming the field', async () => {
    const { host, client, errors } = make({ blob: `${A}:99999`, ntpServer: B });
    host.addServer(B, 123, ntpServer(), S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(errors[0]?.code).toBe('ERR_SNTP_RESOLVE');
    expect(errors[0]?.e.detail).toMatchObject({ field: 'port' });
    expect(client.last?.server).toBe(B);
  });
});

describe("Kiss-o'-Death", () => {
  test.each(['DENY', 'RSTR'])('%s strikes the server off for good; the next source is used', async (code) => {
    const { host, client, errors } = make({ blob: A, ntpServer: B });
    host.addServer(A, 123, ntpServer({ kiss: code }), S);
    host.addServer(B, 123, ntpServer(), 2 * S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(client.last?.server).toBe(B);
    expect(errors.map((e) => [e.code, e.e.detail?.['code'], e.server])).toEqual([['ERR_SNTP_KOD', code, A]]);
    expect(client.sources.refusedBy(A)).toBe(code);
    expect(client.sources.usable().map((s) => s.server)).toEqual([B]);
    client.resync();
    await host.run(host.now + 5 * S);
    expect(host.requestsTo(A, 123)).toBe(1);
    expect(host.requestsTo(B, 123)).toBe(2);
  });

  test('RATE: skipped while its penalty lasts, asked again after, the penalty doubling', async () => {
    let kiss: string | undefined = 'RATE';
    const { host, client, errors } = make({ blob: A, ntpServer: B, client: { rateBackoffMs: 10_000 } });
    host.addServer(A, 123, (req, w, n) => ntpServer(kiss ? { kiss } : {})(req, w, n), S);
    host.addServer(B, 123, ntpServer(), 2 * S);
    client.start();
    await host.run(host.now + 2 * S);
    expect(client.last?.server).toBe(B);
    expect(errors.map((e) => e.e.detail?.['code'])).toEqual(['RATE']);
    const first = client.sources.notBefore(A) - host.now;
    expect(first).toBeGreaterThan(8 * S);
    expect(first).toBeLessThanOrEqual(10 * S);
    // inside the penalty: A is not asked
    client.resync();
    await host.run(host.now + 2 * S);
    expect(host.requestsTo(A, 123)).toBe(1);
    // after it: A is asked, kisses again, and the penalty doubles
    await host.run(host.now + 9 * S);
    client.resync();
    await host.run(host.now + 2 * S);
    expect(host.requestsTo(A, 123)).toBe(2);
    const second = client.sources.notBefore(A) - host.now;
    expect(second).toBeGreaterThan(17 * S);
    expect(second).toBeLessThanOrEqual(20 * S);
    // once A answers again, it is the source again and its penalty is forgotten
    kiss = undefined;
    await host.run(host.now + 19 * S);
    client.resync();
    await host.run(host.now + 2 * S);
    expect(client.last?.server).toBe(A);
    expect(client.sources.notBefore(A)).toBe(0);
  });

  test('RATE from the only server: the client waits out each penalty instead of asking again', async () => {
    const { host, client, sendsTo } = make({ ntpServer: A, client: { rateBackoffMs: 10_000 } });
    host.addServer(A, 123, ntpServer({ kiss: 'RATE' }), S);
    client.start();
    await host.run(host.now + 35 * S);
    const g = gaps(sendsTo(A));
    expect(g).toHaveLength(2);
    expect(g[0]).toBeGreaterThanOrEqual(10 * S);
    expect(g[1]).toBeGreaterThanOrEqual(20 * S);
    expect(client.synced).toBe(false);
  });
});

describe('rejected replies', () => {
  test.each<[string, NtpServerOptions, string, string]>([
    ['leap indicator 3', { leap: 3 }, 'ERR_SNTP_UNSYNC', 'leap'],
    ['stratum 16', { stratum: 16 }, 'ERR_SNTP_UNSYNC', 'stratum'],
    ['stratum 0 INIT', { kiss: 'INIT' }, 'ERR_SNTP_UNSYNC', 'stratum'],
    ['a time before the valid threshold', { mangle: (p) => { p.receive = { seconds: 3_200_000_000, fraction: 0 }; p.transmit = p.receive; } }, 'ERR_SNTP_BOGUS', 'transmit'],
  ])('%s: rejected, reported, and the next source used', async (_what, server, code, field) => {
    const { host, client, errors, setClockCalls } = make({ blob: A, ntpServer: B });
    host.addServer(A, 123, ntpServer(server), S);
    host.addServer(B, 123, ntpServer(), 2 * S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(errors.map((e) => [e.code, e.e.detail?.['field'], e.server])).toEqual([[code, field, A]]);
    expect(client.last?.server).toBe(B);
    expect(setClockCalls).toHaveLength(1);
  });

  test('a reply that is not ours (wrong origin, or from another address) is ignored: the exchange times out', async () => {
    const { host, client, errors } = make({ ntpServer: A });
    let n = 0;
    host.addServer(A, 123, (req, w, k) => {
      n++;
      const good = ntpServer()(req, w, k) as { bytes: Uint8Array };
      if (n % 2) return ntpServer({ mangle: (p) => { p.origin = { seconds: p.origin.seconds, fraction: (p.origin.fraction ^ 1) >>> 0 }; } })(req, w, k);
      return { bytes: good.bytes, fromAddress: '10.6.6.6' };
    }, S);
    client.start();
    // one exchange: 1 + 1.25 + 5 s of retransmissions, then 5 s for the last one (+ jitter)
    await host.run(host.now + 16 * S);
    expect(client.synced).toBe(false);
    // answers from the wrong address are dropped without a word; wrong origins are reported
    expect(errors.slice(0, 3).map((e) => e.code)).toEqual(['ERR_SNTP_BOGUS', 'ERR_SNTP_BOGUS', 'ERR_UDP_TIMEOUT']);
    expect(errors[0]?.e.detail).toMatchObject({ field: 'origin' });
  });

  test('garbage from the server is ignored (typed, reported) while the exchange goes on', async () => {
    const { host, client, errors } = make({ ntpServer: A });
    host.addServer(A, 123, (req, w, n) => (n === 1 ? { bytes: new Uint8Array(47) } : ntpServer()(req, w, n)), S);
    client.start();
    await host.run(host.now + 5 * S);
    expect(errors.map((e) => e.code)).toEqual(['ERR_SNTP_PARSE']);
    expect(client.synced).toBe(true);
  });
});

describe('rounds and retry policies', () => {
  test('no answer anywhere: the round goes on forever with lws backoff between servers', async () => {
    const { host, client, errors } = make({ blob: A, ntpServer: B });
    client.start();
    await host.run(host.now + 200 * S);
    expect(client.synced).toBe(false);
    expect(client.stats.rounds).toBe(1);
    expect(client.stats.exchanges).toBeGreaterThan(12);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['ERR_UDP_TIMEOUT']));
    // alternating A, B, A, B…
    expect(errors.slice(0, 4).map((e) => e.server)).toEqual([A, B, A, B]);
  });

  test('a retry policy that stops concealing ends the round (ERR_SNTP_FAILED); the next starts at the resync interval', async () => {
    const { host, client, errors } = make({
      ntpServer: A,
      client: { retryPolicy: makeRetryPolicy({ table: [100], conceal: 1, jitterPercent: 1 }), resyncIntervalMs: 60_000 },
    });
    client.start();
    // two exchanges of ~13 s, then a minute's pause, then the next round's first exchange
    await host.run(host.now + 120 * S);
    expect(errors.slice(0, 4).map((e) => e.code)).toEqual(['ERR_UDP_TIMEOUT', 'ERR_UDP_TIMEOUT', 'ERR_SNTP_FAILED', 'ERR_UDP_TIMEOUT']);
    expect(client.stats.rounds).toBe(2);
  });
});

describe('the clock', () => {
  test('setting it moves pending wall timers by the step, so they fire at their wall time', async () => {
    const { host, ctx } = make();
    const wall = new WallTimers(ctx);
    const client = new SntpClient(ctx, { defaultServer: A, wallTimers: wall });
    host.addServer(A, 123, ntpServer(), 10 * S);
    const t = new Sul();
    const mono0 = host.nowUs();
    const at = ctx.wallUs() + 30 * S;
    let firedWall = 0;
    let firedMono = 0;
    wall.scheduleAtWall(t, at, () => { firedWall = ctx.wallUs(); firedMono = host.nowUs() - mono0; });
    client.start();
    await host.run(host.now + 40 * S);
    expect(client.last?.stepUs).toBe(10 * S);
    expect(firedWall).toBe(at);
    expect(firedMono).toBe(20 * S);
  });

  test('a board without setClock: synced, step 0, a warning, wall timers untouched', async () => {
    const { host, ctx, client, logs } = make({ ntpServer: A, setClock: false });
    const wall = new WallTimers(ctx);
    host.addServer(A, 123, ntpServer(), 10 * S);
    const t = new Sul();
    wall.scheduleAtWall(t, ctx.wallUs() + 30 * S, () => {});
    const us = t.us;
    client.start();
    await host.run(host.now + 5 * S);
    expect(client.last).toMatchObject({ offsetUs: 10 * S, stepUs: 0 });
    expect(t.us).toBe(us);
    expect(logs.some((r) => r.level === 'warn' && r.msg.includes('no setClock'))).toBe(true);
  });
});

describe('lifetime', () => {
  test('stop() abandons the exchange in flight and closes its socket', async () => {
    const { host, client } = make({ ntpServer: A });
    client.start();
    await host.run(host.now + 500_000);
    expect(host.sockets).toHaveLength(1);
    client.stop();
    expect(host.sockets[0]?.closed).toBe(true);
    expect(client.isRunning).toBe(false);
    await host.run(host.now + 60 * S);
    expect(host.sent).toHaveLength(1);
  });

  test('destroying the context stops the client', async () => {
    const { host, ctx, client } = make({ ntpServer: A });
    client.start();
    await host.run(host.now + 500_000);
    ctx.destroy();
    expect(client.isRunning).toBe(false);
    expect(host.sockets.every((s) => s.closed)).toBe(true);
  });

  test('a resolve answered after stop() is dropped', async () => {
    let answer: (a: string) => void = () => {};
    const { host, client } = make({ ntpServer: 'ntp.lws.test', client: { resolve: () => new Promise((r) => { answer = r; }) } });
    client.start();
    await host.run(host.now + 100_000);
    client.stop();
    answer(A);
    await host.run(host.now + 5 * S);
    expect(host.sent).toHaveLength(0);
  });
});

test('options out of range are refused, naming the field', () => {
  const { ctx } = make();
  for (const [field, o] of [['port', { port: 0 }], ['resyncIntervalMs', { resyncIntervalMs: 0 }], ['rateBackoffMs', { rateBackoffMs: -1 }], ['validAfterUs', { validAfterUs: 1.5 }]] as const) {
    let code: string | undefined;
    let detail: unknown;
    try {
      new SntpClient(ctx, o);
    } catch (e) {
      code = (e as LwsxError).code;
      detail = (e as LwsxError).detail;
    }
    expect(code).toBe('ERR_SNTP_OPTION');
    expect(detail).toMatchObject({ field });
  }
});
