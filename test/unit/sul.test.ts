import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { SUL_ONLY_IF_AWAKE, SUL_WAKE_IF_SUSPENDED, Sul, SulScheduler } from '../../src/loop/sul.js';
import type { SulList } from '../../src/loop/sul.js';
import { LwsxError, UsageError } from '../../src/util/errors.js';
import { runLoopVectors } from '../vectors/loop-vectors.js';

/**
 * libwebsockets' sul, transcribed literally: each list is a sorted list where
 * lws_dll2_add_sorted() puts a node before the first node whose us >= its own, and
 * __lws_sul_service_ripe() takes, over the lists in order, the head `if (!hit || us <= lowest)`.
 */
interface ModelNode {
  id: number;
  us: number;
  list: number;
  onList: boolean;
}

class LwsModel {
  readonly lists: ModelNode[][] = [[], []];

  private remove(n: ModelNode): void {
    if (!n.onList) return;
    const l = this.lists[n.list]!;
    l.splice(l.indexOf(n), 1);
    n.onList = false;
  }

  schedule(n: ModelNode, us: number, list: number): void {
    this.remove(n);
    n.us = us;
    n.list = list;
    const l = this.lists[list]!;
    let i = 0;
    while (i < l.length && !(l[i]!.us >= us)) i++;
    l.splice(i, 0, n);
    n.onList = true;
  }

  cancel(n: ModelNode): void {
    this.remove(n);
    n.us = 0;
  }

  service(now: number, fire: (n: ModelNode) => void): number | undefined {
    for (;;) {
      let hit: ModelNode | undefined;
      let lowest = 0;
      for (const l of this.lists) {
        if (!l.length) continue;
        const h = l[0]!;
        if (!hit || h.us <= lowest) {
          hit = h;
          lowest = h.us;
        }
      }
      if (!hit) return undefined;
      if (lowest > now) return lowest - now;
      this.remove(hit);
      hit.us = 0;
      fire(hit);
    }
  }

  earliest(): number | undefined {
    const a = this.lists[0]![0];
    const b = this.lists[1]![0];
    if (!a) return b?.us;
    if (!b) return a.us;
    return Math.min(a.us, b.us);
  }

  earliestWake(): number | undefined {
    return this.lists[1]![0]?.us;
  }

  get count(): number {
    return this.lists[0]!.length + this.lists[1]!.length;
  }
}

type Reaction = { kind: 'schedule'; j: number; delta: number; list: SulList } | { kind: 'cancel'; j: number };
type Op =
  | { op: 'schedule'; i: number; us: number; list: SulList }
  | { op: 'cancel'; i: number }
  | { op: 'service'; now: number };

/** Runs a scenario on both; every timer's reactions run the first time it fires, then never. */
function runBoth(pool: number, reactions: Reaction[][], ops: Op[]) {
  const sched = new SulScheduler();
  const model = new LwsModel();
  const suls: Sul[] = [];
  const nodes: ModelNode[] = [];
  const log = { real: [] as unknown[], model: [] as unknown[] };
  const reacted = { real: new Set<number>(), model: new Set<number>() };
  let now = 0;

  const react = (side: 'real' | 'model', id: number) => {
    log[side].push(id);
    if (reacted[side].has(id)) return;
    reacted[side].add(id);
    for (const r of reactions[id] ?? []) {
      if (r.kind === 'cancel') {
        if (side === 'real') sched.cancel(suls[r.j]!);
        else model.cancel(nodes[r.j]!);
      } else if (side === 'real') sched.scheduleAt(suls[r.j]!, now + r.delta, undefined, r.list);
      else model.schedule(nodes[r.j]!, now + r.delta, r.list);
    }
  };
  for (let id = 0; id < pool; id++) {
    suls.push(new Sul(() => react('real', id)));
    nodes.push({ id, us: 0, list: 0, onList: false });
  }

  // one string per side, compared cheaply; expect() only runs to explain a difference
  const snapshot = () => {
    let real = `${sched.count} ${sched.earliest()} ${sched.earliestWake()}`;
    let want = `${model.count} ${model.earliest()} ${model.earliestWake()}`;
    for (let id = 0; id < pool; id++) {
      real += ` ${id}:${suls[id]!.armed}@${suls[id]!.us}`;
      want += ` ${id}:${nodes[id]!.onList}@${nodes[id]!.us}`;
    }
    if (real !== want) expect(real).toBe(want);
  };

  for (const o of ops) {
    if (o.op === 'schedule') {
      sched.scheduleAt(suls[o.i]!, o.us, undefined, o.list);
      model.schedule(nodes[o.i]!, o.us, o.list);
    } else if (o.op === 'cancel') {
      sched.cancel(suls[o.i]!);
      model.cancel(nodes[o.i]!);
    } else {
      now = o.now;
      log.real.push(['ret', sched.service(now)]);
      log.model.push(['ret', model.service(now, (n) => react('model', n.id))]);
    }
    snapshot();
  }
  now = Number.MAX_SAFE_INTEGER;
  log.real.push(['drain', sched.service(now)]);
  log.model.push(['drain', model.service(now, (n) => react('model', n.id))]);
  snapshot();
  if (JSON.stringify(log.real) !== JSON.stringify(log.model)) expect(log.real).toEqual(log.model);
  return log.real;
}

function order(setup: (s: SulScheduler, mk: (name: string) => Sul) => void, now = Number.MAX_SAFE_INTEGER): string[] {
  const s = new SulScheduler();
  const fired: string[] = [];
  setup(s, (name) => new Sul(() => fired.push(name)));
  s.service(now);
  return fired;
}

function thrown(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('SulScheduler order', () => {
  test('earlier deadline first', () => {
    expect(
      order((s, mk) => {
        s.scheduleAt(mk('c'), 30);
        s.scheduleAt(mk('a'), 10);
        s.scheduleAt(mk('b'), 20);
      }),
    ).toEqual(['a', 'b', 'c']);
  });

  test('equal deadlines: most recently scheduled first', () => {
    expect(
      order((s, mk) => {
        for (const n of ['1', '2', '3', '4']) s.scheduleAt(mk(n), 10);
      }),
    ).toEqual(['4', '3', '2', '1']);
  });

  test('rescheduling to the same deadline counts as newly scheduled', () => {
    expect(
      order((s, mk) => {
        const a = mk('a');
        s.scheduleAt(a, 10);
        s.scheduleAt(mk('b'), 10);
        s.scheduleAt(a, 10);
      }),
    ).toEqual(['a', 'b']);
  });

  test('rescheduling moves the timer, never duplicates it', () => {
    const s = new SulScheduler();
    const fired: number[] = [];
    const a = new Sul(() => fired.push(s.count));
    s.scheduleAt(a, 10);
    s.scheduleAt(a, 50);
    s.scheduleAt(a, 5);
    expect(s.count).toBe(1);
    expect(s.service(4)).toBe(1);
    expect(s.service(5)).toBeUndefined();
    expect(fired).toEqual([0]);
  });

  test('across lists, the wake list wins a tie (lws: `sul->us <= lowest`)', () => {
    expect(
      order((s, mk) => {
        s.scheduleAt(mk('wake'), 10, undefined, SUL_WAKE_IF_SUSPENDED);
        s.scheduleAt(mk('awake'), 10, undefined, SUL_ONLY_IF_AWAKE);
      }),
    ).toEqual(['wake', 'awake']);
    expect(
      order((s, mk) => {
        s.scheduleAt(mk('awake'), 10);
        s.scheduleAt(mk('wake'), 10, undefined, SUL_WAKE_IF_SUSPENDED);
      }),
    ).toEqual(['wake', 'awake']);
  });

  test('across lists, the earlier deadline still wins', () => {
    expect(
      order((s, mk) => {
        s.scheduleAt(mk('w20'), 20, undefined, SUL_WAKE_IF_SUSPENDED);
        s.scheduleAt(mk('a10'), 10);
        s.scheduleAt(mk('w5'), 5, undefined, SUL_WAKE_IF_SUSPENDED);
        s.scheduleAt(mk('a30'), 30);
      }),
    ).toEqual(['w5', 'a10', 'w20', 'a30']);
  });

  test('moving a timer to the other list', () => {
    const s = new SulScheduler();
    const a = new Sul(() => {});
    s.scheduleAt(a, 10, undefined, SUL_WAKE_IF_SUSPENDED);
    expect(s.earliestWake()).toBe(10);
    s.scheduleAt(a, 20);
    expect(s.earliestWake()).toBeUndefined();
    expect(s.earliest()).toBe(20);
    expect(s.count).toBe(1);
    expect(a.list).toBe(SUL_ONLY_IF_AWAKE);
  });

  test('10k random deadlines come out sorted: wake list first on ties, then newest first', () => {
    const s = new SulScheduler();
    const fired: Array<[number, number, number]> = [];
    let x = 7;
    for (let i = 0; i < 10_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const us = x % 500;
      const list: SulList = (x >>> 20) & 1 ? SUL_WAKE_IF_SUSPENDED : SUL_ONLY_IF_AWAKE;
      s.scheduleAt(new Sul(() => fired.push([us, list, i])), us, undefined, list);
    }
    s.service(500);
    expect(fired.length).toBe(10_000);
    let outOfOrder = 0;
    for (let i = 1; i < fired.length; i++) {
      const [pu, pl, ps] = fired[i - 1]!;
      const [u, l, q] = fired[i]!;
      if (u < pu || (u === pu && (l > pl || (l === pl && q > ps)))) outOfOrder++;
    }
    expect(outOfOrder).toBe(0);
  });
});

describe('SulScheduler schedule / cancel', () => {
  test('cancel of an idle sul is a no-op, twice over', () => {
    const s = new SulScheduler();
    const a = new Sul(() => {});
    s.cancel(a);
    s.scheduleAt(a, 5);
    s.cancel(a);
    s.cancel(a);
    expect(s.count).toBe(0);
    expect(a.armed).toBe(false);
    expect(a.us).toBe(0);
    expect(s.service(100)).toBeUndefined();
  });

  test('cancel removes only that timer, from the middle of the heap', () => {
    const s = new SulScheduler();
    const fired: number[] = [];
    const suls = Array.from({ length: 20 }, (_, i) => new Sul(() => fired.push(i)));
    suls.forEach((sul, i) => s.scheduleAt(sul, 100 - i));
    s.cancel(suls[7]!);
    s.cancel(suls[0]!);
    s.cancel(suls[19]!);
    expect(s.count).toBe(17);
    s.service(1000);
    expect(fired).toEqual([18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 6, 5, 4, 3, 2, 1]);
  });

  test('cancel where the node moved into the hole must rise above its new parent', () => {
    // found by search: without the sift-up in remove, 12 would fire after 14
    expect(
      order((s, mk) => {
        const suls = [8, 38, 2, 31, 14, 25, 12].map((us) => {
          const sul = mk(String(us));
          s.scheduleAt(sul, us);
          return sul;
        });
        s.cancel(suls[1]!);
      }),
    ).toEqual(['2', '8', '12', '14', '25', '31']);
  });

  test('armed / us / list track the node (us is 0 when idle, as lws)', () => {
    const s = new SulScheduler();
    const a = new Sul(() => {});
    expect([a.armed, a.us]).toEqual([false, 0]);
    s.scheduleAt(a, 42, undefined, SUL_WAKE_IF_SUSPENDED);
    expect([a.armed, a.us, a.list]).toEqual([true, 42, SUL_WAKE_IF_SUSPENDED]);
    s.service(42);
    expect([a.armed, a.us]).toEqual([false, 0]);
  });

  test('a callback given to scheduleAt replaces the node callback and receives the node', () => {
    const s = new SulScheduler();
    const seen: string[] = [];
    const a = new Sul(() => seen.push('ctor'));
    s.scheduleAt(a, 1, (sul) => seen.push(sul === a ? 'given' : 'other'));
    s.service(1);
    s.scheduleAt(a, 2);
    s.service(2);
    expect(seen).toEqual(['given', 'given']);
  });

  test('a sul is reusable after firing and after cancel', () => {
    const s = new SulScheduler();
    let n = 0;
    const a = new Sul(() => n++);
    for (let i = 0; i < 5; i++) {
      s.scheduleAt(a, i * 10);
      if (i % 2) s.cancel(a);
      s.service(i * 10);
    }
    expect(n).toBe(3);
  });

  test('deadlines are absolute; zero and negative µs are fine', () => {
    expect(
      order((s, mk) => {
        s.scheduleAt(mk('zero'), 0);
        s.scheduleAt(mk('neg'), -5);
      }, 0),
    ).toEqual(['neg', 'zero']);
  });

  test('misuse is a typed error that leaves the node as it was', () => {
    const s = new SulScheduler();
    const noCb = thrown(() => s.scheduleAt(new Sul(), 1));
    expect(noCb).toBeInstanceOf(UsageError);
    expect((noCb as LwsxError).code).toBe('ERR_SUL_NO_CALLBACK');

    const cb = () => {};
    const a = new Sul(cb);
    s.scheduleAt(a, 10);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const e = thrown(() => s.scheduleAt(a, bad, () => {}));
      expect(e).toBeInstanceOf(UsageError);
      expect((e as LwsxError).code).toBe('ERR_SUL_DEADLINE');
    }
    const e = thrown(() => s.scheduleAt(a, 5, () => {}, 2 as SulList));
    expect((e as LwsxError).code).toBe('ERR_SUL_LIST');
    expect([a.armed, a.us, a.cb]).toEqual([true, 10, cb]);
    expect(s.count).toBe(1);
  });
});

describe('SulScheduler service', () => {
  test('nothing armed: undefined', () => {
    expect(new SulScheduler().service(0)).toBeUndefined();
  });

  test('returns µs to the next deadline; a deadline equal to now is ripe', () => {
    const s = new SulScheduler();
    const fired: string[] = [];
    s.scheduleAt(new Sul(() => fired.push('a')), 100);
    s.scheduleAt(new Sul(() => fired.push('b')), 250);
    expect(s.service(40)).toBe(60);
    expect(fired).toEqual([]);
    expect(s.service(100)).toBe(150);
    expect(fired).toEqual(['a']);
    expect(s.service(1000)).toBeUndefined();
    expect(fired).toEqual(['a', 'b']);
  });

  test('the next deadline may be on the wake list', () => {
    const s = new SulScheduler();
    s.scheduleAt(new Sul(() => {}), 100);
    s.scheduleAt(new Sul(() => {}), 70, undefined, SUL_WAKE_IF_SUSPENDED);
    expect(s.service(50)).toBe(20);
    expect(s.earliest()).toBe(70);
    expect(s.earliestWake()).toBe(70);
  });

  test('a callback may arm a ripe timer: it runs in the same pass, in order', () => {
    const s = new SulScheduler();
    const fired: string[] = [];
    const late = new Sul(() => fired.push('late'));
    const b = new Sul(() => fired.push('b'));
    s.scheduleAt(
      new Sul(() => {
        fired.push('a');
        s.scheduleAt(late, 5);
      }),
      1,
    );
    s.scheduleAt(b, 8);
    expect(s.service(10)).toBeUndefined();
    expect(fired).toEqual(['a', 'late', 'b']);
  });

  test('a callback may re-arm itself in the future: service returns its delay', () => {
    const s = new SulScheduler();
    let n = 0;
    const a = new Sul((self) => {
      n++;
      s.scheduleAt(self, 10 + n * 100);
    });
    s.scheduleAt(a, 10);
    expect(s.service(10)).toBe(100);
    expect(s.service(110)).toBe(100);
    expect(n).toBe(2);
  });

  test('a callback may cancel a timer that was ripe in the same pass', () => {
    const s = new SulScheduler();
    const fired: string[] = [];
    const victim = new Sul(() => fired.push('victim'));
    s.scheduleAt(
      new Sul(() => {
        fired.push('killer');
        s.cancel(victim);
      }),
      1,
    );
    s.scheduleAt(victim, 2);
    s.scheduleAt(new Sul(() => fired.push('after')), 3);
    expect(s.service(10)).toBeUndefined();
    expect(fired).toEqual(['killer', 'after']);
  });

  test('a callback may reschedule a pending timer later', () => {
    const s = new SulScheduler();
    const fired: string[] = [];
    const other = new Sul(() => fired.push('other'));
    s.scheduleAt(new Sul(() => s.scheduleAt(other, 500)), 1);
    s.scheduleAt(other, 2);
    expect(s.service(10)).toBe(490);
    expect(fired).toEqual([]);
  });

  test('a throwing callback: the rest still run, the first error is rethrown after the pass', () => {
    const s = new SulScheduler();
    const fired: string[] = [];
    const first = new Error('first');
    s.scheduleAt(
      new Sul(() => {
        fired.push('t1');
        throw first;
      }),
      1,
    );
    s.scheduleAt(new Sul(() => fired.push('ok')), 2);
    s.scheduleAt(
      new Sul(() => {
        fired.push('t2');
        throw new Error('second');
      }),
      3,
    );
    s.scheduleAt(new Sul(() => fired.push('future')), 100);
    expect(thrown(() => s.service(10))).toBe(first);
    expect(fired).toEqual(['t1', 'ok', 't2']);
    expect(s.count).toBe(1);
    expect(s.service(10)).toBe(90);
  });

  test('a throwing callback with nothing left armed is still rethrown', () => {
    const s = new SulScheduler();
    const err = new Error('x');
    s.scheduleAt(
      new Sul(() => {
        throw err;
      }),
      1,
    );
    expect(thrown(() => s.service(1))).toBe(err);
    expect(s.count).toBe(0);
  });

  test('a timer that throws may have re-armed itself first', () => {
    const s = new SulScheduler();
    const a = new Sul((self) => {
      s.scheduleAt(self, 50);
      throw new Error('boom');
    });
    s.scheduleAt(a, 1);
    expect(thrown(() => s.service(1))).toBeInstanceOf(Error);
    expect(a.armed).toBe(true);
    expect(s.service(1)).toBe(49);
  });
});

describe('SulScheduler against a literal transcription of lws sorted lists', () => {
  const POOL = 12;
  const list = fc.constantFrom<SulList>(SUL_ONLY_IF_AWAKE, SUL_WAKE_IF_SUSPENDED);
  const reaction: fc.Arbitrary<Reaction> = fc.oneof(
    fc.record({ kind: fc.constant('schedule' as const), j: fc.nat(POOL - 1), delta: fc.integer({ min: 0, max: 6 }), list }),
    fc.record({ kind: fc.constant('cancel' as const), j: fc.nat(POOL - 1) }),
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('schedule' as const), i: fc.nat(POOL - 1), us: fc.integer({ min: 0, max: 20 }), list }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('cancel' as const), i: fc.nat(POOL - 1) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('service' as const), now: fc.integer({ min: -1, max: 24 }) }) },
  );

  test('same firing order, service results, heads and node state after every step', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(reaction, { maxLength: 3 }), { minLength: POOL, maxLength: POOL }),
        fc.array(op, { maxLength: 80 }),
        (reactions, ops) => {
          runBoth(POOL, reactions, ops);
        },
      ),
      { numRuns: 4000 },
    );
  });

  test('bigger heaps, wider deadlines, more cancels', () => {
    const pool = 64;
    const wideOp: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('schedule' as const), i: fc.nat(pool - 1), us: fc.integer({ min: 0, max: 1000 }), list }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('cancel' as const), i: fc.nat(pool - 1) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('service' as const), now: fc.integer({ min: 0, max: 1000 }) }) },
    );
    fc.assert(
      fc.property(fc.array(wideOp, { minLength: 50, maxLength: 300 }), (ops) => {
        runBoth(pool, [], ops);
      }),
      { numRuns: 600 },
    );
  });

  test('a dense tie scenario fires every timer, wake list first on ties', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 12; i++) ops.push({ op: 'schedule', i, us: 5, list: i % 3 === 0 ? 1 : 0 });
    const log = runBoth(12, [], ops);
    expect(log.slice(0, 12)).toEqual([9, 6, 3, 0, 11, 10, 8, 7, 5, 4, 2, 1]);
  });
});

describe('loop vectors', () => {
  test('are deterministic plain JSON', () => {
    const a = runLoopVectors();
    const b = runLoopVectors();
    expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    expect(a).toEqual(b);
  });
});
