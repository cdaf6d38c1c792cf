/**
 * The cross-thread attach mailbox (the transport behind lws_system_ops.attach).
 *
 * Another thread (a Node worker_thread, a Moddable Worker) may not touch loop objects, so it
 * posts "call channel C back on the loop once the system reaches state S, with arg A" into a
 * fixed ring in a SharedArrayBuffer and then wakes the loop (host wakeTarget()). The loop drains
 * the ring when it runs and hands each record to its own handler for the channel.
 *
 * Layout, all Int32 words:
 *   [0] lock      0 free, 1 held: producers serialise on it with compareExchange (a spinlock)
 *   [1] head      records consumed; only the consumer (the loop) writes it
 *   [2] tail      records published; producers write it while holding the lock
 *   [3] capacity  records in the ring, a power of two
 *   [4] dropped   posts refused because the ring was full
 *   [5] magic     identifies the layout, so a wrong buffer is refused early
 *   then capacity records of RECORD_WORDS words: channel (u32), targetState (u32), arg (i32)
 *
 * head and tail are free-running u32 counters: the fill level is (tail - head) >>> 0 and a
 * record's slot is counter & (capacity - 1), which stays right across wrap because the capacity
 * divides 2^32. The consumer takes no lock: it only reads slots below tail and only ever frees
 * slots by advancing head, and producers only write slots at or above tail and below
 * head + capacity, so the two never touch the same slot. Publishing with Atomics.store(tail)
 * after plain stores of the record, and reading tail with Atomics.load before plain loads, is
 * a synchronizes-with edge in the ECMAScript memory model, so the consumer sees whole records.
 *
 * The lock is held for a handful of stores. A spinlock rather than Atomics.wait because wait
 * is not allowed on every thread that may post (a browser-like main thread, some XS hosts), and
 * the critical section is far shorter than a context switch.
 */
import { LwsxError, UsageError } from '../util/errors.js';

const LOCK = 0;
const HEAD = 1;
const TAIL = 2;
const CAPACITY = 3;
const DROPPED = 4;
const MAGIC = 5;
const HEADER_WORDS = 8;
const RECORD_WORDS = 3;
/** "attM": a buffer holding anything else is refused */
const MAGIC_VALUE = 0x6174744d;
/** keeps one mailbox within a few hundred KiB; a loop that falls this far behind is broken */
export const ATTACH_MAX_CAPACITY = 1 << 14;

/** A post refused because the loop has not drained the ring (AttachClient.request). */
export class AttachFullError extends LwsxError {}

export type AttachRecordFn = (channel: number, targetState: number, arg: number) => void;

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function isI32(n: number): boolean {
  return Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff;
}

export class AttachMailbox {
  readonly buffer: SharedArrayBuffer;
  /** records the ring holds (the requested capacity rounded up to a power of two) */
  readonly capacity: number;
  private readonly words: Int32Array;
  private readonly mask: number;

  /** A fresh, empty mailbox holding at least `capacity` records. */
  static create(capacity: number): AttachMailbox {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > ATTACH_MAX_CAPACITY) {
      throw new UsageError('ERR_ATTACH_CAPACITY', `attach mailbox capacity must be an integer 1..${ATTACH_MAX_CAPACITY}`, { capacity });
    }
    let cap = 1;
    while (cap < capacity) cap <<= 1;
    const sab = new SharedArrayBuffer((HEADER_WORDS + cap * RECORD_WORDS) * 4);
    const w = new Int32Array(sab);
    w[CAPACITY] = cap;
    // magic last: a thread that sees it also sees the capacity stored before it
    Atomics.store(w, MAGIC, MAGIC_VALUE);
    return new AttachMailbox(sab);
  }

  /** Opens a mailbox made by create(), typically on another thread that was handed `buffer`. */
  constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < HEADER_WORDS * 4) {
      throw new UsageError('ERR_ATTACH_BUFFER', 'not an attach mailbox: expected the SharedArrayBuffer of AttachMailbox.create()');
    }
    const w = new Int32Array(sab);
    const cap = w[CAPACITY] as number;
    if (Atomics.load(w, MAGIC) !== MAGIC_VALUE || cap < 1 || cap > ATTACH_MAX_CAPACITY || (cap & (cap - 1)) !== 0 ||
      sab.byteLength < (HEADER_WORDS + cap * RECORD_WORDS) * 4) {
      throw new UsageError('ERR_ATTACH_BUFFER', 'not an attach mailbox: bad header', { byteLength: sab.byteLength, capacity: cap });
    }
    this.buffer = sab;
    this.words = w;
    this.capacity = cap;
    this.mask = cap - 1;
  }

  /**
   * Queues one record; safe from any thread. false when the ring is full (the refusal is
   * counted in `dropped`): the record is not queued and the caller decides what to do.
   */
  post(channel: number, targetState: number, arg: number): boolean {
    if (!isU32(channel) || !isU32(targetState) || !isI32(arg)) {
      throw new UsageError('ERR_ATTACH_RECORD', 'attach record: channel and targetState must be u32, arg an i32', { channel, targetState, arg });
    }
    const w = this.words;
    while (Atomics.compareExchange(w, LOCK, 0, 1) !== 0) {
      // spin: the holder is a few stores from releasing
    }
    try {
      const tail = Atomics.load(w, TAIL) >>> 0;
      const head = Atomics.load(w, HEAD) >>> 0;
      if (((tail - head) >>> 0) >= this.capacity) {
        Atomics.add(w, DROPPED, 1);
        return false;
      }
      const at = HEADER_WORDS + (tail & this.mask) * RECORD_WORDS;
      w[at] = channel | 0;
      w[at + 1] = targetState | 0;
      w[at + 2] = arg;
      Atomics.store(w, TAIL, (tail + 1) | 0);
      return true;
    } finally {
      Atomics.store(w, LOCK, 0);
    }
  }

  /**
   * Consumer side, the loop thread only: hands every queued record to `fn` in posting order
   * and returns how many. A record is taken off the ring before `fn` sees it, so a throwing
   * `fn` never gets the same record twice; the throw stops this drain and the records behind it
   * wait for the next one.
   */
  drain(fn: AttachRecordFn): number {
    const w = this.words;
    const tail = Atomics.load(w, TAIL) >>> 0;
    let head = Atomics.load(w, HEAD) >>> 0;
    let n = 0;
    while (head !== tail) {
      const at = HEADER_WORDS + (head & this.mask) * RECORD_WORDS;
      const channel = (w[at] as number) >>> 0;
      const targetState = (w[at + 1] as number) >>> 0;
      const arg = w[at + 2] as number;
      head = (head + 1) >>> 0;
      Atomics.store(w, HEAD, head | 0);
      n++;
      fn(channel, targetState, arg);
    }
    return n;
  }

  /** Records queued and not yet drained. */
  get pending(): number {
    return (Atomics.load(this.words, TAIL) - Atomics.load(this.words, HEAD)) >>> 0;
  }

  /** Posts refused because the ring was full, since creation. */
  get dropped(): number {
    return Atomics.load(this.words, DROPPED) >>> 0;
  }
}

/**
 * The producer side for another thread: post, then wake the loop. `wake` is whatever reaches
 * the loop's host from this thread — in Node a `nodeWaker(host.wakeTarget()).wake`, on XS a
 * datagram to the loop's wake port.
 */
export class AttachClient {
  private readonly mailbox: AttachMailbox;
  private readonly wake: () => void;

  constructor(sab: SharedArrayBuffer, wake: () => void) {
    this.mailbox = new AttachMailbox(sab);
    this.wake = wake;
  }

  /**
   * Asks the loop to call its handler for `channel` with `arg` once the system is at or past
   * `targetState`. Throws AttachFullError (ERR_ATTACH_FULL) when the loop has fallen behind by a
   * whole ring; nothing was queued then, and the loop is still woken so it catches up.
   */
  request(channel: number, targetState: number, arg: number): void {
    if (!this.mailbox.post(channel, targetState, arg)) {
      this.wake();
      throw new AttachFullError('ERR_ATTACH_FULL', 'attach mailbox is full: the loop has not drained it', {
        channel, targetState, arg, capacity: this.mailbox.capacity, dropped: this.mailbox.dropped,
      });
    }
    this.wake();
  }
}
