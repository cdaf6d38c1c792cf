/**
 * Timers for a wall-clock time ("at 03:00 UTC", "when the certificate expires") on the
 * monotonic sul scheduler. A wall deadline is turned into a monotonic one when it is armed;
 * when the wall clock steps (SNTP set it, the board's RTC was corrected), `clockStepped()` moves
 * every pending one by the step so it still fires at the same wall time. This is lws's
 * lws_sul_nonmonotonic_adjust(), kept to the timers that asked for wall time: an ordinary sul
 * (a retry in 300 ms) must not move when the clock does.
 */
import type { Sul, SulCallback } from './sul.js';

export interface WallTimerLoop {
  nowUs(): number;
  wallUs(): number;
  scheduleAt(sul: Sul, atUs: number, cb?: SulCallback): void;
  cancel(sul: Sul): void;
}

interface Pending {
  readonly wallUs: number;
  /** the wrapper we armed: if the sul's callback is another, someone re-armed it as a plain sul */
  readonly fire: SulCallback;
}

export class WallTimers {
  private readonly pending = new Map<Sul, Pending>();

  constructor(private readonly loop: WallTimerLoop) {}

  /** Arms `sul` to fire when the device's wall clock reads `wallUs` (unix µs). */
  scheduleAtWall(sul: Sul, wallUs: number, cb: SulCallback): void {
    const fire: SulCallback = (s) => {
      if (this.pending.get(s)?.fire === fire) this.pending.delete(s);
      cb(s);
    };
    this.pending.set(sul, { wallUs, fire });
    this.loop.scheduleAt(sul, this.loop.nowUs() + (wallUs - this.loop.wallUs()), fire);
  }

  /** Disarms a wall timer. */
  cancel(sul: Sul): void {
    this.pending.delete(sul);
    this.loop.cancel(sul);
  }

  /** The wall time a pending timer is for, or undefined. */
  deadlineOf(sul: Sul): number | undefined {
    const p = this.pending.get(sul);
    return p && this.isOurs(sul, p) ? p.wallUs : undefined;
  }

  /** How many wall timers are pending. */
  get count(): number {
    let n = 0;
    for (const [sul, p] of this.pending) if (this.isOurs(sul, p)) n++;
    return n;
  }

  /**
   * The wall clock just jumped by `deltaUs` (new = old + delta): every pending wall timer is
   * re-armed `deltaUs` earlier on the monotonic clock (later, for a backward step). Timers that
   * are now in the past fire on the next loop pass.
   */
  clockStepped(deltaUs: number): void {
    if (deltaUs === 0) return;
    for (const [sul, p] of this.pending) {
      if (!this.isOurs(sul, p)) {
        // cancelled through the loop directly, or re-armed as an ordinary sul: not ours to move
        this.pending.delete(sul);
        continue;
      }
      this.loop.scheduleAt(sul, sul.us - deltaUs, p.fire);
    }
  }

  private isOurs(sul: Sul, p: Pending): boolean {
    return sul.armed && sul.cb === p.fire;
  }
}
