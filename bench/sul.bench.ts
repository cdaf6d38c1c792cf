/**
 * sul scheduler: schedule / reschedule / cancel / service with 1k, 10k and 100k armed timers.
 *
 * lwsx's SulScheduler (binary heap per list + a position index per node + an insertion sequence
 * for lws' tie order) against two baselines written here, measured in the same run:
 *  - "heap": a plain binary min-heap on the deadline alone, with lazy deletion: cancel bumps the
 *    timer's generation in O(1); a reschedule pushes a fresh entry; stale entries are dropped
 *    when they surface at the top during service. No index, no tie order.
 *  - "sorted": one array kept sorted latest-first, so the earliest pops off the end; insert by
 *    binary search + splice, cancel by binary search to the deadline then splice. This is the
 *    array form of lws' own sorted list (O(n) insert), with the same newest-first tie order.
 *
 * Each cell: build N armed timers (not timed), then time one batch of M operations; repeat within
 * a per-cell budget. ops/s is operations over timed seconds; ratio is lwsx ÷ baseline (above 1:
 * lwsx is faster). "service" fires the M earliest timers in one service() call.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Sul, SulScheduler } from '../src/loop/sul.js';

type Op = 'schedule' | 'reschedule' | 'cancel' | 'service';
const OPS: readonly Op[] = ['schedule', 'reschedule', 'cancel', 'service'];
const SIZES = [1_000, 10_000, 100_000] as const;

/** What each contender implements; every batch loop lives in its own class so call sites stay monomorphic. */
interface Contender {
  /** arms n timers at deadlines[0..n) and keeps m idle spare timers for "schedule" */
  setup(deadlines: Float64Array, n: number, m: number): void;
  /** arms the spare timers at deadlines */
  scheduleNew(deadlines: Float64Array, m: number): void;
  /** moves armed timers idx[i] to deadlines[i] */
  reschedule(idx: Int32Array, deadlines: Float64Array, m: number): void;
  cancel(idx: Int32Array, m: number): void;
  /** services at now; returns how many fired */
  service(now: number): number;
}

class LwsxContender implements Contender {
  private sched = new SulScheduler();
  private armed: Sul[] = [];
  private spare: Sul[] = [];
  private fired = 0;
  private readonly cb = () => {
    this.fired++;
  };

  setup(deadlines: Float64Array, n: number, m: number): void {
    this.sched = new SulScheduler();
    this.armed = new Array<Sul>(n);
    for (let i = 0; i < n; i++) {
      const s = new Sul(this.cb);
      this.sched.scheduleAt(s, deadlines[i]!);
      this.armed[i] = s;
    }
    this.spare = Array.from({ length: m }, () => new Sul(this.cb));
  }

  scheduleNew(deadlines: Float64Array, m: number): void {
    const sched = this.sched;
    const spare = this.spare;
    for (let i = 0; i < m; i++) sched.scheduleAt(spare[i]!, deadlines[i]!);
  }

  reschedule(idx: Int32Array, deadlines: Float64Array, m: number): void {
    const sched = this.sched;
    const armed = this.armed;
    for (let i = 0; i < m; i++) sched.scheduleAt(armed[idx[i]!]!, deadlines[i]!);
  }

  cancel(idx: Int32Array, m: number): void {
    const sched = this.sched;
    const armed = this.armed;
    for (let i = 0; i < m; i++) sched.cancel(armed[idx[i]!]!);
  }

  service(now: number): number {
    this.fired = 0;
    this.sched.service(now);
    return this.fired;
  }
}

interface HTimer {
  gen: number;
  cb: () => void;
}
interface HEntry {
  us: number;
  t: HTimer;
  gen: number;
}

class PlainHeap {
  a: HEntry[] = [];

  push(e: HEntry): void {
    const a = this.a;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = a[p]!;
      if (pe.us <= e.us) break;
      a[i] = pe;
      i = p;
    }
    a[i] = e;
  }

  pop(): HEntry {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1]!.us < a[c]!.us) c++;
      if (a[c]!.us >= last.us) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

class HeapContender implements Contender {
  private heap = new PlainHeap();
  private armed: HTimer[] = [];
  private spare: HTimer[] = [];
  private fired = 0;
  private readonly cb = () => {
    this.fired++;
  };

  setup(deadlines: Float64Array, n: number, m: number): void {
    this.heap = new PlainHeap();
    this.armed = new Array<HTimer>(n);
    for (let i = 0; i < n; i++) {
      const t: HTimer = { gen: 0, cb: this.cb };
      this.heap.push({ us: deadlines[i]!, t, gen: 0 });
      this.armed[i] = t;
    }
    this.spare = Array.from({ length: m }, () => ({ gen: 0, cb: this.cb }));
  }

  scheduleNew(deadlines: Float64Array, m: number): void {
    const heap = this.heap;
    const spare = this.spare;
    for (let i = 0; i < m; i++) {
      const t = spare[i]!;
      heap.push({ us: deadlines[i]!, t, gen: ++t.gen });
    }
  }

  reschedule(idx: Int32Array, deadlines: Float64Array, m: number): void {
    const heap = this.heap;
    const armed = this.armed;
    for (let i = 0; i < m; i++) {
      const t = armed[idx[i]!]!;
      heap.push({ us: deadlines[i]!, t, gen: ++t.gen });
    }
  }

  cancel(idx: Int32Array, m: number): void {
    const armed = this.armed;
    for (let i = 0; i < m; i++) armed[idx[i]!]!.gen++;
  }

  service(now: number): number {
    this.fired = 0;
    const heap = this.heap;
    const a = heap.a;
    while (a.length && a[0]!.us <= now) {
      const e = heap.pop();
      if (e.gen !== e.t.gen) continue;
      e.t.gen++;
      e.t.cb();
    }
    return this.fired;
  }
}

interface STimer {
  us: number;
  armed: boolean;
  cb: () => void;
}

class SortedContender implements Contender {
  /** latest first: the earliest timer is at the end */
  private a: STimer[] = [];
  private armed: STimer[] = [];
  private spare: STimer[] = [];
  private fired = 0;
  private readonly cb = () => {
    this.fired++;
  };

  setup(deadlines: Float64Array, n: number, m: number): void {
    this.armed = new Array<STimer>(n);
    for (let i = 0; i < n; i++) this.armed[i] = { us: deadlines[i]!, armed: true, cb: this.cb };
    this.a = this.armed.slice().sort((x, y) => y.us - x.us);
    this.spare = Array.from({ length: m }, () => ({ us: 0, armed: false, cb: this.cb }));
  }

  /** first index whose deadline is below us: a newcomer goes there, after (so before, in firing order) its equals */
  private lowerBound(us: number): number {
    const a = this.a;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid]!.us >= us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insert(t: STimer, us: number): void {
    t.us = us;
    t.armed = true;
    this.a.splice(this.lowerBound(us), 0, t);
  }

  private remove(t: STimer): void {
    if (!t.armed) return;
    const a = this.a;
    let i = this.lowerBound(t.us) - 1;
    while (a[i] !== t) i--;
    a.splice(i, 1);
    t.armed = false;
  }

  scheduleNew(deadlines: Float64Array, m: number): void {
    const spare = this.spare;
    for (let i = 0; i < m; i++) this.insert(spare[i]!, deadlines[i]!);
  }

  reschedule(idx: Int32Array, deadlines: Float64Array, m: number): void {
    const armed = this.armed;
    for (let i = 0; i < m; i++) {
      const t = armed[idx[i]!]!;
      this.remove(t);
      this.insert(t, deadlines[i]!);
    }
  }

  cancel(idx: Int32Array, m: number): void {
    const armed = this.armed;
    for (let i = 0; i < m; i++) this.remove(armed[idx[i]!]!);
  }

  service(now: number): number {
    this.fired = 0;
    const a = this.a;
    while (a.length && a[a.length - 1]!.us <= now) {
      const t = a.pop()!;
      t.armed = false;
      t.cb();
    }
    return this.fired;
  }
}

/** xorshift32: the bench's own deterministic inputs */
function makeRng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const DEADLINE_RANGE = 1 << 30;

/**
 * A full collection after each untimed setup, so garbage from building N timers is not collected
 * inside the timed batch (that would charge setup to whichever contender allocates next).
 */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  return typeof gc === 'function' ? (gc as () => void) : () => {};
})();

interface Inputs {
  deadlines: Float64Array;
  batch: Float64Array;
  idx: Int32Array;
  /** service(now) with now = the m-th earliest deadline */
  serviceNow: number;
}

function makeInputs(n: number, m: number, seed: number): Inputs {
  const rnd = makeRng(seed);
  const deadlines = new Float64Array(n);
  for (let i = 0; i < n; i++) deadlines[i] = rnd() % DEADLINE_RANGE;
  const batch = new Float64Array(m);
  for (let i = 0; i < m; i++) batch[i] = rnd() % DEADLINE_RANGE;
  // m distinct armed timers: a partial Fisher-Yates shuffle
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = 0; i < m; i++) {
    const j = i + (rnd() % (n - i));
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  const sorted = Float64Array.from(deadlines).sort();
  return { deadlines, batch, idx: perm.slice(0, m), serviceNow: sorted[m - 1]! };
}

/** ns for one timed batch */
function timeBatch(c: Contender, op: Op, inp: Inputs, n: number, m: number): { ns: number; ops: number } {
  c.setup(inp.deadlines, n, m);
  collectGarbage();
  let ops = m;
  const t0 = process.hrtime.bigint();
  switch (op) {
    case 'schedule':
      c.scheduleNew(inp.batch, m);
      break;
    case 'reschedule':
      c.reschedule(inp.idx, inp.batch, m);
      break;
    case 'cancel':
      c.cancel(inp.idx, m);
      break;
    case 'service':
      ops = c.service(inp.serviceNow);
      break;
  }
  return { ns: Number(process.hrtime.bigint() - t0), ops };
}

interface Cell {
  opsPerSec: number;
  nsPerOp: number;
  ops: number;
}

/** per cell: a warm-up batch, then batches until the timed budget or the wall cap is spent */
const TIMED_BUDGET_NS = 150e6;
const WALL_CAP_NS = 900e6;
const MIN_BATCHES = 3;

function measure(c: Contender, op: Op, inp: Inputs, n: number, m: number): Cell {
  timeBatch(c, op, inp, n, m);
  const wall0 = process.hrtime.bigint();
  let ns = 0;
  let ops = 0;
  let batches = 0;
  while (batches < MIN_BATCHES || (ns < TIMED_BUDGET_NS && Number(process.hrtime.bigint() - wall0) < WALL_CAP_NS)) {
    const r = timeBatch(c, op, inp, n, m);
    ns += r.ns;
    ops += r.ops;
    batches++;
  }
  return { opsPerSec: (ops * 1e9) / ns, nsPerOp: ns / ops, ops };
}

/** batch size: a tenth of the armed count but at least half of 1k, and at most 2000 for the O(n) sorted array at 100k */
function batchSize(n: number, contender: string): number {
  const m = Math.max(500, Math.floor(n / 10));
  return contender === 'sorted' && n >= 100_000 ? Math.min(m, 2000) : m;
}

function fmtRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

export async function main(): Promise<void> {
  const contenders: Array<[string, Contender]> = [
    ['lwsx', new LwsxContender()],
    ['heap', new HeapContender()],
    ['sorted', new SortedContender()],
  ];

  const started = process.hrtime.bigint();
  // warm-up: every contender and op at the smallest size, so no cell pays for the first JIT tier
  const warm = makeInputs(1_000, 100, 1);
  for (const [, c] of contenders) for (const op of OPS) for (let i = 0; i < 20; i++) timeBatch(c, op, warm, 1_000, 100);

  console.log('\nsul: ops/s (ns/op) with N armed timers; ratio = lwsx ÷ baseline, above 1 means lwsx is faster');
  console.log('heap = plain binary heap, lazy deletion (cancel O(1), stale entries skipped at service)');
  console.log('sorted = sorted array, binary search + splice (batch bounded to 2000 ops at 100k)');
  const head = [
    'N'.padStart(7),
    'op'.padEnd(10),
    'lwsx'.padStart(17),
    'heap'.padStart(17),
    '÷heap'.padStart(6),
    'sorted'.padStart(17),
    '÷sorted'.padStart(8),
  ].join(' ');
  console.log(head);
  console.log('-'.repeat(head.length));

  const cellText = (c: Cell) => `${fmtRate(c.opsPerSec)} (${c.nsPerOp.toFixed(0)}ns)`.padStart(17);
  for (const n of SIZES) {
    const inputs = new Map<number, Inputs>();
    const inputsFor = (m: number) => {
      let inp = inputs.get(m);
      if (!inp) inputs.set(m, (inp = makeInputs(n, m, n + m)));
      return inp;
    };
    for (const op of OPS) {
      const cells = new Map<string, Cell>();
      for (const [name, c] of contenders) {
        const m = batchSize(n, name);
        cells.set(name, measure(c, op, inputsFor(m), n, m));
      }
      const l = cells.get('lwsx')!;
      const h = cells.get('heap')!;
      const s = cells.get('sorted')!;
      console.log(
        [
          String(n).padStart(7),
          op.padEnd(10),
          cellText(l),
          cellText(h),
          (l.opsPerSec / h.opsPerSec).toFixed(2).padStart(6),
          cellText(s),
          (l.opsPerSec / s.opsPerSec).toFixed(2).padStart(8),
        ].join(' '),
      );
    }
  }
  console.log(`(sul bench: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
