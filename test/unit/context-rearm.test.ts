/**
 * How the Context keeps the host's one wake timer: a schedule from outside a pass only ever
 * moves it earlier (a busy connection pushes its timeout back on every request without touching
 * the platform timer); a wake before anything is due runs nothing and re-arms for the real
 * earliest deadline; after a pass the timer is exactly the earliest deadline, or disarmed.
 */
import { Context } from '../../src/loop/context.js';
import { Sul } from '../../src/loop/sul.js';
import { VirtualHost } from '../vectors/virtual-host.js';

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };

/** The virtual host, counting how often the Context sets its timer. */
class CountingHost extends VirtualHost {
  sets = 0;
  override setWakeTimer(atUs: number | undefined): void {
    this.sets++;
    super.setWakeTimer(atUs);
  }
}

async function booted(): Promise<{ host: CountingHost; ctx: Context }> {
  const host = new CountingHost();
  const ctx = new Context({ host, board });
  await host.run();
  expect(host.wakeAt).toBeUndefined();
  return { host, ctx };
}

test('pushing a deadline later leaves the host timer alone; pulling one earlier moves it', async () => {
  const { host, ctx } = await booted();
  const t0 = host.nowUs();
  const fired: string[] = [];
  const idle = new Sul(() => fired.push('idle'));
  ctx.scheduleAt(idle, t0 + 5_000_000);
  expect(host.wakeAt).toBe(t0 + 5_000_000);
  const sets = host.sets;
  // a connection's idle timeout, pushed back on each of 100 requests
  for (let i = 1; i <= 100; i++) ctx.scheduleAt(idle, t0 + 5_000_000 + i * 1000);
  expect(host.sets).toBe(sets);
  expect(host.wakeAt).toBe(t0 + 5_000_000);
  // an earlier deadline must move it
  const soon = new Sul(() => fired.push('soon'));
  ctx.scheduleAt(soon, t0 + 1_000_000);
  expect(host.wakeAt).toBe(t0 + 1_000_000);
  expect(host.sets).toBe(sets + 1);
  await host.run(t0 + 10_000_000);
  expect(fired).toEqual(['soon', 'idle']);
  expect(host.wakeAt).toBeUndefined();
});

test('a wake before anything is due runs nothing and re-arms for the real deadline', async () => {
  const { host, ctx } = await booted();
  const t0 = host.nowUs();
  const fired: number[] = [];
  const s = new Sul(() => fired.push(host.nowUs()));
  ctx.scheduleAt(s, t0 + 1_000);
  ctx.scheduleAt(s, t0 + 9_000);
  // the timer still says t0 + 1000: the pass it wakes finds nothing ripe
  expect(host.wakeAt).toBe(t0 + 1_000);
  host.now = t0 + 1_000;
  ctx.service();
  expect(fired).toEqual([]);
  expect(host.wakeAt).toBe(t0 + 9_000);
  host.now = t0 + 9_000;
  ctx.service();
  expect(fired).toEqual([t0 + 9_000]);
  expect(host.wakeAt).toBeUndefined();
});

test('a cancelled timer never fires, even though the host timer still points at it', async () => {
  const { host, ctx } = await booted();
  const t0 = host.nowUs();
  let fired = 0;
  const s = new Sul(() => fired++);
  ctx.scheduleAt(s, t0 + 2_000);
  ctx.cancel(s);
  await host.run(t0 + 1_000_000);
  expect(fired).toBe(0);
  expect(host.wakeAt).toBeUndefined();
});

/** The virtual host with a one-shot timer, as platforms have: firing it disarms it. */
class OneShotHost extends VirtualHost {
  fire(): void {
    const at = this.wakeAt;
    if (at === undefined) throw new Error('no timer armed');
    this.wakeAt = undefined;
    if (at > this.now) this.now = at;
    this.wakeup();
  }
}

test('a pass that fails (a board attach op throws) is logged, and timers keep firing afterwards', async () => {
  const host = new OneShotHost();
  const logs: string[] = [];
  let attachCalls = 0;
  const throwingBoard = { ...board, ops: { attach: () => { attachCalls++; throw new Error('board lock broken'); } } };
  const ctx = new Context({ host, board: throwingBoard, log: (r) => { if (r.level === 'err') logs.push(r.msg); } });
  await host.run();
  const t0 = host.nowUs();
  const fired: string[] = [];
  ctx.onAttach(7, () => fired.push('attach'));
  ctx.scheduleAt(new Sul(() => fired.push('a')), t0 + 1_000);
  expect(host.wakeAt).toBe(t0 + 1_000);
  // another thread's request is waiting when the timer fires: its attach op throws in the pass
  expect(ctx.attachMailbox.post(7, 0, 1)).toBe(true);
  expect(ctx.attachMailbox.post(7, 0, 2)).toBe(true);
  expect(() => host.fire()).not.toThrow();
  expect(attachCalls).toBe(2); // the record behind the failing one was not stranded
  expect(logs.filter((m) => m.includes('board lock broken'))).toHaveLength(2);
  expect(fired).toEqual(['a']); // the pass went on to the ripe timer
  // a timer armed after the failed pass still gets the host's timer
  ctx.scheduleAt(new Sul(() => fired.push('b')), t0 + 5_000);
  expect(host.wakeAt).toBe(t0 + 5_000);
  host.fire();
  expect(fired).toEqual(['a', 'b']);
  ctx.destroy();
});
