/**
 * Loop vectors: deterministic, plain-JSON results of the sul scheduler and the retry backoff,
 * driven by seededRandom16. The same function runs under Node and inside the XS engine and the
 * two results must be identical. Imports src/ only; no host, no test framework.
 */

import { SUL_ONLY_IF_AWAKE, SUL_WAKE_IF_SUSPENDED, Sul, SulScheduler } from '../../src/loop/sul.js';
import type { SulList } from '../../src/loop/sul.js';
import {
  RETRY_CONCEAL_ALWAYS,
  RetryState,
  getDelayMs,
  makeRetryPolicy,
  retrySulSchedule,
  seededRandom16,
} from '../../src/loop/retry.js';
import type { RetryPolicy } from '../../src/loop/retry.js';

const POOL = 300;
const STEPS = 1200;

/**
 * A few hundred timers over a narrow range of deadlines (many ties, on both lists), with cancels,
 * reschedules and services at an advancing clock; on their first firing, some timers arm or
 * cancel others from inside the callback.
 */
function sulScenario(seed: number): Record<string, unknown> {
  const r16 = seededRandom16(seed);
  const rnd = (n: number) => r16() % n;
  const sched = new SulScheduler();
  const fired: number[] = [];
  const services: Array<number | null> = [];
  const heads: Array<[number | null, number | null, number]> = [];
  const reacted = new Set<number>();
  let now = 0;

  const suls: Sul[] = [];
  for (let id = 0; id < POOL; id++) {
    suls.push(
      new Sul(() => {
        fired.push(id);
        if (reacted.has(id)) return;
        reacted.add(id);
        const other = suls[(id * 7 + 3) % POOL]!;
        if (id % 5 === 0) sched.scheduleAt(other, now + rnd(4), undefined, id % 2 ? SUL_WAKE_IF_SUSPENDED : SUL_ONLY_IF_AWAKE);
        else if (id % 5 === 1) sched.cancel(other);
      }),
    );
  }

  for (let step = 0; step < STEPS; step++) {
    const k = rnd(100);
    const sul = suls[rnd(POOL)]!;
    if (k < 70) {
      const list: SulList = rnd(4) === 0 ? SUL_WAKE_IF_SUSPENDED : SUL_ONLY_IF_AWAKE;
      sched.scheduleAt(sul, now + rnd(40), undefined, list);
    } else if (k < 85) {
      sched.cancel(sul);
    } else {
      now += rnd(12);
      services.push(sched.service(now) ?? null);
      heads.push([sched.earliest() ?? null, sched.earliestWake() ?? null, sched.count]);
    }
  }
  const pendingAtEnd = sched.count;
  services.push(sched.service(Number.MAX_SAFE_INTEGER) ?? null);
  return { seed, fired, services, heads, pendingAtEnd, finalCount: sched.count };
}

function retrySequence(policy: RetryPolicy | undefined, seed: number, n: number, startCount = 0): Record<string, unknown> {
  const r16 = seededRandom16(seed);
  const state = new RetryState();
  state.count = startCount;
  const delays: Array<[number, boolean]> = [];
  for (let i = 0; i < n; i++) {
    const d = getDelayMs(policy, state, r16);
    delays.push([d.ms, d.conceal]);
  }
  return { seed, startCount, delays, endCount: state.count };
}

/** retrySulSchedule until exhausted: the absolute µs each retry was armed for. */
function retryScheduleRun(policy: RetryPolicy, seed: number): Record<string, unknown> {
  const r16 = seededRandom16(seed);
  const sched = new SulScheduler();
  const state = new RetryState();
  const armedAt: number[] = [];
  let now = 1_000_000;
  const sul = new Sul();
  const onRetry = () => {};
  for (let i = 0; i < 64; i++) {
    if (retrySulSchedule(sched, sul, onRetry, policy, state, now, r16)) break;
    armedAt.push(sul.us);
    now = sul.us;
    sched.service(now);
  }
  return { seed, armedAt, tries: state.count };
}

/** The "default" retry entry of lws's minimal-secure-streams policy. */
export const LWS_EXAMPLE_RETRY = makeRetryPolicy({
  table: [1000, 2000, 3000, 5000, 10000],
  conceal: 5,
  jitterPercent: 20,
  secsSinceValidPing: 30,
  secsSinceValidHangup: 35,
});

export function runLoopVectors(): Record<string, unknown> {
  const lwsExample = LWS_EXAMPLE_RETRY;
  const defaultJitter = makeRetryPolicy({ table: [250, 500, 1000, 2000, 4000, 8000], conceal: 10 });
  const wide = makeRetryPolicy({ table: [0, 1, 0x7fffffff, 0xffffffff], conceal: 8, jitterPercent: 100 });
  const always = makeRetryPolicy({ table: [60000], conceal: RETRY_CONCEAL_ALWAYS, jitterPercent: 1 });

  const r = seededRandom16(0);
  const prng = Array.from({ length: 8 }, () => r());

  return {
    prng,
    sul: [sulScenario(1), sulScenario(0x5eed)],
    retry: {
      noPolicy: retrySequence(undefined, 7, 6),
      lwsExample: retrySequence(lwsExample, 11, 9),
      defaultJitter: retrySequence(defaultJitter, 13, 12),
      wide: retrySequence(wide, 17, 10),
      concealAlways: retrySequence(always, 19, 4, 0xfffd),
      scheduled: retryScheduleRun(lwsExample, 23),
    },
  };
}
