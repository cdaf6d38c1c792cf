/**
 * The boot walk as data: a Context on the VirtualHost, with a notifier that holds TIME_VALID
 * until two timer-driven "exchanges" finish, a board policy that arrives as a promise, an attach
 * request for OPERATIONAL and an SMD peer listening to system state. Pure ECMAScript: the
 * results must be identical in Node and in XS.
 */
import { Context } from '../../src/loop/context.js';
import { Sul } from '../../src/loop/sul.js';
import type { Board } from '../../src/system/board.js';
import { SMD_CLASS_SYSTEM_STATE } from '../../src/system/smd.js';
import type { StateManager } from '../../src/system/state.js';
import { SysState } from '../../src/system/states.js';
import { utf8Decode } from '../../src/util/utf8.js';
import { VirtualHost } from './virtual-host.js';

function board(policy: string): Board {
  return {
    description: {
      board: 'vector',
      identity: { serial: 'VEC-1', firmwareVersion: '1.0.0', deviceType: 'vector' },
      interfaces: 'preconfigured',
    },
    ops: {},
    loadPolicy: () => Promise.resolve(policy),
  };
}

export async function bootOnce(policy: string): Promise<{ ctx: Context; host: VirtualHost; errors: string[] }> {
  const host = new VirtualHost();
  const errors: string[] = [];
  const ctx = new Context({ host, board: board(policy), onError: (e) => errors.push(e.code) });
  await host.run();
  return { ctx, host, errors };
}

export async function runBootVectors(): Promise<Record<string, unknown>> {
  const host = new VirtualHost();
  const ctx = new Context({ host, board: board('{"release":"1","s":[]}') });
  const t0 = ctx.createdUs;

  // a stand-in for SNTP: holds TIME_VALID while two 250 ms "exchanges" run on sul timers
  let exchanges = 0;
  const sntp = new Sul();
  ctx.system.register({
    name: 'fake-sntp',
    notify(_m: StateManager, current: number, target: number) {
      if (current === target || target !== SysState.TIME_VALID) return 'ok';
      if (exchanges >= 2) return 'ok';
      if (!sntp.armed) {
        ctx.schedule(sntp, 250_000, () => {
          exchanges++;
          ctx.system.resume();
        });
      }
      return 'hold';
    },
  });

  const smd: string[] = [];
  ctx.smd.register(SMD_CLASS_SYSTEM_STATE, (_cls: number, ts: number, payload: Uint8Array) => {
    smd.push(`${ts - t0}:${utf8Decode(payload)}`);
  });
  let attachedAt = -1;
  let attachedState = '';
  ctx.system.attach(SysState.OPERATIONAL, () => {
    attachedAt = host.nowUs() - t0;
    attachedState = ctx.system.state.stateName;
  });

  await host.run();
  const timeline = ctx.system.state.log.map((r) => `${r.atUs - t0}:${r.kind}:${r.toName}${r.heldBy ? ':' + r.heldBy : ''}`);
  const operational = ctx.system.state.stateName;
  ctx.destroy();

  const bad = await bootOnce('{"release": 1,,}');
  const badState = bad.ctx.system.state.stateName;
  bad.ctx.destroy();

  return { timeline, smd, attachedAt, attachedState, operational, exchanges, bad: { state: badState, errors: bad.errors } };
}
