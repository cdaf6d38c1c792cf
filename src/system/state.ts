/**
 * lws_state: a generic state manager whose transitions any registered notifier may veto
 * ("hold"), as lib/core-net/state.c. The system state (lws_system) is one instance; anything
 * else with ordered readiness steps can be another.
 *
 * Semantics kept from lws:
 *  - notifiers are asked most-recently-registered first (lws adds at the list head);
 *  - transitionSteps() walks one state at a time; at each step every notifier is asked
 *    notify(mgr, current, next) and the first to answer 'hold' stops the walk — it takes
 *    responsibility for calling transitionSteps() again when its async work is done;
 *  - once a step is agreed, the state changes and every notifier hears notify(mgr, s, s).
 *
 * Where lws is unsafe we refuse or define the behaviour instead:
 *  - a walk to a lower state would count upwards forever in lws: ERR_STATE_ORDER, except from
 *    the `reentry.from` side state, whose walk first jumps back to `reentry.to` (lws_system's
 *    policy swap: POLICY_INVALID walks up again from POLICY_VALID);
 *  - lws stops the success round at the first non-zero return: here every notifier hears it
 *    and its answer is ignored;
 *  - a notifier that throws holds the step (its work cannot have been done), is reported as a
 *    NotifierError to onNotifierError and in the log, and leaves the manager usable; one that
 *    throws while hearing a success is reported the same way and the others still hear it.
 *
 * Re-entrancy (lws would recurse into a half-finished transition): a transitionSteps() or
 * transition() made while a transition is running — from inside notify(), typically a notifier
 * that finished its work synchronously, or from onTransition/onNotifierError — is queued and
 * returns 'queued'. Queued requests run, in the order made, as soon as the step in progress is
 * complete (success round included) and before that walk takes its next step, so a jump such as
 * POLICY_INVALID pre-empts a walk, and a walk that finds itself past its target simply ends.
 * The walk is iterative: however many requests notifiers chain, the stack does not grow.
 */
import { LwsxError, UsageError } from '../util/errors.js';

export type NotifyResult = 'ok' | 'hold';

export interface Notifier {
  readonly name: string;
  /** current !== target: may the manager go there? current === target: it just did. */
  notify(mgr: StateManager, current: number, target: number): NotifyResult;
}

export type TransitionKind = 'step' | 'jump' | 'held' | 'error';

export interface TransitionRecord {
  atUs: number;
  kind: TransitionKind;
  from: number;
  to: number;
  fromName: string;
  toName: string;
  /** the notifier that held ('held') or failed ('error') */
  heldBy?: string;
  error?: NotifierError;
}

/**
 * 'reached': the manager is at the target when the call returns. 'held': it is not — a
 * notifier held a step (and owns resuming it), failed, or a request it queued moved the
 * manager elsewhere; the log says which. 'queued': the call was made during a transition and
 * will run after the step in progress.
 */
export type TransitionResult = 'reached' | 'held' | 'queued';

/** A notifier threw ('ERR_NOTIFIER_THREW') or answered neither 'ok' nor 'hold' ('ERR_NOTIFIER_RESULT'). */
export class NotifierError extends LwsxError {
  constructor(
    code: 'ERR_NOTIFIER_THREW' | 'ERR_NOTIFIER_RESULT',
    detail: { manager: string; notifier: string; from: number; to: number; fromName: string; toName: string },
    cause: unknown,
  ) {
    const what = code === 'ERR_NOTIFIER_THREW' ? 'threw' : 'gave an answer other than ok/hold';
    super(code, `${detail.manager}: notifier "${detail.notifier}" ${what} on ${detail.fromName} -> ${detail.toName}`, detail, cause);
  }
}

export interface StateManagerOptions {
  name: string;
  stateNames: readonly string[];
  initial?: number;
  nowUs: () => number;
  onTransition?: (rec: TransitionRecord) => void;
  onNotifierError?: (err: NotifierError) => void;
  /** how many records `log` keeps (oldest dropped first); default 64, 0 keeps none */
  logDepth?: number;
  /** a walk from side state `from` to a target in to..from-1 first jumps to `to` */
  reentry?: { from: number; to: number };
}

interface Entry {
  readonly n: Notifier;
  live: boolean;
}

interface Request {
  readonly jump: boolean;
  readonly target: number;
}

export const STATE_LOG_DEPTH_DEFAULT = 64;

export class StateManager {
  readonly managerName: string;
  private readonly names: readonly string[];
  private readonly nowUs: () => number;
  private readonly onTransition: ((rec: TransitionRecord) => void) | undefined;
  private readonly onNotifierError: ((err: NotifierError) => void) | undefined;
  private readonly depth: number;
  private readonly reentry: { from: number; to: number } | undefined;
  private cur: number;
  /** index 0 is the most recently registered, asked first */
  private readonly entries: Entry[] = [];
  private readonly records: TransitionRecord[] = [];
  private running = false;
  /** requests made while running, not yet merged into the work list */
  private readonly queued: Request[] = [];

  constructor(opts: StateManagerOptions) {
    if (!Array.isArray(opts.stateNames) || opts.stateNames.length === 0) {
      throw new UsageError('ERR_STATE_CONFIG', `${opts.name}: stateNames must be a non-empty list`, { manager: opts.name });
    }
    const depth = opts.logDepth ?? STATE_LOG_DEPTH_DEFAULT;
    if (!Number.isInteger(depth) || depth < 0) {
      throw new UsageError('ERR_STATE_CONFIG', `${opts.name}: logDepth must be an integer >= 0`, { manager: opts.name, logDepth: depth });
    }
    this.managerName = opts.name;
    this.names = opts.stateNames;
    this.nowUs = opts.nowUs;
    this.onTransition = opts.onTransition;
    this.onNotifierError = opts.onNotifierError;
    this.depth = depth;
    if (opts.reentry) {
      const { from, to } = opts.reentry;
      this.checkState(from);
      this.checkState(to);
      if (to >= from) {
        throw new UsageError('ERR_STATE_CONFIG', `${opts.name}: reentry must lead down to a lower state`, { manager: opts.name, from, to });
      }
      this.reentry = { from, to };
    } else this.reentry = undefined;
    this.cur = this.checkState(opts.initial ?? 0);
  }

  get state(): number {
    return this.cur;
  }

  get stateName(): string {
    return this.names[this.cur] as string;
  }

  /** The name of state `n`. */
  name(n: number): string {
    return this.names[this.checkState(n)] as string;
  }

  /** The most recent transition records, oldest first. */
  get log(): readonly TransitionRecord[] {
    return this.records;
  }

  /** Adds a notifier, asked before every one registered earlier. Returns its unregister. */
  register(n: Notifier): () => void {
    if (this.entries.some((e) => e.n === n)) {
      throw new UsageError('ERR_NOTIFIER_DUPLICATE', `${this.managerName}: notifier "${n.name}" is already registered`, {
        manager: this.managerName,
        notifier: n.name,
      });
    }
    const entry: Entry = { n, live: true };
    this.entries.unshift(entry);
    return () => {
      if (!entry.live) return;
      entry.live = false;
      this.entries.splice(this.entries.indexOf(entry), 1);
    };
  }

  /** Walks up one state at a time to `target` (lws_state_transition_steps). */
  transitionSteps(target: number): TransitionResult {
    this.checkState(target);
    if (target < this.cur && !this.reenters(this.cur, target)) {
      throw new UsageError(
        'ERR_STATE_ORDER',
        `${this.managerName}: cannot walk down from ${this.stateName} to ${this.names[target]}; use transition()`,
        { manager: this.managerName, from: this.cur, to: target, fromName: this.stateName, toName: this.names[target] },
      );
    }
    return this.request({ jump: false, target });
  }

  /** Goes straight to `target` in one move, which any notifier may hold (lws_state_transition). */
  transition(target: number): TransitionResult {
    this.checkState(target);
    return this.request({ jump: true, target });
  }

  private request(req: Request): TransitionResult {
    if (this.running) {
      this.queued.push(req);
      return 'queued';
    }
    if (req.target === this.cur) return 'reached';
    this.running = true;
    const work: Request[] = [req];
    try {
      while (work.length > 0) {
        if (this.advance(work[0] as Request)) work.shift();
        if (this.queued.length > 0) {
          work.unshift(...this.queued);
          this.queued.length = 0;
        }
      }
    } finally {
      this.running = false;
      // only reached when a hook threw out of the run: those requests die with it
      this.queued.length = 0;
    }
    return this.cur === req.target ? 'reached' : 'held';
  }

  /** Takes one step (or the jump) of `req`; true when `req` has nothing more to do. */
  private advance(req: Request): boolean {
    const from = this.cur;
    if (req.jump) {
      if (from !== req.target) this.attempt(from, req.target, 'jump');
      return true;
    }
    // >=: a queued jump may have carried the manager past this walk's target
    if (from >= req.target) {
      if (!this.reenters(from, req.target)) return true;
      const to = (this.reentry as { to: number }).to;
      return !this.attempt(from, to, 'jump') || this.cur === req.target;
    }
    return !this.attempt(from, from + 1, 'step') || this.cur === req.target;
  }

  /** Whether a walk from `from` to `target` re-enters below (see StateManagerOptions.reentry). */
  private reenters(from: number, target: number): boolean {
    const r = this.reentry;
    return r !== undefined && from === r.from && target >= r.to && target < r.from;
  }

  /** Asks every notifier about from -> to; on agreement moves and announces. True if moved. */
  private attempt(from: number, to: number, kind: 'step' | 'jump'): boolean {
    for (const e of this.entries.slice()) {
      if (!e.live) continue;
      let answer: unknown;
      try {
        answer = e.n.notify(this, from, to);
      } catch (thrown) {
        this.fail('ERR_NOTIFIER_THREW', e.n, from, to, thrown);
        return false;
      }
      if (answer === 'hold') {
        this.record({ kind: 'held', from, to, heldBy: e.n.name });
        return false;
      }
      if (answer !== 'ok') {
        this.fail('ERR_NOTIFIER_RESULT', e.n, from, to, answer);
        return false;
      }
    }
    this.cur = to;
    this.record({ kind, from, to });
    for (const e of this.entries.slice()) {
      if (!e.live) continue;
      try {
        e.n.notify(this, to, to);
      } catch (thrown) {
        this.fail('ERR_NOTIFIER_THREW', e.n, to, to, thrown);
      }
    }
    return true;
  }

  private fail(code: 'ERR_NOTIFIER_THREW' | 'ERR_NOTIFIER_RESULT', n: Notifier, from: number, to: number, cause: unknown): void {
    const error = new NotifierError(
      code,
      { manager: this.managerName, notifier: n.name, from, to, fromName: this.names[from] as string, toName: this.names[to] as string },
      cause,
    );
    this.record({ kind: 'error', from, to, heldBy: n.name, error });
    this.onNotifierError?.(error);
  }

  private record(r: { kind: TransitionKind; from: number; to: number; heldBy?: string; error?: NotifierError }): void {
    const rec: TransitionRecord = {
      atUs: this.nowUs(),
      kind: r.kind,
      from: r.from,
      to: r.to,
      fromName: this.names[r.from] as string,
      toName: this.names[r.to] as string,
    };
    if (r.heldBy !== undefined) rec.heldBy = r.heldBy;
    if (r.error !== undefined) rec.error = r.error;
    if (this.depth > 0) {
      if (this.records.length >= this.depth) this.records.shift();
      this.records.push(rec);
    }
    this.onTransition?.(rec);
  }

  private checkState(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n >= this.names.length) {
      throw new UsageError('ERR_STATE_UNKNOWN', `${this.managerName}: no state ${String(n)} (0..${this.names.length - 1})`, {
        manager: this.managerName,
        state: n,
      });
    }
    return n;
  }
}
