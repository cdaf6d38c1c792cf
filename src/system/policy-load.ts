/**
 * Holds POLICY_VALID while the board's policy is fetched and parsed; a policy that fails keeps
 * the device out of OPERATIONAL with a typed error. (Full Secure Streams validation plugs in
 * here: `validate` is replaced by the policy parser.)
 */
import { LwsxError } from '../util/errors.js';
import type { StateManager } from './state.js';
import { SysState } from './states.js';
import type { System } from './system.js';

export class PolicyError extends LwsxError {}

export type PolicyValidator = (text: string) => unknown;

/** The minimum a policy must be until the SS parser exists: a JSON object. */
export function parsePolicyJson(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new PolicyError('ERR_POLICY_JSON', `policy is not valid JSON: ${(e as Error).message}`, {}, e);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new PolicyError('ERR_POLICY_SHAPE', 'policy must be a JSON object', { path: '$' });
  return v as Record<string, unknown>;
}

export class PolicyLoadNotifier {
  readonly name = 'policy';
  /** the parsed policy once loaded */
  policy: unknown;
  error: LwsxError | undefined;
  private loading = false;
  private readonly system: System;
  private readonly validate: PolicyValidator;
  private readonly onError: (e: LwsxError) => void;

  constructor(system: System, onError: (e: LwsxError) => void, validate: PolicyValidator = parsePolicyJson) {
    this.system = system;
    this.onError = onError;
    this.validate = validate;
  }

  notify(_mgr: StateManager, current: number, target: number): 'ok' | 'hold' {
    if (current === target) {
      // a policy swap starts from POLICY_INVALID: forget the old one
      if (target === SysState.POLICY_INVALID) this.policy = undefined;
      return 'ok';
    }
    if (target !== SysState.POLICY_VALID) return 'ok';
    const load = this.system.board.loadPolicy;
    if (!load || this.policy !== undefined) return 'ok';
    if (!this.loading && !this.error) {
      this.loading = true;
      load.call(this.system.board).then(
        (text) => this.loaded(text),
        (e: unknown) =>
          this.failed(
            e instanceof LwsxError
              ? e
              : new PolicyError('ERR_POLICY_LOAD', `policy could not be loaded: ${(e as Error)?.message ?? String(e)}`, {}, e),
          ),
      );
    }
    return 'hold';
  }

  private loaded(text: string): void {
    this.loading = false;
    try {
      this.policy = this.validate(text);
    } catch (e) {
      this.failed(e instanceof LwsxError ? e : new PolicyError('ERR_POLICY_INVALID', String(e), {}, e));
      return;
    }
    this.system.resumeLater();
  }

  private failed(e: LwsxError): void {
    this.loading = false;
    this.error = e;
    this.onError(e);
  }
}
