/**
 * Holds the boot walk at TIME_VALID until the device's wall clock can be trusted: TLS cannot
 * check a certificate's dates, nor a policy its validity, on a clock that reads 1970.
 *
 * Valid means the board's wall clock is past the threshold (lws's, by default) AND, when an
 * SNTP client is given, that it has synced at least once. That second condition is where we
 * differ from lws, which lets a clock already past the threshold through at once and only
 * triggers NTP for a clock before it: a clock that is merely plausible (an RTC kept across a
 * reboot, a desktop simulator) may still be minutes or years out, and everything after
 * TIME_VALID trusts it. `trustClockPastThreshold: true` restores lws's behaviour; the client is
 * started either way, so the clock is corrected as soon as a server answers.
 *
 * Without a client, something else (the platform's own SNTP, an RTC driver) must set the clock:
 * the notifier looks at it again every `pollMs` while it holds.
 */
import type { Context } from '../../loop/context.js';
import { Sul } from '../../loop/sul.js';
import type { Notifier, StateManager } from '../../system/state.js';
import { SysState } from '../../system/states.js';
import type { SntpClient } from './client.js';
import { TIME_VALID_THRESHOLD_US } from './threshold.js';

export interface TimeValidOptions {
  /** the SNTP client that sets the clock; started when TIME_VALID is first asked for */
  client?: SntpClient;
  /** unix µs the clock must be past; default the client's validAfterUs, else lws's threshold */
  thresholdUs?: number;
  /** lws's rule: a clock past the threshold is valid without waiting for a sync (false) */
  trustClockPastThreshold?: boolean;
  /** without a client: ms between looks at the clock while holding (1000) */
  pollMs?: number;
}

export class TimeValidNotifier implements Notifier {
  readonly name = 'sntp';
  readonly thresholdUs: number;
  private readonly ctx: Context;
  private readonly client: SntpClient | undefined;
  private readonly trustClock: boolean;
  private readonly pollUs: number;
  private readonly poll = new Sul();
  private holding = false;

  constructor(ctx: Context, opts: TimeValidOptions = {}) {
    this.ctx = ctx;
    this.client = opts.client;
    this.thresholdUs = opts.thresholdUs ?? opts.client?.validAfterUs ?? TIME_VALID_THRESHOLD_US;
    this.trustClock = opts.trustClockPastThreshold ?? false;
    this.pollUs = (opts.pollMs ?? 1000) * 1000;
    this.client?.onSync(() => this.recheck());
  }

  /** Is the time valid now? */
  get valid(): boolean {
    if (this.ctx.wallUs() < this.thresholdUs) return false;
    return !this.client || this.trustClock || this.client.synced;
  }

  /** Is it holding the boot walk? */
  get isHolding(): boolean {
    return this.holding;
  }

  notify(_mgr: StateManager, current: number, target: number): 'ok' | 'hold' {
    if (current === target) {
      if (current === SysState.CONTEXT_DESTROYING) this.ctx.cancel(this.poll);
      return 'ok';
    }
    if (target !== SysState.TIME_VALID) return 'ok';
    this.client?.start();
    if (this.valid) {
      this.holding = false;
      return 'ok';
    }
    if (!this.holding) {
      this.holding = true;
      this.ctx.logger.info('sntp', 'holding TIME_VALID until the time is known', {
        wallUs: this.ctx.wallUs(),
        thresholdUs: this.thresholdUs,
        waitingFor: this.client ? 'sntp sync' : 'the clock',
      });
    }
    if (!this.client && !this.poll.armed) this.ctx.schedule(this.poll, this.pollUs, () => this.recheck());
    return 'hold';
  }

  private recheck(): void {
    if (!this.holding) return;
    if (!this.valid) {
      if (!this.client) this.ctx.schedule(this.poll, this.pollUs, () => this.recheck());
      else if (this.client.synced) {
        this.ctx.logger.warn('sntp', 'synced, but the board clock is still before the threshold (does its setClock work?)', {
          wallUs: this.ctx.wallUs(),
        });
      }
      return;
    }
    this.holding = false;
    this.ctx.logger.info('sntp', 'time is valid: releasing TIME_VALID');
    this.ctx.system.resumeLater();
  }
}
