/** The Context and lws_system on the virtual host: boot, holds, attach, SMD, errors, destroy. */
import { Context } from '../../src/loop/context.js';
import type { LogRecord } from '../../src/loop/log.js';
import { Sul } from '../../src/loop/sul.js';
import { BlobType } from '../../src/system/blob.js';
import { BoardError, parseBoardFile } from '../../src/system/board.js';
import type { Board, BoardDescription } from '../../src/system/board.js';
import type { InterfaceConfig } from '../../src/system/ops.js';
import { SMD_CLASS_SYSTEM_STATE } from '../../src/system/smd.js';
import { SYS_STATE_NAMES, SysState } from '../../src/system/states.js';
import { LwsxError } from '../../src/util/errors.js';
import { utf8Decode } from '../../src/util/utf8.js';
import { VirtualHost } from '../vectors/virtual-host.js';

const desc = (over: Partial<BoardDescription> = {}): BoardDescription => ({
  board: 'test',
  identity: { serial: 'T-1', firmwareVersion: '2.0.0', deviceType: 'tester' },
  interfaces: 'preconfigured',
  ...over,
});

function make(board: Partial<Board> & { description?: BoardDescription } = {}) {
  const host = new VirtualHost();
  const logs: LogRecord[] = [];
  const errors: LwsxError[] = [];
  const b: Board = { description: desc(), ops: {}, ...board };
  const ctx = new Context({ host, board: b, log: (r) => logs.push(r), logLevel: 'debug', onError: (e) => errors.push(e) });
  return { host, ctx, logs, errors };
}

test('boot waits one tick, then walks every state in lws order to OPERATIONAL', async () => {
  const { host, ctx } = make();
  const heard: string[] = [];
  // registered after construction: it still hears the whole walk, because boot starts a tick later
  ctx.system.register({ name: 'listener', notify: (_m, cur, tgt) => { if (cur === tgt) heard.push(SYS_STATE_NAMES[cur] as string); return 'ok'; } });
  expect(ctx.system.state.state).toBe(SysState.CONTEXT_CREATED);
  await host.run();
  expect(ctx.system.state.state).toBe(SysState.OPERATIONAL);
  // nothing left to do: the host's timer is disarmed, not left at a stale deadline
  expect(host.wakeAt).toBeUndefined();
  expect(heard).toEqual(SYS_STATE_NAMES.slice(SysState.PRE_PRIV_DROP, SysState.OPERATIONAL + 1));
});

test('a notifier holds a state and resumes the walk later', async () => {
  const { host, ctx } = make();
  const sul = new Sul();
  let done = false;
  ctx.system.register({
    name: 'slow-auth',
    notify: (_m, cur, tgt) => {
      if (cur === tgt || tgt !== SysState.AUTH1 || done) return 'ok';
      ctx.schedule(sul, 2_000_000, () => { done = true; ctx.system.resume(); });
      return 'hold';
    },
  });
  const t0 = host.nowUs();
  await host.run();
  expect(ctx.system.state.stateName).toBe('OPERATIONAL');
  const held = ctx.system.state.log.filter((r) => r.kind === 'held');
  expect(held.map((r) => [r.toName, r.heldBy])).toEqual([['AUTH1', 'slow-auth']]);
  const auth1 = ctx.system.state.log.find((r) => r.kind === 'step' && r.toName === 'AUTH1');
  expect((auth1?.atUs as number) - t0).toBeGreaterThanOrEqual(2_000_000);
});

test('the policy notifier holds POLICY_VALID until the board policy has loaded', async () => {
  let release: (t: string) => void = () => {};
  const { host, ctx } = make({ loadPolicy: () => new Promise<string>((r) => { release = r; }) });
  await host.run();
  expect(ctx.system.state.stateName).toBe('CPD_POST_TIME');
  expect(ctx.system.state.log.at(-1)).toMatchObject({ kind: 'held', toName: 'POLICY_VALID', heldBy: 'policy' });
  release('{"release":"1","s":[]}');
  await host.run();
  expect(ctx.system.state.stateName).toBe('OPERATIONAL');
  // the Secure Streams parser's policy object
  expect(ctx.policyLoader.policy).toMatchObject({ release: '1', streamtypes: {}, warnings: [] });
});

test.each([
  ['{"release": "1",,}', 'ERR_POLICY_JSON'],
  ['{"release": 1}', 'ERR_POLICY_TYPE'],
  ['[1, 2]', 'ERR_POLICY_TYPE'],
])('an invalid policy %s keeps the device out of OPERATIONAL with %s', async (text, code) => {
  const { host, ctx, errors } = make({ loadPolicy: () => Promise.resolve(text) });
  await host.run();
  expect(ctx.system.state.stateName).toBe('CPD_POST_TIME');
  expect(errors.map((e) => e.code)).toEqual([code]);
  expect(errors[0]).toBeInstanceOf(LwsxError);
  // the loop is still alive: timers run
  let ran = false;
  ctx.schedule(new Sul(), 10, () => { ran = true; });
  await host.run();
  expect(ran).toBe(true);
});

test('a policy load that rejects with a plain error becomes a typed ERR_POLICY_LOAD', async () => {
  const { host, errors } = make({ loadPolicy: () => Promise.reject(new Error('flash read failed')) });
  await host.run();
  expect(errors.map((e) => [e.code, e.message])).toEqual([['ERR_POLICY_LOAD', 'policy could not be loaded: flash read failed']]);
});

test('a throwing notifier is reported with its name, holds, and a later resume goes on', async () => {
  let throwing = true;
  const { host, ctx, logs } = make();
  ctx.system.register({ name: 'flaky', notify: (_m, cur, tgt) => { if (throwing && cur !== tgt && tgt === SysState.REGISTERED) throw new Error('boom'); return 'ok'; } });
  await host.run();
  expect(ctx.system.state.stateName).toBe('POLICY_VALID');
  const err = ctx.system.state.log.find((r) => r.kind === 'error');
  expect(err?.error?.code).toBe('ERR_NOTIFIER_THREW');
  expect(logs.some((l) => l.level === 'err' && /flaky/.test(JSON.stringify(l)))).toBe(true);
  throwing = false;
  ctx.system.resume();
  expect(ctx.system.state.stateName).toBe('OPERATIONAL');
});

test('attach: callbacks run on the loop at or after their state, in request order', async () => {
  const { host, ctx } = make();
  const seen: string[] = [];
  ctx.system.attach(SysState.OPERATIONAL, () => seen.push(`op@${ctx.system.state.stateName}`));
  ctx.system.attach(SysState.TIME_VALID, () => seen.push(`tv@${ctx.system.state.stateName}`));
  expect(seen).toEqual([]); // never synchronously
  await host.run();
  ctx.system.attach(SysState.DHCP, () => seen.push(`late@${ctx.system.state.stateName}`));
  expect(seen).toHaveLength(2); // a late request still waits for the next loop iteration
  await host.run();
  // nothing held the walk, so both were ready on the same iteration: request order
  expect(seen).toEqual(['op@OPERATIONAL', 'tv@OPERATIONAL', 'late@OPERATIONAL']);
});

test('attach: a request waits while the walk is held below its state', async () => {
  const { host, ctx } = make({ loadPolicy: () => new Promise<string>(() => {}) });
  const seen: string[] = [];
  ctx.system.attach(SysState.TIME_VALID, () => seen.push(ctx.system.state.stateName));
  ctx.system.attach(SysState.OPERATIONAL, () => seen.push('never'));
  await host.run();
  expect(seen).toEqual(['CPD_POST_TIME']);
});

test("a board's attach op wraps the core queue (its own locking)", async () => {
  const calls: number[] = [];
  const { host, ctx } = make({ ops: { attach: (req, enqueue) => { calls.push(req.state); enqueue(req); } } });
  let ran = false;
  ctx.system.attach(SysState.OPERATIONAL, () => { ran = true; });
  await host.run();
  expect(calls).toEqual([SysState.OPERATIONAL]);
  expect(ran).toBe(true);
});

test('each transition is published over SMD as {"state":"NAME"}', async () => {
  const { host, ctx } = make();
  const msgs: string[] = [];
  ctx.smd.register(SMD_CLASS_SYSTEM_STATE, (_c, _t, p) => msgs.push(utf8Decode(p)));
  await host.run();
  expect(msgs.at(-1)).toBe('{"state":"OPERATIONAL"}');
  expect(msgs).toContain('{"state":"POLICY_VALID"}');
  expect(msgs.length).toBe(SysState.OPERATIONAL - SysState.CONTEXT_CREATED);
});

test('a dhcp board holds DHCP until an interface is bound, then configures it through its op', async () => {
  const configured: InterfaceConfig[] = [];
  const removed: string[] = [];
  let bind: ((c: InterfaceConfig) => void) | undefined;
  const { host, ctx } = make({
    description: desc({ interfaces: 'dhcp' }),
    ops: { configureInterface: (c) => configured.push(c), deconfigureInterface: (n) => removed.push(n) },
    start: (dev) => { bind = (c) => dev.interfaceBound(c); },
  });
  await host.run();
  expect(ctx.system.state.stateName).toBe('IFACE_COLDPLUG');
  expect(ctx.netif.interfaces.map((i) => i.name)).toEqual(['lo']);
  const cfg: InterfaceConfig = { name: 'eth0', address: { family: 'IPv4', address: '10.0.0.5', prefixLength: 24 }, router: '10.0.0.1' };
  bind?.(cfg);
  await host.run();
  expect(configured).toEqual([cfg]);
  expect(ctx.system.state.stateName).toBe('OPERATIONAL');
  // a lost lease takes the address off through the board
  ctx.netif.unbound('eth0');
  expect(ctx.netif.binding).toBeUndefined();
  expect(removed).toEqual(['eth0']);
});

test('identity blobs come from the board; optional ops may be absent', async () => {
  const { host, ctx } = make();
  expect(ctx.system.blobs.get(BlobType.DEVICE_SERIAL).text()).toBe('T-1');
  expect(ctx.system.blobs.get(BlobType.DEVICE_FW_VERSION).text()).toBe('2.0.0');
  expect(ctx.system.blobs.get(BlobType.DEVICE_TYPE).text()).toBe('tester');
  expect(ctx.system.blobs.get(BlobType.NTP_SERVER).size).toBe(0);
  expect(ctx.system.captivePortalDetect()).toBe(false);
  expect(ctx.wallUs()).toBe(host.wallUs());
  await host.run();
});

test('metrics go to the board op, which decides whether they reset', () => {
  const seen: string[] = [];
  const m = { name: 'cpd', kind: 'event' as const, count: 3, sum: 3, min: 1, max: 1 };
  expect(make().ctx.system.reportMetric(m)).toBe(false); // no op: kept, nothing thrown
  const { ctx } = make({ ops: { metricReport: (x) => { seen.push(x.name); return true; } } });
  expect(ctx.system.reportMetric(m)).toBe(true);
  expect(seen).toEqual(['cpd']);
});

test('captive portal detection goes through the board op and records the result', () => {
  const { ctx } = make({ ops: { captivePortalDetectRequest: (report) => report(2) } });
  expect(ctx.system.captivePortalDetect()).toBe(true);
  expect(ctx.system.cpdResult).toBe(2);
});

test('a throwing timer callback is logged and the loop keeps running', async () => {
  const { host, ctx, logs } = make();
  let later = false;
  ctx.schedule(new Sul(), 5, () => { throw new Error('oops'); });
  ctx.schedule(new Sul(), 10, () => { later = true; });
  await host.run();
  expect(later).toBe(true);
  expect(logs.some((l) => l.level === 'err' && l.msg.includes('oops'))).toBe(true);
});

test('destroy steps to CONTEXT_DESTROYING and the context refuses more work', async () => {
  const { host, ctx } = make();
  await host.run();
  const heard: string[] = [];
  ctx.system.register({ name: 'bye', notify: (_m, cur, tgt) => { if (cur === tgt) heard.push(SYS_STATE_NAMES[cur] as string); return 'ok'; } });
  ctx.destroy();
  expect(heard).toEqual(['CONTEXT_DESTROYING']);
  expect(host.wakeAt).toBeUndefined();
  expect(() => ctx.schedule(new Sul(), 1, () => {})).toThrow(expect.objectContaining({ code: 'ERR_CONTEXT_DESTROYED' }));
  ctx.destroy(); // idempotent
});

describe('board files', () => {
  const good = { board: 'b', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' } };
  test('a good file parses, with defaults', () => {
    expect(parseBoardFile(JSON.stringify(good))).toEqual({ ...good, interfaces: 'preconfigured' });
  });
  test.each([
    ['{"board": ', 'ERR_BOARD_JSON', undefined],
    ['[]', 'ERR_BOARD_FILE', '$'],
    [JSON.stringify({ ...good, identity: { ...good.identity, serial: '' } }), 'ERR_BOARD_FILE', 'identity.serial'],
    [JSON.stringify({ ...good, identity: undefined }), 'ERR_BOARD_FILE', 'identity'],
    [JSON.stringify({ ...good, interfaces: 'wifi' }), 'ERR_BOARD_FILE', 'interfaces'],
    [JSON.stringify({ ...good, colour: 'red' }), 'ERR_BOARD_FILE', 'colour'],
    [JSON.stringify({ ...good, ntpServer: 42 }), 'ERR_BOARD_FILE', 'ntpServer'],
  ])('%s → %s at %s', (text, code, path) => {
    try {
      parseBoardFile(text, 'x.json');
      throw new Error('parsed');
    } catch (e) {
      expect(e).toBeInstanceOf(BoardError);
      expect((e as BoardError).code).toBe(code);
      if (path) expect((e as BoardError).detail?.['path']).toBe(path);
    }
  });
});
