/** TIME_VALID held by the SNTP notifier, on the virtual host and network: held, released, and lws's rule. */
import { describe, expect, test } from '@jest/globals';
import { Context } from '../../src/loop/context.js';
import type { LogRecord } from '../../src/loop/log.js';
import { SntpClient } from '../../src/services/sntp/client.js';
import type { SntpClientOptions } from '../../src/services/sntp/client.js';
import { TimeValidNotifier } from '../../src/services/sntp/notifier.js';
import type { TimeValidOptions } from '../../src/services/sntp/notifier.js';
import { TIME_VALID_THRESHOLD_S, TIME_VALID_THRESHOLD_US } from '../../src/services/sntp/threshold.js';
import type { Board } from '../../src/system/board.js';
import type { SystemOps } from '../../src/system/ops.js';
import { SysState } from '../../src/system/states.js';
import { NetHost, ntpServer } from './sntp-vnet.js';

const A = '10.0.0.1';
const S = 1_000_000;
/** 1980-01-01: what a board whose RTC lost power might read */
const Y1980_US = 315_532_800 * S;

interface MakeOpts {
  /** the board clock's start, unix µs (default: the host's, 2026) */
  boardWallUs?: number;
  setClock?: boolean;
  client?: SntpClientOptions | false;
  notifier?: Omit<TimeValidOptions, 'client'>;
}

function make(o: MakeOpts = {}) {
  const host = new NetHost();
  let offsetUs = o.boardWallUs === undefined ? 0 : o.boardWallUs - host.wallUs();
  const ops: SystemOps = { wallUs: () => host.wallUs() + offsetUs };
  const setClock = (us: number): void => { offsetUs = us - host.wallUs(); };
  if (o.setClock !== false) ops.setClock = setClock;
  const board: Board = {
    description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured', ntpServer: A },
    ops,
  };
  const logs: LogRecord[] = [];
  const ctx = new Context({ host, board, log: (r) => logs.push(r), logLevel: 'debug' });
  const client = o.client === false ? undefined : new SntpClient(ctx, { defaultServer: '', ...o.client });
  const notifier = new TimeValidNotifier(ctx, { ...o.notifier, ...(client ? { client } : {}) });
  ctx.system.register(notifier);
  const held = () => ctx.system.state.log.filter((r) => r.kind === 'held').map((r) => `${r.toName}:${r.heldBy}`);
  const stepAt = (name: string) => ctx.system.state.log.find((r) => r.kind === 'step' && r.toName === name)?.atUs;
  return { host, ctx, client, notifier, logs, held, stepAt, setPlatformClock: setClock };
}

test('the threshold is libwebsockets\' (06:42 Mon Jul 6 2020 UTC)', () => {
  expect(new Date(TIME_VALID_THRESHOLD_S * 1000).toISOString()).toBe('2020-07-06T06:42:34.000Z');
  expect(TIME_VALID_THRESHOLD_US).toBe(TIME_VALID_THRESHOLD_S * S);
});

describe('with an SNTP client', () => {
  test('TIME_VALID is held until the first sync, then the walk goes on to OPERATIONAL', async () => {
    const { host, ctx, client, notifier, held, stepAt } = make();
    host.addServer(A, 123, ntpServer(), 3 * S);
    await host.run(host.now + 10 * S);
    expect(ctx.system.state.state).toBe(SysState.OPERATIONAL);
    expect(held()).toEqual(['TIME_VALID:sntp']);
    expect(client?.synced).toBe(true);
    expect(stepAt('TIME_VALID')).toBeGreaterThanOrEqual(client?.last?.atUs as number);
    expect(notifier.isHolding).toBe(false);
  });

  test('a server that never answers keeps TIME_VALID held; one that appears releases it', async () => {
    const { host, ctx, notifier } = make();
    await host.run(host.now + 60 * S);
    expect(ctx.system.state.state).toBe(SysState.CPD_PRE_TIME);
    expect(notifier.isHolding).toBe(true);
    expect(notifier.valid).toBe(false);
    host.addServer(A, 123, ntpServer(), S);
    await host.run(host.now + 30 * S);
    expect(ctx.system.state.state).toBe(SysState.OPERATIONAL);
  });

  test('lws\'s rule (trustClockPastThreshold): a plausible clock passes at once, and is still synced', async () => {
    const { host, ctx, client, held } = make({ notifier: { trustClockPastThreshold: true } });
    host.addServer(A, 123, ntpServer(), 3 * S);
    await host.run(host.now + 10 * S);
    expect(held()).toEqual([]);
    expect(ctx.system.state.state).toBe(SysState.OPERATIONAL);
    expect(client?.last?.offsetUs).toBe(3 * S);
  });

  test('lws\'s rule with a clock before the threshold: held until the sync sets it', async () => {
    const { host, ctx, held } = make({ boardWallUs: Y1980_US, notifier: { trustClockPastThreshold: true } });
    host.addServer(A, 123, ntpServer(), 0);
    await host.run(host.now + 10 * S);
    expect(held()).toEqual(['TIME_VALID:sntp']);
    expect(ctx.system.state.state).toBe(SysState.OPERATIONAL);
    expect(ctx.wallUs()).toBeGreaterThan(TIME_VALID_THRESHOLD_US);
  });

  test('synced, but a board that cannot set its clock stays before the threshold: held, and the log says why', async () => {
    const { host, ctx, client, logs } = make({ boardWallUs: Y1980_US, setClock: false });
    host.addServer(A, 123, ntpServer(), 0);
    await host.run(host.now + 10 * S);
    expect(client?.synced).toBe(true);
    expect(ctx.system.state.state).toBe(SysState.CPD_PRE_TIME);
    expect(logs.some((r) => r.level === 'warn' && r.msg.includes('still before the threshold'))).toBe(true);
  });

  test('the threshold is the client\'s validAfterUs by default, and a server before it is not believed', async () => {
    const after2030 = Date.UTC(2030, 0, 1) * 1000;
    const { host, ctx, notifier, client } = make({ client: { validAfterUs: after2030 } });
    expect(notifier.thresholdUs).toBe(after2030);
    host.addServer(A, 123, ntpServer(), 0);
    await host.run(host.now + 5 * S);
    expect(client?.synced).toBe(false);
    expect(ctx.system.state.state).toBe(SysState.CPD_PRE_TIME);
  });
});

describe('without a client', () => {
  test('a clock past the threshold passes at once', async () => {
    const { host, ctx, held } = make({ client: false });
    await host.run();
    expect(held()).toEqual([]);
    expect(ctx.system.state.state).toBe(SysState.OPERATIONAL);
  });

  test('a clock before it holds TIME_VALID, looked at every pollMs, until the platform sets it', async () => {
    const { host, ctx, held, setPlatformClock, stepAt } = make({ client: false, boardWallUs: Y1980_US, notifier: { pollMs: 500 } });
    await host.run(host.now + 5 * S);
    expect(ctx.system.state.state).toBe(SysState.CPD_PRE_TIME);
    const setAt = host.nowUs();
    setPlatformClock(Date.UTC(2026, 5, 1) * 1000);
    await host.run(host.now + 5 * S);
    expect(held()).toEqual(['TIME_VALID:sntp']);
    expect(ctx.system.state.state).toBe(SysState.OPERATIONAL);
    expect((stepAt('TIME_VALID') as number) - setAt).toBeLessThanOrEqual(500_001);
  });
});
