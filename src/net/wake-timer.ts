/**
 * The host's one timer for the earliest sul deadline, shared by every host: re-arming replaces,
 * undefined disarms, and the loop never runs before the deadline it asked for (platform timers
 * tick in whole ms on their own clock, and long waits are split into steps they can hold).
 *
 * A deadline already due is asked for as a 0 ms timer (the next turn of the platform's loop): a
 * 1 ms timer would hold the loop's most common deadline, "the next pass" (work deferred from
 * inside a pass, armed for the pass's start + 1 µs), a whole millisecond. One not yet due, even by
 * less than a tick, gets at least 1 ms: asking for next turns until it came would spin the CPU.
 * "Due" allows DUE_SLACK_US: a pass that ran in under 1 µs must not hold its next pass 1 ms.
 */
import { UsageError } from '../util/errors.js';

/** The platform's one-shot timer (setTimeout on Node, Timer.set on Moddable). */
export interface PlatformTimer<T> {
  set(fn: () => void, ms: number): T;
  clear(t: T): void;
}

/** Both platforms take a delay in ms as a signed 32-bit count. */
const MAX_TIMER_MS = 0x7fffffff;

/** a deadline this close counts as due (less than a platform turn takes) */
const DUE_SLACK_US = 20;

export class WakeTimer<T> {
  private timer: T | undefined;
  private at: number | undefined;
  private closed = false;

  constructor(
    private readonly platform: PlatformTimer<T>,
    private readonly nowUs: () => number,
    private readonly fire: () => void,
  ) {}

  /** The deadline (monotonic µs) the timer is armed for, if any. */
  get atUs(): number | undefined {
    return this.at;
  }

  /** Arms for `atUs` (replacing any earlier arming); undefined disarms. A no-op once closed. */
  arm(atUs: number | undefined): void {
    if (this.timer !== undefined) this.platform.clear(this.timer);
    this.timer = undefined;
    this.at = undefined;
    if (atUs === undefined || this.closed) return;
    if (!Number.isFinite(atUs)) throw new UsageError('ERR_WAKE_TIMER', 'wake timer deadline must be a finite number of µs', { atUs });
    this.at = atUs;
    this.start(atUs);
  }

  close(): void {
    this.arm(undefined);
    this.closed = true;
  }

  private start(atUs: number): void {
    const us = atUs - this.nowUs();
    const ms = us <= DUE_SLACK_US ? 0 : Math.min(MAX_TIMER_MS, Math.ceil(us / 1000));
    this.timer = this.platform.set(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    // a one-shot timer is spent once it has fired
    this.timer = undefined;
    const at = this.at;
    if (at === undefined || this.closed) return;
    if (this.nowUs() < at) {
      this.start(at);
      return;
    }
    this.at = undefined;
    this.fire();
  }
}
