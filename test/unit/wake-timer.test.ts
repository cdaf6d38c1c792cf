/**
 * WakeTimer against a recording platform timer and a hand-moved clock: whole-ms delays rounded
 * up, only a deadline already due asked for as 0 ms (the next turn), one under a tick away as
 * 1 ms (no busy loop of next turns), never firing early, long waits in steps, re-arming replacing, errors typed.
 */
import { WakeTimer } from '../../src/net/wake-timer.js';
import type { PlatformTimer } from '../../src/net/wake-timer.js';

class Platform implements PlatformTimer<number> {
  readonly sets: number[] = [];
  readonly pending = new Map<number, () => void>();
  private next = 1;
  set(fn: () => void, ms: number): number {
    this.sets.push(ms);
    const id = this.next++;
    this.pending.set(id, fn);
    return id;
  }
  clear(t: number): void {
    this.pending.delete(t);
  }
  /** runs every timer set so far, as the platform would once they are due */
  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const f of due) f();
  }
}

function make() {
  const p = new Platform();
  const clock = { us: 1_000_000 };
  let fired = 0;
  const t = new WakeTimer(p, () => clock.us, () => fired++);
  return { p, clock, t, fired: () => fired };
}

test('delays are whole ms rounded up; a deadline under one ms away is one 1 ms timer, not a spin of next turns', () => {
  const { p, clock, t, fired } = make();
  t.arm(clock.us + 5_500);
  expect(p.sets).toEqual([6]);
  t.arm(clock.us + 500);
  expect(p.sets).toEqual([6, 1]);
  expect(p.pending.size).toBe(1); // re-arming replaced the first
  clock.us += 1_000;
  p.fireAll();
  expect(fired()).toBe(1);
  // one platform arm for the 0.5 ms deadline: no next-turn polling until it comes
  expect(p.sets).toEqual([6, 1]);
  expect(t.atUs).toBeUndefined();
  expect(p.pending.size).toBe(0);
  // a platform timer that fires before a sub-ms deadline (its clock ran behind) waits 1 ms more, once
  t.arm(clock.us + 400);
  clock.us += 100;
  p.fireAll();
  expect(fired()).toBe(1);
  expect(p.sets).toEqual([6, 1, 1, 1]);
  clock.us += 300;
  p.fireAll();
  expect(fired()).toBe(2);
});

test('a deadline due or past runs on the next turn; a platform timer that fires early is re-armed for the rest', () => {
  const { p, clock, t, fired } = make();
  t.arm(clock.us - 50);
  expect(p.sets).toEqual([0]);
  p.fireAll();
  expect(fired()).toBe(1);
  // "the next pass", armed inside a pass for its start + 1 µs, is due too (a pass can take under 1 µs)
  t.arm(clock.us + 1);
  expect(p.sets).toEqual([0, 0]);
  clock.us += 1;
  p.fireAll();
  expect(fired()).toBe(2);
  p.sets.splice(1, 1);
  t.arm(clock.us + 10_000);
  clock.us += 8_000; // the platform's clock ran ahead of ours
  p.fireAll();
  expect(fired()).toBe(2);
  expect(p.sets).toEqual([0, 10, 2]);
  clock.us += 2_000;
  p.fireAll();
  expect(fired()).toBe(3);
});

test('long waits go in steps the platform can hold; undefined disarms; close is final; bad deadlines are typed errors', () => {
  const { p, clock, t, fired } = make();
  t.arm(clock.us + 3e12); // ~35 days
  expect(p.sets).toEqual([0x7fffffff]);
  t.arm(undefined);
  expect(p.pending.size).toBe(0);
  expect(() => t.arm(Number.NaN)).toThrow(expect.objectContaining({ code: 'ERR_WAKE_TIMER' }));
  t.close();
  t.arm(clock.us);
  expect(p.pending.size).toBe(0);
  expect(fired()).toBe(0);
});
