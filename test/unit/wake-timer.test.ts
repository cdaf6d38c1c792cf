/**
 * WakeTimer against a recording platform timer and a hand-moved clock: whole-ms delays rounded
 * up, a deadline under a tick away asked for as 0 ms (the next turn) and re-checked there, never
 * firing early, long waits in steps, re-arming replacing, errors typed.
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

test('delays are whole ms rounded up; under one ms away is the next turn, re-checked until due', () => {
  const { p, clock, t, fired } = make();
  t.arm(clock.us + 5_500);
  expect(p.sets).toEqual([6]);
  t.arm(clock.us + 400);
  expect(p.sets).toEqual([6, 0]);
  expect(p.pending.size).toBe(1); // re-arming replaced the first
  // the next turn comes before the deadline: asked again for the next turn, nothing fired
  clock.us += 100;
  p.fireAll();
  expect(fired()).toBe(0);
  expect(p.sets).toEqual([6, 0, 0]);
  clock.us += 300;
  p.fireAll();
  expect(fired()).toBe(1);
  expect(t.atUs).toBeUndefined();
  expect(p.pending.size).toBe(0);
});

test('a deadline due or past runs on the next turn; a platform timer that fires early is re-armed for the rest', () => {
  const { p, clock, t, fired } = make();
  t.arm(clock.us - 50);
  expect(p.sets).toEqual([0]);
  p.fireAll();
  expect(fired()).toBe(1);
  t.arm(clock.us + 10_000);
  clock.us += 8_000; // the platform's clock ran ahead of ours
  p.fireAll();
  expect(fired()).toBe(1);
  expect(p.sets).toEqual([0, 10, 2]);
  clock.us += 2_000;
  p.fireAll();
  expect(fired()).toBe(2);
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
