/**
 * The policy at boot and its runtime replacement (lws' policy swap) on a Context: the board's
 * policy becomes the parsed Policy at POLICY_VALID; replace() validates first (a bad policy
 * changes nothing), jumps to POLICY_INVALID — heard over SMD like every state — tells the
 * dependents to drop the old policy, then walks back up to OPERATIONAL with the new one.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Context } from '../../src/loop/context.js';
import { PolicyParseError } from '../../src/ss/policy/index.js';
import type { Policy } from '../../src/ss/policy/index.js';
import type { Board } from '../../src/system/board.js';
import { SMD_CLASS_SYSTEM_STATE } from '../../src/system/smd.js';
import { SysState } from '../../src/system/states.js';
import { LwsxError, UsageError } from '../../src/util/errors.js';
import { utf8Decode } from '../../src/util/utf8.js';
import { VirtualHost } from '../vectors/virtual-host.js';

const OWN_DIR = new URL('../../policies/', import.meta.url).pathname;
const HOST_SIM = readFileSync(OWN_DIR + 'host-sim.json', 'utf8');
const NEXT = JSON.stringify({
  release: '02',
  product: 'lwsx-host-sim',
  retry: [{ default: { backoff: [50, 100], conceal: 3, jitterpc: 150 } }],
  s: [{ sys_status: { endpoint: '127.0.0.2', port: 8081, protocol: 'ws', retry: 'default' } }],
});
const WALK_BACK = ['POLICY_INVALID', 'POLICY_VALID', 'REGISTERED', 'AUTH1', 'AUTH2', 'ONE_TIME_UPDATES', 'OPERATIONAL'];

function device(loadPolicy: () => Promise<string> = () => Promise.resolve(HOST_SIM)) {
  const host = new VirtualHost();
  const errors: LwsxError[] = [];
  const board: Board = {
    description: { board: 'swap', identity: { serial: 'S-1', firmwareVersion: '1', deviceType: 't' }, interfaces: 'preconfigured' },
    ops: {},
    loadPolicy,
  };
  const ctx = new Context({ host, board, onError: (e) => errors.push(e) });
  const smd: string[] = [];
  ctx.smd.register(SMD_CLASS_SYSTEM_STATE, (_c, _t, p) => smd.push(JSON.parse(utf8Decode(p)).state as string));
  const dropped: Array<string | undefined> = [];
  ctx.policyLoader.onPolicyInvalid((old) => dropped.push(old?.release));
  return { host, ctx, errors, smd, dropped };
}

async function operational() {
  const d = device();
  await d.host.run();
  expect(d.ctx.system.state.state).toBe(SysState.OPERATIONAL);
  d.smd.length = 0;
  return d;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('boot', () => {
  test("the board's policy is parsed: the notifier holds the Policy object", async () => {
    const { ctx } = await operational();
    const p = ctx.policyLoader.policy as Policy;
    expect(p.product).toBe('lwsx-host-sim');
    expect(p.streamtypes.sys_status).toMatchObject({ endpoint: '127.0.0.1', port: 8080, protocol: 'h1', retry: 'default' });
    expect(p.retry.default).toMatchObject({ table: [1000, 2000, 3000, 5000, 10000], conceal: 5, jitterPercent: 20 });
    expect(Object.isFrozen(p)).toBe(true);
  });

  test('a board policy that fails validation keeps the device out of OPERATIONAL with the typed error, path and position', async () => {
    const bad = HOST_SIM.replace('"port": 8080', '"port": 80800');
    const { host, ctx, errors } = device(() => Promise.resolve(bad));
    await host.run();
    expect(ctx.system.state.stateName).toBe('CPD_POST_TIME');
    expect(ctx.policyLoader.policy).toBeUndefined();
    expect(errors).toHaveLength(1);
    const e = errors[0] as PolicyParseError;
    expect(e).toBeInstanceOf(PolicyParseError);
    expect([e.code, e.path, e.expected]).toEqual(['ERR_POLICY_RANGE', 's[0].sys_status.port', 'an integer 1..65535']);
    const line = bad.split('\n').findIndex((l) => l.includes('80800')) + 1;
    expect(e.line).toBe(line);
    expect(e.detail).toMatchObject({ path: 's[0].sys_status.port', line, column: expect.any(Number) });
  });

  test('a replacement rescues a boot whose board policy failed', async () => {
    const { host, ctx, errors, smd } = device(() => Promise.resolve('{ "s": [{ "x": { "protocol": "h4" } }] }'));
    await host.run();
    expect(errors.map((e) => e.code)).toEqual(['ERR_POLICY_PROTOCOL']);
    expect(ctx.policyLoader.replace(NEXT).release).toBe('02');
    await host.run();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(ctx.policyLoader.policy?.release).toBe('02');
    // no policy was in force: nothing to invalidate
    expect(smd).not.toContain('POLICY_INVALID');
  });

  test('a replacement made while the board policy is still loading wins over it', async () => {
    let release: (t: string) => void = () => {};
    const { host, ctx, dropped } = device(() => new Promise<string>((r) => { release = r; }));
    await host.run();
    expect(ctx.system.state.log.at(-1)).toMatchObject({ kind: 'held', toName: 'POLICY_VALID', heldBy: 'policy' });
    ctx.policyLoader.replace(NEXT);
    release(HOST_SIM);
    await host.run();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(ctx.policyLoader.policy?.release).toBe('02');
    expect(dropped).toEqual([]);
  });

  test('a replacement ends the hold even when the board load never lands', async () => {
    const { host, ctx, errors } = device(() => new Promise<string>(() => {}));
    await host.run();
    expect(ctx.system.state.log.at(-1)).toMatchObject({ kind: 'held', toName: 'POLICY_VALID', heldBy: 'policy' });
    ctx.policyLoader.replace(NEXT);
    await host.run();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(ctx.policyLoader.policy?.release).toBe('02');
    expect(errors).toEqual([]);
  });

  test('a board policy landing after the replacement took over changes nothing', async () => {
    let release: (t: string) => void = () => {};
    const { host, ctx, errors, smd, dropped } = device(() => new Promise<string>((r) => { release = r; }));
    await host.run();
    ctx.policyLoader.replace(NEXT); // ends the hold: the walk goes on before the board's load lands
    await host.run();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    const next = ctx.policyLoader.policy;
    expect(next?.release).toBe('02');
    release(HOST_SIM);
    await host.run();
    expect(ctx.policyLoader.policy).toBe(next);
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(errors).toEqual([]);
    expect(dropped).toEqual([]);
    expect(smd).not.toContain('POLICY_INVALID');
  });

  test('a board load failing after the replacement took over reports nothing and blocks no later reload', async () => {
    let fail: (e: Error) => void = () => {};
    let loads = 0;
    const { host, ctx, errors } = device(() => {
      loads++;
      return loads === 1 ? new Promise<string>((_r, j) => { fail = j; }) : Promise.resolve(HOST_SIM);
    });
    await host.run();
    ctx.policyLoader.replace(NEXT);
    await host.run();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    fail(new Error('flash read failed'));
    await host.run();
    expect(errors).toEqual([]);
    expect(ctx.policyLoader.error).toBeUndefined();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    // a later jump to POLICY_INVALID reloads the board's policy instead of holding for ever
    ctx.system.state.transition(SysState.POLICY_INVALID);
    ctx.system.resume();
    await host.run();
    expect(loads).toBe(2);
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(ctx.policyLoader.policy?.release).toBe('01');
  });
});

describe('replacement at runtime', () => {
  test('jumps to POLICY_INVALID, drops the old policy, walks back to OPERATIONAL with the new one — all heard over SMD', async () => {
    const { host, ctx, smd, dropped } = await operational();
    const old = ctx.policyLoader.policy;
    const seenAtInvalid: Array<Policy | undefined> = [];
    ctx.policyLoader.onPolicyInvalid(() => seenAtInvalid.push(ctx.policyLoader.policy));
    const next = ctx.policyLoader.replace(NEXT);
    // the walk is synchronous when nothing holds it
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(ctx.policyLoader.policy).toBe(next);
    expect(next).not.toBe(old);
    expect(next.streamtypes.sys_status).toMatchObject({ protocol: 'ws', port: 8081 });
    expect(next.retry.default!.jitterPercent).toBe(150);
    expect(dropped).toEqual(['01']);
    // dependents are told after the old policy is gone, before the new one is in force
    expect(seenAtInvalid).toEqual([undefined]);
    const log = ctx.system.state.log.slice(-WALK_BACK.length);
    expect(log.map((r) => [r.kind, r.toName])).toEqual(WALK_BACK.map((s, i) => [i < 2 ? 'jump' : 'step', s]));
    await host.run();
    expect(smd).toEqual(WALK_BACK);
  });

  test('swapping again drops the policy the last swap installed', async () => {
    const { host, ctx, smd, dropped } = await operational();
    ctx.policyLoader.replace(NEXT);
    ctx.policyLoader.replace(HOST_SIM);
    expect(dropped).toEqual(['01', '02']);
    expect(ctx.policyLoader.policy?.release).toBe('01');
    await host.run();
    expect(smd).toEqual([...WALK_BACK, ...WALK_BACK]);
  });

  test.each([
    ['malformed JSON', '{\n  "release": "03",\n  "s": [ { "a": { "port": 1 } } ,\n', 'ERR_POLICY_JSON', 's[0]'],
    ['a port out of range', '{ "s": [{ "a": { "port": 0 } }] }', 'ERR_POLICY_RANGE', 's[0].a.port'],
    ['an undefined retry', '{ "s": [{ "a": { "retry": "nope" } }] }', 'ERR_POLICY_UNDEFINED_REF', 's[0].a.retry'],
    ['a duplicate streamtype', '{ "s": [{ "a": {} }, { "a": {} }] }', 'ERR_POLICY_DUPLICATE', 's[1].a'],
  ])('a bad replacement (%s) is refused with its typed error and loses nothing', async (_what, text, code, path) => {
    const { host, ctx, smd, dropped } = await operational();
    const before = ctx.policyLoader.policy;
    const logLength = ctx.system.state.log.length;
    const e = thrown(() => ctx.policyLoader.replace(text)) as PolicyParseError;
    expect(e).toBeInstanceOf(PolicyParseError);
    expect([e.code, e.path]).toEqual([code, path]);
    expect(typeof e.line).toBe('number');
    expect(ctx.policyLoader.policy).toBe(before);
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(ctx.system.state.log).toHaveLength(logLength);
    expect(dropped).toEqual([]);
    await host.run();
    expect(smd).toEqual([]);
    // and the device still swaps to a good one afterwards
    ctx.policyLoader.replace(NEXT);
    expect(ctx.policyLoader.policy?.release).toBe('02');
  });

  test('a notifier holding the jump to POLICY_INVALID refuses the swap (ERR_POLICY_SWAP_HELD), changing nothing', async () => {
    const { host, ctx, smd, dropped } = await operational();
    const before = ctx.policyLoader.policy;
    let hold = true;
    ctx.system.register({ name: 'busy', notify: (_m, c, t) => (hold && c !== t && t === SysState.POLICY_INVALID ? 'hold' : 'ok') });
    const e = thrown(() => ctx.policyLoader.replace(NEXT)) as LwsxError;
    expect([e.code, e.detail]).toEqual(['ERR_POLICY_SWAP_HELD', { state: 'OPERATIONAL', heldBy: 'busy' }]);
    expect(ctx.policyLoader.policy).toBe(before);
    expect(dropped).toEqual([]);
    await host.run();
    expect(smd).toEqual([]);
    // the refused replacement is not left behind for a later POLICY_VALID
    hold = false;
    ctx.system.state.transition(SysState.POLICY_INVALID);
    ctx.system.resume();
    await host.run();
    expect(ctx.policyLoader.policy?.release).toBe('01');
  });

  test('a dependent holding a state on the way back up resumes the walk itself', async () => {
    const { host, ctx, smd } = await operational();
    let authed = false;
    ctx.system.register({
      name: 'auth',
      notify: (_m, c, t) => {
        if (c === t || t !== SysState.AUTH1 || authed) return 'ok';
        queueMicrotask(() => {
          authed = true;
          ctx.system.resumeLater();
        });
        return 'hold';
      },
    });
    ctx.policyLoader.replace(NEXT);
    expect(ctx.system.state.stateName).toBe('REGISTERED');
    expect(ctx.policyLoader.policy?.release).toBe('02');
    await host.run();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(smd).toEqual(WALK_BACK);
  });

  test('a jump to POLICY_INVALID without a replacement reloads the board policy', async () => {
    let loads = 0;
    const { host, ctx, dropped } = device(() => {
      loads++;
      return Promise.resolve(HOST_SIM);
    });
    await host.run();
    const first = ctx.policyLoader.policy;
    ctx.system.state.transition(SysState.POLICY_INVALID);
    ctx.system.resume();
    expect(ctx.system.state.stateName).toBe('POLICY_INVALID');
    await host.run();
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    expect(loads).toBe(2);
    expect(dropped).toEqual(['01']);
    expect(ctx.policyLoader.policy).not.toBe(first);
    expect(ctx.policyLoader.policy).toEqual(first);
  });

  test('a throwing dependent does not stop the others hearing it, and is reported', async () => {
    const { ctx, dropped } = await operational();
    ctx.policyLoader.onPolicyInvalid(() => {
      throw new Error('cannot drop');
    });
    const late: string[] = [];
    const off = ctx.policyLoader.onPolicyInvalid(() => late.push('late'));
    ctx.policyLoader.replace(NEXT);
    expect(dropped).toEqual(['01']);
    expect(late).toEqual(['late']);
    expect(ctx.system.state.log.some((r) => r.kind === 'error' && r.heldBy === 'policy' && r.error?.code === 'ERR_NOTIFIER_THREW')).toBe(true);
    expect(ctx.system.state.stateName).toBe('OPERATIONAL');
    off();
    ctx.policyLoader.replace(HOST_SIM);
    expect(late).toEqual(['late']);
  });

  test('no replacement once the context is being destroyed (ERR_POLICY_SWAP_STATE)', async () => {
    const { ctx } = await operational();
    ctx.destroy();
    const e = thrown(() => ctx.policyLoader.replace(NEXT));
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).code).toBe('ERR_POLICY_SWAP_STATE');
  });
});
