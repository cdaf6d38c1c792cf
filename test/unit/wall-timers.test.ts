/** Wall-clock timers on the monotonic sul: armed for a wall time, moved when the clock steps. */
import { expect, test } from '@jest/globals';
import { Context } from '../../src/loop/context.js';
import { Sul } from '../../src/loop/sul.js';
import { WallTimers } from '../../src/loop/wall-timers.js';
import type { Board } from '../../src/system/board.js';
import { VirtualHost } from '../vectors/virtual-host.js';

/** A board keeping its own wall clock as an offset from the host's, as host-sim does. */
function make() {
  const host = new VirtualHost();
  let offsetUs = 0;
  const board: Board = {
    description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' },
    ops: {
      setClock: (us) => { offsetUs = us - host.wallUs(); },
      wallUs: () => host.wallUs() + offsetUs,
    },
  };
  const ctx = new Context({ host, board });
  const wall = new WallTimers(ctx);
  /** steps the board clock by `delta` and tells the timers, as the SNTP client does */
  const step = (delta: number): void => {
    board.ops.setClock!(ctx.wallUs() + delta);
    wall.clockStepped(delta);
  };
  return { host, ctx, wall, step };
}

test('fires when the wall clock reads the requested time', async () => {
  const { host, ctx, wall } = make();
  await host.run();
  const s = new Sul();
  const at = ctx.wallUs() + 10_000_000;
  let firedWall = 0;
  wall.scheduleAtWall(s, at, () => { firedWall = ctx.wallUs(); });
  expect(wall.count).toBe(1);
  expect(wall.deadlineOf(s)).toBe(at);
  await host.run();
  expect(firedWall).toBe(at);
  expect(wall.count).toBe(0);
  expect(wall.deadlineOf(s)).toBeUndefined();
});

test('a forward step brings a timer closer on the monotonic clock, at the same wall time', async () => {
  const { host, ctx, wall, step } = make();
  await host.run();
  const s = new Sul();
  const at = ctx.wallUs() + 10_000_000;
  const mono0 = host.nowUs();
  let firedWall = 0;
  let firedMono = 0;
  wall.scheduleAtWall(s, at, () => { firedWall = ctx.wallUs(); firedMono = host.nowUs(); });
  step(4_000_000);
  await host.run();
  expect(firedWall).toBe(at);
  expect(firedMono - mono0).toBe(6_000_000);
});

test('a backward step pushes a timer later, at the same wall time', async () => {
  const { host, ctx, wall, step } = make();
  await host.run();
  const s = new Sul();
  const at = ctx.wallUs() + 10_000_000;
  const mono0 = host.nowUs();
  let firedMono = 0;
  wall.scheduleAtWall(s, at, () => { firedMono = host.nowUs(); });
  step(-3_000_000);
  await host.run();
  expect(firedMono - mono0).toBe(13_000_000);
});

test('a step past a timer makes it fire on the next pass; ordinary suls do not move', async () => {
  const { host, ctx, wall, step } = make();
  await host.run();
  const order: string[] = [];
  const w = new Sul();
  const plain = new Sul();
  const mono0 = host.nowUs();
  wall.scheduleAtWall(w, ctx.wallUs() + 5_000_000, () => order.push(`wall@${host.nowUs() - mono0}`));
  ctx.schedule(plain, 1_000_000, () => order.push(`plain@${host.nowUs() - mono0}`));
  step(3600_000_000);
  await host.run();
  expect(order).toEqual(['wall@0', 'plain@1000000']);
});

test('cancelled timers, and suls re-armed as ordinary timers, are left alone by a step', async () => {
  const { host, ctx, wall, step } = make();
  await host.run();
  const a = new Sul();
  const b = new Sul();
  const c = new Sul();
  const fired: string[] = [];
  const mono0 = host.nowUs();
  wall.scheduleAtWall(a, ctx.wallUs() + 5_000_000, () => fired.push('a'));
  wall.scheduleAtWall(b, ctx.wallUs() + 5_000_000, () => fired.push('b'));
  wall.scheduleAtWall(c, ctx.wallUs() + 5_000_000, () => fired.push(`c@${host.nowUs() - mono0}`));
  wall.cancel(a);
  ctx.cancel(b);
  // c becomes a plain monotonic timer: a clock step must not move it
  ctx.schedule(c, 8_000_000, () => fired.push(`c@${host.nowUs() - mono0}`));
  expect(wall.count).toBe(0);
  step(2_000_000);
  await host.run();
  expect(fired).toEqual(['c@8000000']);
});

test('a zero step changes nothing', async () => {
  const { host, ctx, wall } = make();
  await host.run();
  const s = new Sul();
  wall.scheduleAtWall(s, ctx.wallUs() + 1_000_000, () => {});
  const us = s.us;
  wall.clockStepped(0);
  expect(s.us).toBe(us);
});
