/**
 * lws_system states (lws_system_states_t), in libwebsockets' order: the boot walk goes up one
 * state at a time from CONTEXT_CREATED to OPERATIONAL; the states after OPERATIONAL are side
 * states reached by a single jump (policy change, teardown, modal firmware update).
 *
 * The numbers are the lws enum values, so logs, SMD {"state":...} messages and policies line up
 * with a C lws device. Names are the enum names without the LWS_SYSTATE_ prefix.
 */
import { UsageError } from '../util/errors.js';

export const SYS_STATE_NAMES = [
  'UNKNOWN',
  'CONTEXT_CREATED',
  'PRE_PRIV_DROP',
  'INITIALIZED',
  'COLLECTING_STDIN',
  'IFACE_COLDPLUG',
  'DHCP',
  'CPD_PRE_TIME',
  'TIME_VALID',
  'CPD_POST_TIME',
  'POLICY_VALID',
  'REGISTERED',
  'AUTH1',
  'AUTH2',
  'ONE_TIME_UPDATES',
  'OPERATIONAL',
  'POLICY_INVALID',
  'CONTEXT_DESTROYING',
  'AWAITING_MODAL_UPDATING',
  'MODAL_UPDATING',
] as const;

export type SysStateName = (typeof SYS_STATE_NAMES)[number];

/** Written out (not derived) so each member has a literal type; a test checks it against the list. */
export const SysState = Object.freeze({
  UNKNOWN: 0,
  CONTEXT_CREATED: 1,
  PRE_PRIV_DROP: 2,
  INITIALIZED: 3,
  COLLECTING_STDIN: 4,
  IFACE_COLDPLUG: 5,
  DHCP: 6,
  CPD_PRE_TIME: 7,
  TIME_VALID: 8,
  CPD_POST_TIME: 9,
  POLICY_VALID: 10,
  REGISTERED: 11,
  AUTH1: 12,
  AUTH2: 13,
  ONE_TIME_UPDATES: 14,
  OPERATIONAL: 15,
  POLICY_INVALID: 16,
  CONTEXT_DESTROYING: 17,
  AWAITING_MODAL_UPDATING: 18,
  MODAL_UPDATING: 19,
} as const satisfies Record<SysStateName, number>);

export type SysState = (typeof SysState)[SysStateName];

/** The state number for an lws state name (as found in policies and logs). */
export function sysStateFromName(name: string): SysState {
  // own-property check: "toString" and friends are not states
  if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(SysState, name)) {
    return SysState[name as SysStateName];
  }
  throw new UsageError('ERR_STATE_UNKNOWN', `unknown lws_system state name "${String(name)}"`, { name });
}
