/**
 * The Context: one per device, one loop. It owns the sul scheduler, the system state machine,
 * SMD and the attach mailbox, and it is the only thing the host calls back into: when the wake
 * timer fires or another thread wakes the loop, the host runs `service()`.
 *
 * Boot starts one loop tick after construction (as lws), so the creator holds the Context
 * before any notifier runs.
 */
import { FaultInjector } from '../net/fault.js';
import type { Host } from '../net/host.js';
import { AttachMailbox } from '../system/attach.js';
import type { Board } from '../system/board.js';
import { NetifNotifier } from '../system/netif.js';
import { PolicyLoadNotifier } from '../system/policy-load.js';
import type { PolicyValidator } from '../system/policy-load.js';
import { Smd } from '../system/smd.js';
import type { SmdLoop } from '../system/smd.js';
import { SysState } from '../system/states.js';
import { System } from '../system/system.js';
import { UsageError } from '../util/errors.js';
import type { LwsxError } from '../util/errors.js';
import { Logger } from './log.js';
import { random16FromBytes } from './retry.js';
import type { LogLevel, LogSink } from './log.js';
import { Sul, SulScheduler } from './sul.js';
import { WallTimers } from './wall-timers.js';
import type { SulCallback, SulList } from './sul.js';

export interface ContextOptions {
  host: Host;
  board: Board;
  log?: LogSink;
  logLevel?: LogLevel;
  /** where boot walks to; default OPERATIONAL */
  bootTarget?: number;
  smd?: { maxQueueDepth?: number; ttlUs?: number };
  /** capacity of the cross-thread attach mailbox (records) */
  attachCapacity?: number;
  /** datagram faults to inject (lws udp_tx_loss / udp_rx_loss); none by default */
  faults?: FaultInjector;
  /** turns policy text into the policy object; default: the Secure Streams policy parser */
  policyValidator?: PolicyValidator;
  /** a boot step failed for good (e.g. the policy): the device stays where it is */
  onError?: (e: LwsxError) => void;
}

export type AttachHandler = (arg: number) => void;

export class Context implements SmdLoop {
  readonly host: Host;
  readonly sul = new SulScheduler();
  readonly logger: Logger;
  readonly smd: Smd;
  readonly system: System;
  /** where other threads post attach requests (see AttachClient) */
  readonly attachMailbox: AttachMailbox;
  readonly netif: NetifNotifier;
  readonly policyLoader: PolicyLoadNotifier;
  readonly faults: FaultInjector;
  /** timers at a wall-clock time: they follow the clock when SNTP steps it */
  readonly wallTimers: WallTimers;
  /** a random u16 from the host's entropy (retry jitter, transaction ids) */
  readonly random16: () => number;
  /** monotonic µs at creation: the timeline's zero */
  readonly createdUs: number;
  private readonly deferred: Array<() => void> = [];
  private readonly deferSul = new Sul(() => this.runDeferred());
  private readonly attachHandlers = new Map<number, AttachHandler>();
  /** connections (wsi) alive on this context: destroy() closes them, as lws_context_destroy does */
  private readonly live = new Set<{ close(): void }>();
  private armedUs: number | undefined;
  private destroyed = false;
  private servicing = false;
  /** the `now` of the pass in progress */
  private serviceNowUs = 0;

  constructor(opts: ContextOptions) {
    this.host = opts.host;
    this.createdUs = opts.host.nowUs();
    this.faults = opts.faults ?? new FaultInjector();
    this.random16 = random16FromBytes((into) => this.host.random(into));
    this.logger = new Logger(opts.log, opts.logLevel ?? 'notice', () => this.host.nowUs());
    this.smd = new Smd({ loop: this, ...opts.smd });
    this.wallTimers = new WallTimers(this);
    this.attachMailbox = AttachMailbox.create(opts.attachCapacity ?? 32);
    this.system = new System({
      board: opts.board,
      logger: this.logger,
      smd: this.smd,
      nowUs: () => this.host.nowUs(),
      defer: (fn) => this.defer(fn),
    });
    this.netif = new NetifNotifier(this.system, this.host);
    this.system.register(this.netif);
    this.policyLoader = new PolicyLoadNotifier(
      this.system,
      (e) => {
        this.logger.err('system', e.message, { code: e.code, ...e.detail });
        opts.onError?.(e);
      },
      opts.policyValidator,
    );
    this.system.register(this.policyLoader);
    opts.board.start?.({
      interfaceBound: (cfg) => this.netif.bound(cfg),
      log: (msg, fields) => this.logger.notice('board', msg, fields),
    });
    const target = opts.bootTarget ?? SysState.OPERATIONAL;
    this.host.setLoopRunner(() => this.service());
    this.defer(() => this.system.resume(target));
  }

  nowUs(): number {
    return this.host.nowUs();
  }

  /** The device's wall clock (the board's, if it keeps one), unix µs. */
  wallUs(): number {
    const ops = this.system.board.ops;
    return ops.wallUs ? ops.wallUs() : this.host.wallUs();
  }

  /** Arms `sul` at absolute monotonic µs (SmdLoop). */
  scheduleAt(sul: Sul, atUs: number, cb?: SulCallback, list?: SulList): void {
    this.checkAlive();
    // armed from inside a pass, even "now" means the next pass: lws's sul.us = now() + us is
    // always later than the usnow the pass started with, so nothing runs twice in one pass
    if (this.servicing && atUs <= this.serviceNowUs) atUs = this.serviceNowUs + 1;
    this.sul.scheduleAt(sul, atUs, cb, list);
    this.rearm();
  }

  /** Arms `sul` to fire `delayUs` from now (lws_sul_schedule). */
  schedule(sul: Sul, delayUs: number, cb?: SulCallback, list?: SulList): void {
    this.scheduleAt(sul, this.host.nowUs() + delayUs, cb, list);
  }

  cancel(sul: Sul): void {
    this.sul.cancel(sul);
  }

  /** Runs `fn` on the next loop iteration, in the order deferred. */
  defer(fn: () => void): void {
    this.checkAlive();
    this.deferred.push(fn);
    if (!this.deferSul.armed) this.scheduleAt(this.deferSul, this.host.nowUs());
  }

  /** Handles attach requests other threads post on `channel` (arg is theirs). */
  onAttach(channel: number, handler: AttachHandler): void {
    this.attachHandlers.set(channel, handler);
  }

  /**
   * One loop iteration: attach requests from other threads, then ripe timers; then the host's
   * timer is armed for the next deadline. Errors thrown by callbacks are logged, never fatal.
   */
  service(): void {
    if (this.destroyed || this.servicing) return;
    this.servicing = true;
    // the host's one-shot timer is spent (or is replaced below): never trust it past this point
    this.armedUs = undefined;
    try {
      this.drainAttach();
      this.serviceNowUs = this.host.nowUs();
      try {
        this.sul.service(this.serviceNowUs);
      } catch (e) {
        this.logError('callback threw', e);
      }
    } finally {
      this.servicing = false;
      // the pass may have been a timer firing or a wakeup: either way, tell the host afresh,
      // even when something above threw, or no timer would ever be armed again
      if (!this.destroyed) {
        this.armedUs = this.sul.earliest();
        this.host.setWakeTimer(this.armedUs);
      }
    }
  }

  /** A connection announces itself (and takes itself off with `untrack` when it closes). */
  track(c: { close(): void }): void {
    this.checkAlive();
    this.live.add(c);
  }

  untrack(c: { close(): void }): void {
    this.live.delete(c);
  }

  /**
   * Steps to CONTEXT_DESTROYING (notifiers hear it synchronously; SMD peers do not, as no loop
   * iteration follows), then stops the loop and releases the host.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.system.state.transition(SysState.CONTEXT_DESTROYING);
    for (const c of [...this.live]) c.close();
    this.live.clear();
    this.destroyed = true;
    this.smd.destroy();
    this.host.setWakeTimer(undefined);
    this.host.close();
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Requests from other threads; one that throws (a board's attach op) is logged, the rest still run. */
  private drainAttach(): void {
    for (;;) {
      try {
        this.attachMailbox.drain((channel, state, arg) => {
          const h = this.attachHandlers.get(channel);
          if (!h) {
            this.logger.warn('attach', 'request on a channel nobody handles', { channel });
            return;
          }
          this.system.attach(state, () => h(arg));
        });
        return;
      } catch (e) {
        // drain() took the failing record off the ring, so this loop always ends
        this.logError('attach request threw', e);
      }
    }
  }

  private logError(what: string, e: unknown): void {
    this.logger.err('loop', `${what}: ${(e as Error)?.message ?? String(e)}`, { code: (e as { code?: string })?.code });
  }

  private runDeferred(): void {
    // take only what is queued now: work deferred by these callbacks runs next iteration
    const batch = this.deferred.splice(0, this.deferred.length);
    for (const fn of batch) {
      try {
        fn();
      } catch (e) {
        this.logError('deferred callback threw', e);
      }
    }
  }

  /**
   * After a schedule from outside a pass: the host's timer only ever has to move earlier. When
   * it is armed for no later than the new earliest deadline it stays (moving a platform timer
   * costs a clear and a set, and a busy connection pushes its timeout back on every request): at
   * worst it wakes a pass that finds nothing ripe and re-arms for the real deadline.
   */
  private rearm(): void {
    if (this.servicing || this.destroyed) return;
    const next = this.sul.earliest();
    if (next === undefined || (this.armedUs !== undefined && this.armedUs <= next)) return;
    this.armedUs = next;
    this.host.setWakeTimer(next);
  }

  private checkAlive(): void {
    if (this.destroyed) throw new UsageError('ERR_CONTEXT_DESTROYED', 'the context has been destroyed');
  }
}
