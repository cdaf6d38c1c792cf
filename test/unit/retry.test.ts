import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  RETRY_CONCEAL_ALWAYS,
  RetryPolicyError,
  RetryState,
  getDelayMs,
  makeRetryPolicy,
  random16FromBytes,
  retrySulSchedule,
  seededRandom16,
} from '../../src/loop/retry.js';
import type { RetryPolicy, RetryPolicyInit } from '../../src/loop/retry.js';
import { Sul, SulScheduler } from '../../src/loop/sul.js';
import { LwsxError, UsageError } from '../../src/util/errors.js';
import { LWS_EXAMPLE_RETRY } from '../vectors/loop-vectors.js';

/** A Random16 that replays fixed values, and counts how many it handed out. */
function fixed(...values: number[]) {
  let i = 0;
  const r = () => values[i++ % values.length]!;
  return Object.assign(r, { drawn: () => i });
}

function delays(policy: RetryPolicy | undefined, n: number, ra: number, state = new RetryState()) {
  const out: Array<[number, boolean]> = [];
  for (let i = 0; i < n; i++) {
    const d = getDelayMs(policy, state, () => ra);
    out.push([d.ms, d.conceal]);
  }
  return out;
}

/** lws_retry_get_delay_ms() transcribed with uint64 BigInt arithmetic. */
function reference(p: RetryPolicy | undefined, ctry: number, ra: number): { ms: number; conceal: boolean; ctry: number } {
  let ms = 3000n;
  let pc = 30n;
  if (p) {
    ms = BigInt(ctry < p.table.length ? p.table[ctry]! : p.table[p.table.length - 1]!);
    if (p.jitterPercent) pc = BigInt(p.jitterPercent);
  }
  ms += ((ms * pc * BigInt(ra)) >> 16n) / 100n;
  if (ctry < 0xffff) ctry++;
  return { ms: Number(BigInt.asUintN(32, ms)), conceal: p ? ctry <= p.conceal : false, ctry };
}

// The first policy of lws' minimal-secure-streams example.
const lwsDefault = LWS_EXAMPLE_RETRY;

describe('getDelayMs: hand-computed vectors', () => {
  test('no policy: 3000 ms + 30 % jitter, never concealed', () => {
    expect(delays(undefined, 1, 0)).toEqual([[3000, false]]);
    // 3000*30*0xffff >> 16 = 89998, /100 = 899
    expect(delays(undefined, 1, 0xffff)).toEqual([[3899, false]]);
    // 3000*30*0x8000 >> 16 = 45000, /100 = 450
    expect(delays(undefined, 3, 0x8000)).toEqual([[3450, false], [3450, false], [3450, false]]);
  });

  test('no policy still counts the try and draws entropy', () => {
    const s = new RetryState();
    const r = fixed(7);
    getDelayMs(undefined, s, r);
    getDelayMs(undefined, s, r);
    expect(s.count).toBe(2);
    expect(r.drawn()).toBe(2);
  });

  test('table walks then clamps to its last entry; rand16 = 0 adds nothing', () => {
    expect(delays(lwsDefault, 8, 0).map(([ms]) => ms)).toEqual([1000, 2000, 3000, 5000, 10000, 10000, 10000, 10000]);
  });

  test('jitter 20 %: rand16 0x8000 adds 10 %, 0xffff adds just under 20 %', () => {
    // 1000*20*0x8000 >> 16 = 10000 -> 100
    expect(delays(lwsDefault, 1, 0x8000)[0]![0]).toBe(1100);
    // 1000*20*0xffff >> 16 = 19999 -> 199 (truncated twice, never the full 200)
    expect(delays(lwsDefault, 1, 0xffff)[0]![0]).toBe(1199);
    // 10000*20*0xffff >> 16 = 199996 -> 1999
    const s = new RetryState();
    s.count = 4;
    expect(getDelayMs(lwsDefault, s, () => 0xffff).ms).toBe(11999);
  });

  test('jitter 0 in a policy means the default 30 %, not none', () => {
    const p = makeRetryPolicy({ table: [1000] });
    expect(p.jitterPercent).toBe(0);
    // 1000*30*0xffff >> 16 = 29999 -> 299
    expect(delays(p, 1, 0xffff)[0]![0]).toBe(1299);
    expect(delays(p, 1, 0x8000)[0]![0]).toBe(1150);
  });

  test('jitter 100 %', () => {
    const p = makeRetryPolicy({ table: [0, 1, 100, 0x80000000], jitterPercent: 100, conceal: 9 });
    expect(delays(p, 4, 0xffff).map(([ms]) => ms)).toEqual([0, 1, 199, 4294934528]);
  });

  test('jitter past 100 % (a uint8_t in lws) is used as it is, up to 255 %', () => {
    const p = makeRetryPolicy({ table: [1000, 0xffffffff], jitterPercent: 255, conceal: 9 });
    // 1000*255*0xffff >> 16 = 254996, /100 = 2549: more jitter than delay, as lws computes it
    expect(delays(p, 1, 0xffff)[0]![0]).toBe(3549);
    // 1000*150*0x8000 >> 16 = 75000 -> 750
    expect(delays(makeRetryPolicy({ table: [1000], jitterPercent: 150 }), 1, 0x8000)[0]![0]).toBe(1750);
    // the largest product: 0xffffffff*255*0xffff, past 2^53, still exact; mod 2^32 as the C return
    const s = new RetryState();
    s.count = 1;
    expect(getDelayMs(p, s, () => 0xffff).ms).toBe(reference(p, 1, 0xffff).ms);
    expect(reference(p, 1, 0xffff).ms).toBe(Number((0xffffffffn + ((0xffffffffn * 255n * 0xffffn) >> 16n) / 100n) % 2n ** 32n));
  });

  test('the result is an unsigned int: a uint32 table entry plus jitter wraps as in C', () => {
    const p = makeRetryPolicy({ table: [0xffffffff], jitterPercent: 100, conceal: 9 });
    // 4294967295 + ((4294967295*100*1) >> 16)/100 = 4294967295 + 65535, mod 2^32
    expect(delays(p, 1, 1)[0]![0]).toBe(65534);
    expect(delays(p, 1, 0xffff)[0]![0]).toBe(4294901758);
    expect(delays(p, 1, 0)[0]![0]).toBe(0xffffffff);
  });

  test('an intermediate product past 2^53 stays exact', () => {
    // ms*pc*ra = 0xffffffff*100*0xfffe > 2^53
    const p = makeRetryPolicy({ table: [0xffffffff], jitterPercent: 100, conceal: 9 });
    const s = new RetryState();
    expect(0xffffffff * 100 * 0xfffe).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    // (0xffffffff*100*0xfffe) >> 16 = 429483622300, /100 = 4294836223; + 0xffffffff, mod 2^32
    expect(getDelayMs(p, s, () => 0xfffe).ms).toBe(4294836222);
    expect(reference(p, 0, 0xfffe).ms).toBe(4294836222);
  });

  test('conceal: the first `conceal` failures are hidden, the next one is reported', () => {
    expect(delays(lwsDefault, 7, 0).map(([, c]) => c)).toEqual([true, true, true, true, true, false, false]);
    const none = makeRetryPolicy({ table: [10] });
    expect(delays(none, 2, 0).map(([, c]) => c)).toEqual([false, false]);
    const one = makeRetryPolicy({ table: [10], conceal: 1 });
    expect(delays(one, 2, 0).map(([, c]) => c)).toEqual([true, false]);
  });

  test('reset starts the table and the conceal count again', () => {
    const s = new RetryState();
    delays(lwsDefault, 6, 0, s);
    s.reset();
    expect(delays(lwsDefault, 1, 0, s)).toEqual([[1000, true]]);
  });

  test('the try counter saturates at 0xffff, so CONCEAL_ALWAYS conceals forever', () => {
    const always = makeRetryPolicy({ table: [5], conceal: RETRY_CONCEAL_ALWAYS });
    const s = new RetryState();
    s.count = 0xfffe;
    expect(getDelayMs(always, s, () => 0)).toEqual({ ms: 5, conceal: true });
    expect(s.count).toBe(0xffff);
    expect(getDelayMs(always, s, () => 0)).toEqual({ ms: 5, conceal: true });
    expect(s.count).toBe(0xffff);

    const almost = makeRetryPolicy({ table: [5], conceal: 0xfffe });
    const t = new RetryState();
    t.count = 0xfffd;
    expect(getDelayMs(almost, t, () => 0).conceal).toBe(true);
    expect(getDelayMs(almost, t, () => 0).conceal).toBe(false);
    expect(getDelayMs(almost, t, () => 0).conceal).toBe(false);
  });

  test('a random16 outside 0..0xffff is a usage error', () => {
    for (const bad of [-1, 0x10000, 0.5, Number.NaN]) {
      const e = (() => {
        try {
          getDelayMs(lwsDefault, new RetryState(), () => bad);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(UsageError);
      expect((e as LwsxError).code).toBe('ERR_RETRY_RANDOM');
    }
  });
});

describe('getDelayMs against a BigInt transcription of lws', () => {
  const policyArb = fc.record({
    table: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 12 }),
    conceal: fc.integer({ min: 0, max: 0xffff }),
    // a uint8_t in lws, used as it is: past 100 the jitter exceeds the base delay
    jitterPercent: fc.integer({ min: 0, max: 255 }),
  });

  test('every field at random, every counter and rand16', () => {
    fc.assert(
      fc.property(
        fc.option(policyArb, { nil: undefined }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (init, ctry, ra) => {
          const p = init ? makeRetryPolicy(init) : undefined;
          const s = new RetryState();
          s.count = ctry;
          const want = reference(p, ctry, ra);
          expect(getDelayMs(p, s, () => ra)).toEqual({ ms: want.ms, conceal: want.conceal });
          expect(s.count).toBe(want.ctry);
        },
      ),
      { numRuns: 5000 },
    );
  });

  test('rand16 extremes on large entries', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x80000000, max: 0xffffffff }),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom(0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff),
        (ms, jitterPercent, ra) => {
          const p = makeRetryPolicy({ table: [ms], jitterPercent });
          expect(getDelayMs(p, new RetryState(), () => ra).ms).toBe(reference(p, 0, ra).ms);
        },
      ),
    );
  });

  test('a sequence of failures matches step by step', () => {
    fc.assert(
      fc.property(policyArb, fc.integer(), fc.integer({ min: 1, max: 40 }), (init, seed, n) => {
        const p = makeRetryPolicy(init);
        const a = seededRandom16(seed);
        const b = seededRandom16(seed);
        const s = new RetryState();
        let ctry = 0;
        for (let i = 0; i < n; i++) {
          const want = reference(p, ctry, b());
          ctry = want.ctry;
          expect(getDelayMs(p, s, a)).toEqual({ ms: want.ms, conceal: want.conceal });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('makeRetryPolicy', () => {
  test('defaults are those of a zeroed lws_retry_bo_t', () => {
    const p = makeRetryPolicy({ table: [1] });
    expect(p).toEqual({ table: [1], conceal: 0, jitterPercent: 0, secsSinceValidPing: 0, secsSinceValidHangup: 0 });
  });

  test('the policy and its table are frozen copies', () => {
    const table = [1, 2];
    const p = makeRetryPolicy({ table });
    table[0] = 99;
    expect(p.table).toEqual([1, 2]);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.table)).toBe(true);
  });

  test('the widest legal values are accepted', () => {
    const p = makeRetryPolicy({
      table: new Array<number>(0xffff).fill(0xffffffff),
      conceal: 0xffff,
      jitterPercent: 255,
      secsSinceValidPing: 0xffff,
      secsSinceValidHangup: 0xffff,
    });
    expect(p.table.length).toBe(0xffff);
  });

  const bad: Array<[string, unknown, string]> = [
    ['no table', {}, 'table'],
    ['table not an array', { table: 5 }, 'table'],
    ['empty table', { table: [] }, 'table'],
    ['table too long', { table: new Array<number>(0x10000).fill(1) }, 'table'],
    ['negative ms', { table: [1, -1] }, 'table[1]'],
    ['fractional ms', { table: [1.5] }, 'table[0]'],
    ['ms past uint32', { table: [0x100000000] }, 'table[0]'],
    ['ms not a number', { table: ['5'] }, 'table[0]'],
    ['ms NaN', { table: [Number.NaN] }, 'table[0]'],
    ['conceal past uint16', { table: [1], conceal: 0x10000 }, 'conceal'],
    ['conceal negative', { table: [1], conceal: -1 }, 'conceal'],
    ['jitter past uint8', { table: [1], jitterPercent: 256 }, 'jitterPercent'],
    ['jitter fractional', { table: [1], jitterPercent: 2.5 }, 'jitterPercent'],
    ['jitter negative', { table: [1], jitterPercent: -1 }, 'jitterPercent'],
    ['ping past uint16', { table: [1], secsSinceValidPing: 65536 }, 'secsSinceValidPing'],
    ['hangup fractional', { table: [1], secsSinceValidHangup: 0.1 }, 'secsSinceValidHangup'],
    ['not an object', null, '(policy)'],
  ];
  test.each(bad)('%s is ERR_RETRY_POLICY naming %p', (_name, init, field) => {
    let err: unknown;
    try {
      makeRetryPolicy(init as RetryPolicyInit);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RetryPolicyError);
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toBeInstanceOf(LwsxError);
    const e = err as RetryPolicyError;
    expect(e.code).toBe('ERR_RETRY_POLICY');
    expect(e.detail?.['field']).toBe(field);
    expect(e.message).toContain(field);
    expect(e.name).toBe('RetryPolicyError');
  });
});

describe('retrySulSchedule', () => {
  test('arms the sul ms*1000 µs after now while concealed, then reports exhaustion', () => {
    const sched = new SulScheduler();
    const sul = new Sul();
    const fired: number[] = [];
    const cb = () => fired.push(1);
    const p = makeRetryPolicy({ table: [100, 250], conceal: 2, jitterPercent: 10 });
    const s = new RetryState();

    expect(retrySulSchedule(sched, sul, cb, p, s, 1_000_000, () => 0)).toBe(false);
    expect(sul.armed).toBe(true);
    expect(sul.us).toBe(1_000_000 + 100_000);
    expect(sched.service(1_100_000)).toBeUndefined();
    expect(fired).toEqual([1]);

    // 250*10*0x8000 >> 16 = 1250 -> 12 ms of jitter
    expect(retrySulSchedule(sched, sul, cb, p, s, 2_000_000, () => 0x8000)).toBe(false);
    expect(sul.us).toBe(2_000_000 + 262_000);

    sched.cancel(sul);
    expect(retrySulSchedule(sched, sul, cb, p, s, 3_000_000, () => 0)).toBe(true);
    expect(sul.armed).toBe(false);
    expect(s.count).toBe(3);
  });

  test('a re-arm moves an armed sul', () => {
    const sched = new SulScheduler();
    const sul = new Sul();
    const p = makeRetryPolicy({ table: [1, 2], conceal: 5 });
    retrySulSchedule(sched, sul, () => {}, p, new RetryState(), 0, () => 0);
    const s = new RetryState();
    s.count = 1;
    retrySulSchedule(sched, sul, () => {}, p, s, 0, () => 0);
    expect(sched.count).toBe(1);
    expect(sul.us).toBe(2000);
  });

  test('no policy never schedules (lws conceals nothing without a policy)', () => {
    const sched = new SulScheduler();
    const sul = new Sul();
    const s = new RetryState();
    expect(retrySulSchedule(sched, sul, () => {}, undefined, s, 0, () => 0)).toBe(true);
    expect(sul.armed).toBe(false);
    expect(sched.count).toBe(0);
    expect(s.count).toBe(1);
  });

  test('uses the ordinary (not wake-from-suspend) list', () => {
    const sched = new SulScheduler();
    const sul = new Sul();
    retrySulSchedule(sched, sul, () => {}, lwsDefault, new RetryState(), 0, () => 0);
    expect(sched.earliest()).toBe(1_000_000);
    expect(sched.earliestWake()).toBeUndefined();
  });
});

describe('entropy sources', () => {
  test('random16FromBytes reads two bytes little-endian per call', () => {
    const bytes = [0x34, 0x12, 0xff, 0xff, 0x00, 0x80];
    let at = 0;
    const r = random16FromBytes((into) => {
      for (let i = 0; i < into.length; i++) into[i] = bytes[at++]!;
    });
    expect([r(), r(), r()]).toEqual([0x1234, 0xffff, 0x8000]);
  });

  test('seededRandom16 is splitmix32, high half: pinned values for cross-engine vectors', () => {
    const take = (seed: number, n: number) => {
      const r = seededRandom16(seed);
      return Array.from({ length: n }, () => r());
    };
    // computed independently with Python uint32 arithmetic
    expect(take(0, 5)).toEqual([37578, 15574, 6932, 19464, 18553]);
    expect(take(1, 5)).toEqual([38560, 4796, 38686, 31149, 22812]);
    expect(take(-1, 5)).toEqual([14046, 64559, 10644, 27142, 4280]);
  });

  test('seededRandom16 stays in range and is roughly uniform', () => {
    const r = seededRandom16(12345);
    const buckets = new Array<number>(16).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 64_000; i++) {
      const v = r();
      if (!Number.isInteger(v) || v < 0 || v > 0xffff) outOfRange++;
      else buckets[v >> 12]!++;
    }
    expect(outOfRange).toBe(0);
    for (const b of buckets) expect(Math.abs(b - 4000)).toBeLessThan(400);
  });

  test('seededRandom16 refuses a non-integer seed', () => {
    expect(() => seededRandom16(0.5)).toThrow(UsageError);
  });
});
