/**
 * lws_system: the device-wide state machine, the board's ops, the blobs and the attach queue.
 *
 * Every transition is logged with its time and, when held, by which notifier; the state is
 * published over SMD as {"state":"NAME"} (LWSSMDCL_SYSTEM_STATE), as lws does.
 */
import type { Logger } from '../loop/log.js';
import { Blobs, BlobType } from './blob.js';
import type { Board } from './board.js';
import type { AttachRequest, CpdResult, MetricPub } from './ops.js';
import type { Smd } from './smd.js';
import { SMD_CLASS_SYSTEM_STATE } from './smd.js';
import { StateManager } from './state.js';
import type { Notifier, TransitionRecord } from './state.js';
import { SYS_STATE_NAMES, SysState } from './states.js';
import { utf8Encode } from '../util/utf8.js';

export interface SystemDeps {
  board: Board;
  logger: Logger;
  smd: Smd;
  nowUs(): number;
  /** run `fn` on a later loop iteration */
  defer(fn: () => void): void;
}

export class System {
  readonly state: StateManager;
  readonly blobs = new Blobs();
  readonly board: Board;
  /** what the boot walk aims for; notifiers that held resume towards it */
  target: number = SysState.OPERATIONAL;
  cpdResult: CpdResult = 0;
  private readonly attachQueue: AttachRequest[] = [];
  /** a serviceAttach pass is already deferred: one pass serves every request ready by then */
  private attachPending = false;
  private readonly deps: SystemDeps;
  private readonly transitionListeners: Array<(rec: TransitionRecord) => void> = [];

  constructor(deps: SystemDeps) {
    this.deps = deps;
    this.board = deps.board;
    this.state = new StateManager({
      name: 'system',
      stateNames: SYS_STATE_NAMES,
      initial: SysState.CONTEXT_CREATED,
      // lws' policy swap: from POLICY_INVALID the walk to OPERATIONAL starts again at POLICY_VALID
      reentry: { from: SysState.POLICY_INVALID, to: SysState.POLICY_VALID },
      nowUs: deps.nowUs,
      onTransition: (rec) => this.onTransition(rec),
      onNotifierError: (err) => deps.logger.err('system', err.message, { code: err.code, ...err.detail }),
    });
    const id = deps.board.description.identity;
    this.blobs.get(BlobType.DEVICE_SERIAL).setDirect(utf8Encode(id.serial));
    this.blobs.get(BlobType.DEVICE_FW_VERSION).setDirect(utf8Encode(id.firmwareVersion));
    this.blobs.get(BlobType.DEVICE_TYPE).setDirect(utf8Encode(id.deviceType));
    // NTP_SERVER stays empty unless the application sets it: SNTP then falls back to the server
    // DHCP offered (option 42), then to the board's default
  }

  /** Registers a notifier (asked before those registered earlier). Returns its unregister. */
  register(n: Notifier): () => void {
    return this.state.register(n);
  }

  /** Hears every transition record (steps, jumps, holds, notifier errors). */
  onTransitionRecord(fn: (rec: TransitionRecord) => void): void {
    this.transitionListeners.push(fn);
  }

  /**
   * Walks towards `target` (default: the boot target), one state at a time; from POLICY_INVALID
   * it first jumps back to POLICY_VALID (the policy swap).
   */
  resume(target = this.target): void {
    this.target = target;
    this.state.transitionSteps(target);
  }

  /** resume() from outside the loop (a promise, a socket callback): runs on the next iteration. */
  resumeLater(target = this.target): void {
    this.deps.defer(() => this.resume(target));
  }

  /**
   * Calls `cb` on the loop once the system is at or past `state` (lws_system_attach). Routed
   * through the board's attach op when it has one, so the board can add its own locking.
   */
  attach(state: number, cb: () => void): void {
    const req: AttachRequest = { state, cb };
    const enqueue = (r: AttachRequest): void => {
      this.attachQueue.push(r);
      this.deferAttachService();
    };
    const op = this.board.ops.attach;
    if (op) op.call(this.board.ops, req, enqueue);
    else enqueue(req);
  }

  /**
   * Asks the board to detect a captive portal (lws_system_cpd_start). Returns false when the
   * board has no such op; the result arrives through captivePortalResult.
   */
  captivePortalDetect(): boolean {
    const op = this.board.ops.captivePortalDetectRequest;
    if (!op) return false;
    op.call(this.board.ops, (r) => this.captivePortalResult(r));
    return true;
  }

  /** The board's captive portal detection finished (lws_system_cpd_set). */
  captivePortalResult(result: CpdResult): void {
    this.cpdResult = result;
    this.deps.logger.notice('system', 'captive portal detection', { result });
  }

  /**
   * Hands a metric to the board (lws_system_ops.metric_report). Returns true when the board
   * asks for the metric to be reset; false when it keeps it, or has no such op.
   */
  reportMetric(metric: MetricPub): boolean {
    const op = this.board.ops.metricReport;
    return op ? op.call(this.board.ops, metric) === true : false;
  }

  private deferAttachService(): void {
    if (this.attachPending) return;
    this.attachPending = true;
    this.deps.defer(() => {
      this.attachPending = false;
      this.serviceAttach();
    });
  }

  private serviceAttach(): void {
    const now = this.state.state;
    for (let i = 0; i < this.attachQueue.length; ) {
      const r = this.attachQueue[i] as AttachRequest;
      if (now >= r.state && now <= SysState.OPERATIONAL) {
        this.attachQueue.splice(i, 1);
        try {
          r.cb();
        } catch (e) {
          this.deps.logger.err('system', `attach callback threw: ${(e as Error)?.message ?? String(e)}`);
        }
      } else i++;
    }
  }

  private onTransition(rec: TransitionRecord): void {
    const log = this.deps.logger;
    // transitions log under their own subsystem, "state", so a log reader can tell them apart
    if (rec.kind === 'held') log.info('state', `${rec.fromName} -> ${rec.toName} held by ${rec.heldBy}`);
    else if (rec.kind !== 'error') {
      log.notice('state', rec.toName, { from: rec.fromName });
      this.deps.smd.send(SMD_CLASS_SYSTEM_STATE, `{"state":"${rec.toName}"}`);
      if (this.attachQueue.length) this.deferAttachService();
    }
    for (const fn of this.transitionListeners) fn(rec);
  }
}
