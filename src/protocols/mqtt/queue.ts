/**
 * The bounded queue of messages waiting to be sent (offline, before CONNACK, or while the
 * in-flight window is full): a ring buffer that grows to `max` and never past it. What happens
 * to a message that does not fit is the caller's explicit choice (OverflowPolicy).
 */
import { UsageError } from '../../util/errors.js';

/** drop-oldest: make room by dropping the head; drop-newest: drop the new one; refuse: throw ERR_MQTT_QUEUE_FULL */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'refuse';

export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['drop-oldest', 'drop-newest', 'refuse'];

export class BoundedQueue<T> {
  readonly max: number;
  private buf: Array<T | undefined>;
  private head = 0;
  private count = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1 || max > 0x1000000) throw new UsageError('ERR_MQTT_OPTIONS', `queue max must be an integer 1..16777216, not ${String(max)}`, { field: 'queue.max' });
    this.max = max;
    this.buf = new Array<T | undefined>(Math.min(max, 16));
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.max;
  }

  peek(): T | undefined {
    return this.count ? this.buf[this.head] : undefined;
  }

  /** Appends; the caller checks `full` first (a full queue throws a UsageError here). */
  push(v: T): void {
    if (this.count >= this.max) throw new UsageError('ERR_MQTT_QUEUE_FULL', 'queue is full');
    this.room(this.count + 1);
    this.buf[(this.head + this.count) % this.buf.length] = v;
    this.count++;
  }

  /**
   * Puts `v` first. Used to give back messages that were in flight when the broker lost the
   * session: they were accepted already, so they may take the queue past `max` (by at most
   * the in-flight window).
   */
  unshift(v: T): void {
    this.room(this.count + 1);
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = v;
    this.count++;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.count--;
    return v;
  }

  /** Removes every element `drop` says to, keeping order; returns the ones removed. */
  removeWhere(drop: (v: T) => boolean): T[] {
    const gone: T[] = [];
    const keep: T[] = [];
    for (let v = this.shift(); v !== undefined; v = this.shift()) (drop(v) ? gone : keep).push(v);
    for (let i = 0; i < keep.length; i++) this.buf[i] = keep[i];
    this.head = 0;
    this.count = keep.length;
    return gone;
  }

  private room(n: number): void {
    if (n <= this.buf.length) return;
    const grown = new Array<T | undefined>(Math.max(n, Math.min(this.max, this.buf.length * 2)));
    for (let i = 0; i < this.count; i++) grown[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = grown;
    this.head = 0;
  }
}
