/**
 * Holds POLICY_VALID while the board's Secure Streams policy is loaded and parsed (src/ss/policy);
 * a policy that fails keeps the device out of OPERATIONAL with the parser's typed error (code,
 * JSON path, expected, line and column).
 *
 * Runtime replacement, as lws' policy swap: replace(text) parses the new policy first — a bad one
 * is refused with its typed error and nothing changes — then jumps the system to POLICY_INVALID
 * (announced over SMD like every state), tells the onPolicyInvalid listeners to drop whatever they
 * built from the old policy, and walks back up POLICY_VALID → … → OPERATIONAL with the new one.
 * A jump to POLICY_INVALID made some other way reloads the board's policy at POLICY_VALID.
 */
import { parsePolicy } from '../ss/policy/parser.js';
import type { Policy } from '../ss/policy/policy.js';
import { LwsxError, UsageError } from '../util/errors.js';
import type { StateManager } from './state.js';
import { SysState } from './states.js';
import type { System } from './system.js';

export class PolicyError extends LwsxError {}

/** Policy text to the policy object, or a typed error. */
export type PolicyValidator = (text: string) => Policy;

/** Told, at POLICY_INVALID, which policy is going away (undefined if none was in force). */
export type PolicyInvalidListener = (old: Policy | undefined) => void;

const defaultValidator: PolicyValidator = (text) => parsePolicy(text);

export class PolicyLoadNotifier {
  readonly name = 'policy';
  /** the policy in force: undefined until POLICY_VALID, and again from POLICY_INVALID */
  policy: Policy | undefined;
  error: LwsxError | undefined;
  /** a replacement, validated, waiting for POLICY_VALID */
  private pending: Policy | undefined;
  private loading = false;
  /** bumped per board load and when a replacement takes over: a load that lands late is ignored */
  private loadSeq = 0;
  private readonly system: System;
  private readonly validate: PolicyValidator;
  private readonly onError: (e: LwsxError) => void;
  private readonly listeners: PolicyInvalidListener[] = [];

  constructor(system: System, onError: (e: LwsxError) => void, validate: PolicyValidator = defaultValidator) {
    this.system = system;
    this.onError = onError;
    this.validate = validate;
  }

  /** Registers a dependent of the policy, told to drop what it built at POLICY_INVALID. Returns its unregister. */
  onPolicyInvalid(fn: PolicyInvalidListener): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Replaces the policy (lws' policy swap) and returns the new one. The text is parsed first: a
   * bad policy throws its typed error and changes nothing. Before POLICY_VALID (no policy in
   * force yet, or the board's failed) the replacement is simply the one POLICY_VALID uses.
   * From POLICY_VALID to OPERATIONAL it jumps to POLICY_INVALID and walks back up; a notifier
   * holding that jump refuses the swap (ERR_POLICY_SWAP_HELD), again changing nothing.
   */
  replace(text: string): Policy {
    const s = this.system.state.state;
    if (s > SysState.POLICY_INVALID) {
      throw new UsageError('ERR_POLICY_SWAP_STATE', `the policy cannot be replaced in ${this.system.state.stateName}`, {
        state: this.system.state.stateName,
      });
    }
    const next = this.parse(text);
    this.pending = next;
    if (s < SysState.POLICY_VALID) {
      // if this notifier is holding POLICY_VALID (the board's policy failed, or is still loading:
      // a load landing later is ignored), the replacement ends the hold now
      const held = this.error !== undefined || this.loading;
      this.error = undefined;
      if (held) this.system.resume();
      return next;
    }
    if (s !== SysState.POLICY_INVALID) {
      const r = this.system.state.transition(SysState.POLICY_INVALID);
      // 'queued' (asked from inside a transition): the jump, then the walk, run after it
      if (r === 'held') {
        this.pending = undefined;
        const by = this.system.state.log.at(-1)?.heldBy;
        throw new PolicyError('ERR_POLICY_SWAP_HELD', `the jump to POLICY_INVALID was held${by ? ` by ${by}` : ''}: policy not replaced`, {
          state: this.system.state.stateName,
          ...(by ? { heldBy: by } : {}),
        });
      }
    }
    this.system.resume();
    return next;
  }

  notify(_mgr: StateManager, current: number, target: number): 'ok' | 'hold' {
    if (current === target) {
      if (target === SysState.POLICY_INVALID) this.invalidated();
      return 'ok';
    }
    if (target !== SysState.POLICY_VALID) return 'ok';
    if (this.pending !== undefined) {
      this.policy = this.pending;
      this.pending = undefined;
      // a board load still in flight is now stale
      this.loadSeq++;
      this.loading = false;
      return 'ok';
    }
    const load = this.system.board.loadPolicy;
    if (!load || this.policy !== undefined) return 'ok';
    if (!this.loading && !this.error) {
      this.loading = true;
      const seq = ++this.loadSeq;
      load.call(this.system.board).then(
        (text) => this.loaded(seq, text),
        (e: unknown) =>
          this.failed(
            seq,
            e instanceof LwsxError
              ? e
              : new PolicyError('ERR_POLICY_LOAD', `policy could not be loaded: ${(e as Error)?.message ?? String(e)}`, {}, e),
          ),
      );
    }
    return 'hold';
  }

  private parse(text: string): Policy {
    try {
      return this.validate(text);
    } catch (e) {
      throw e instanceof LwsxError ? e : new PolicyError('ERR_POLICY_INVALID', String(e), {}, e);
    }
  }

  /** POLICY_INVALID: the old policy is gone; its dependents drop what they built from it. */
  private invalidated(): void {
    const old = this.policy;
    this.policy = undefined;
    let thrown: unknown;
    for (const fn of this.listeners.slice()) {
      try {
        fn(old);
      } catch (e) {
        // every dependent hears it; the first failure is reported as this notifier's
        thrown ??= e;
      }
    }
    if (thrown !== undefined) throw thrown;
  }

  private loaded(seq: number, text: string): void {
    if (seq !== this.loadSeq) return;
    this.loading = false;
    // a replacement arrived while the board's policy loaded: it wins
    if (this.pending === undefined) {
      try {
        this.policy = this.parse(text);
      } catch (e) {
        this.failed(seq, e as LwsxError);
        return;
      }
    }
    this.system.resumeLater();
  }

  private failed(seq: number, e: LwsxError): void {
    if (seq !== this.loadSeq) return;
    this.loading = false;
    if (this.pending !== undefined) {
      this.system.resumeLater();
      return;
    }
    this.error = e;
    this.onError(e);
  }
}
