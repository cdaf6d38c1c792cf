/**
 * sul — libwebsockets' sorted µs list: caller-owned timer nodes, scheduled on the loop.
 *
 * lws keeps each list as a sorted doubly linked list (O(n) insert). We keep the same observable
 * order with a binary min-heap per list, O(log n) schedule/cancel/service:
 *  - earlier deadline first;
 *  - equal deadlines: the most recently scheduled first, because lws_dll2_add_sorted() drops a
 *    new node before the first node whose deadline is >= its own;
 *  - across lists: the higher list index wins a tie, because __lws_sul_service_ripe() scans its
 *    owners in order and takes a head `if (!hit || sul->us <= lowest)`.
 *
 * List 0 holds ordinary timers; list 1 (SUL_WAKE_IF_SUSPENDED) holds timers that may wake the
 * device from suspend: when the board suspends, it arms its RTC for `earliestWake()`.
 */

import { UsageError } from '../util/errors.js';

export type SulCallback = (sul: Sul) => void;

export const SUL_ONLY_IF_AWAKE = 0;
export const SUL_WAKE_IF_SUSPENDED = 1;
export type SulList = typeof SUL_ONLY_IF_AWAKE | typeof SUL_WAKE_IF_SUSPENDED;

/** A timer node, owned by whoever embeds it (as lws_sorted_usec_list_t). Reusable. */
export class Sul {
  /** absolute monotonic deadline in µs; 0 when idle (as lws) */
  us = 0;
  cb: SulCallback | undefined;
  /** position in its heap, -1 when idle */
  idx = -1;
  list: SulList = SUL_ONLY_IF_AWAKE;
  /** insertion sequence, for the lws tie order */
  seq = 0;

  constructor(cb?: SulCallback) {
    this.cb = cb;
  }

  get armed(): boolean {
    return this.idx >= 0;
  }
}

/** true when a should run before b */
function before(a: Sul, b: Sul): boolean {
  return a.us < b.us || (a.us === b.us && a.seq > b.seq);
}

class SulHeap {
  readonly a: Sul[] = [];

  push(s: Sul): void {
    s.idx = this.a.length;
    this.a.push(s);
    this.up(s.idx);
  }

  remove(s: Sul): void {
    const a = this.a;
    const i = s.idx;
    const last = a.pop() as Sul;
    s.idx = -1;
    if (last === s) return;
    a[i] = last;
    last.idx = i;
    if (i > 0 && before(last, a[(i - 1) >> 1]!)) this.up(i);
    else this.down(i);
  }

  private up(i: number): void {
    const a = this.a;
    const s = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = a[p]!;
      if (!before(s, ps)) break;
      a[i] = ps;
      ps.idx = i;
      i = p;
    }
    a[i] = s;
    s.idx = i;
  }

  private down(i: number): void {
    const a = this.a;
    const n = a.length;
    const s = a[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && before(a[c + 1]!, a[c]!)) c++;
      const cs = a[c]!;
      if (!before(cs, s)) break;
      a[i] = cs;
      cs.idx = i;
      i = c;
    }
    a[i] = s;
    s.idx = i;
  }
}

export class SulScheduler {
  private readonly lists = [new SulHeap(), new SulHeap()] as const;
  private seq = 0;

  /**
   * Arms `sul` to fire at absolute monotonic time `atUs`. Scheduling an armed node moves it
   * (and it counts as newly scheduled for tie order, as lws removes and re-inserts).
   */
  scheduleAt(sul: Sul, atUs: number, cb?: SulCallback, list: SulList = SUL_ONLY_IF_AWAKE): void {
    if (!cb && !sul.cb) throw new UsageError('ERR_SUL_NO_CALLBACK', 'sul has no callback');
    if (!Number.isFinite(atUs)) {
      throw new UsageError('ERR_SUL_DEADLINE', 'sul deadline must be a finite number of µs', { atUs });
    }
    if (list !== SUL_ONLY_IF_AWAKE && list !== SUL_WAKE_IF_SUSPENDED) {
      throw new UsageError('ERR_SUL_LIST', 'sul list must be SUL_ONLY_IF_AWAKE or SUL_WAKE_IF_SUSPENDED', { list });
    }
    if (cb) sul.cb = cb;
    if (sul.idx >= 0) this.lists[sul.list].remove(sul);
    sul.us = atUs;
    sul.list = list;
    sul.seq = ++this.seq;
    this.lists[list].push(sul);
  }

  /** Disarms `sul`; a no-op when it is idle. */
  cancel(sul: Sul): void {
    if (sul.idx < 0) return;
    this.lists[sul.list].remove(sul);
    sul.us = 0;
  }

  /** The earliest armed deadline on any list, or undefined. */
  earliest(): number | undefined {
    const h = this.head();
    return h ? h.us : undefined;
  }

  /** The earliest deadline of timers allowed to wake the device from suspend. */
  earliestWake(): number | undefined {
    return this.lists[SUL_WAKE_IF_SUSPENDED].a[0]?.us;
  }

  get count(): number {
    return this.lists[0].a.length + this.lists[1].a.length;
  }

  /**
   * Runs every timer whose deadline is <= nowUs, earliest first, restarting from the head after
   * each callback (a callback may arm or cancel anything). Returns µs until the next deadline,
   * or undefined when nothing is armed. A throwing callback does not stop the others: the first
   * error is rethrown after the pass, so the loop's owner can report it.
   */
  service(nowUs: number): number | undefined {
    let failure: unknown;
    let failed = false;
    for (;;) {
      const s = this.head();
      if (!s) break;
      if (s.us > nowUs) {
        if (failed) throw failure;
        return s.us - nowUs;
      }
      this.lists[s.list].remove(s);
      s.us = 0;
      try {
        (s.cb as SulCallback)(s);
      } catch (e) {
        if (!failed) { failed = true; failure = e; }
      }
    }
    if (failed) throw failure;
    return undefined;
  }

  private head(): Sul | undefined {
    const a = this.lists[0].a[0];
    const b = this.lists[1].a[0];
    if (!a) return b;
    if (!b) return a;
    return b.us <= a.us ? b : a;
  }
}
