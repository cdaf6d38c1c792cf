/**
 * retry — libwebsockets' backoff policy (lws_retry_bo_t) and the delay it yields, bit-exact with
 * lws_retry_get_delay_ms() and lws_retry_sul_schedule() (lib/core-net/network.c):
 *
 *   uint64_t ms = 3000, pc = 30;
 *   if (retry) { ms = table[min(*ctry, count - 1)]; if (retry->jitter_percent) pc = jitter_percent; }
 *   ms += ((ms * pc * ra) >> 16) / 100;          // ra: 16 bits of entropy
 *   if (*ctry < 0xffff) (*ctry)++;
 *   *conceal = retry ? *ctry <= conceal_count : 0;
 *   return (unsigned int)ms;
 *
 * So a policy's jitter_percent of 0 means the default 30 %, not "no jitter"; no policy means
 * 3000 ms + 0..29 % and never conceals, which makes lws_retry_sul_schedule() give up at once.
 * jitter_percent is a uint8_t that lws uses as it is: past 100 the jitter exceeds the base delay
 * (up to 255 %), and so it does here.
 */

import type { Sul, SulCallback } from './sul.js';
import { UsageError } from '../util/errors.js';

/** Delay lws uses when there is no retry policy at all. */
export const RETRY_DEFAULT_MS = 3000;
/** Jitter lws applies when there is no policy, or the policy's jitter_percent is 0. */
export const RETRY_DEFAULT_JITTER_PERCENT = 30;
/** LWS_RETRY_CONCEAL_ALWAYS: the saturating try counter can never exceed it. */
export const RETRY_CONCEAL_ALWAYS = 0xffff;
/** The table is indexed by a uint16_t try counter and counted by a uint16_t. */
export const RETRY_TABLE_MAX = 0xffff;

/** lws_retry_bo_t. Build one with makeRetryPolicy(), which checks every field's C range. */
export interface RetryPolicy {
  /** retry_ms_table: base delay in ms for try 0, 1, …; the last entry repeats */
  readonly table: readonly number[];
  /** conceal_count: how many consecutive failures stay hidden from the user */
  readonly conceal: number;
  /** jitter_percent (uint8_t): extra random delay, 0..pc % of the base; 0 selects lws' default 30 % */
  readonly jitterPercent: number;
  /** secs_since_valid_ping: idle seconds before a validity ping (0: never) */
  readonly secsSinceValidPing: number;
  /** secs_since_valid_hangup: idle seconds before hanging up (0: never) */
  readonly secsSinceValidHangup: number;
}

export interface RetryPolicyInit {
  table: readonly number[];
  conceal?: number;
  jitterPercent?: number;
  secsSinceValidPing?: number;
  secsSinceValidHangup?: number;
}

/** A policy field out of its lws C range; `detail.field` names it ("table[2]", "conceal"…). */
export class RetryPolicyError extends UsageError {
  constructor(field: string, value: unknown, why: string) {
    super('ERR_RETRY_POLICY', `retry policy ${field} ${why}`, { field, value });
  }
}

/** 16 bits of entropy per call, an integer in 0..0xffff (lws_get_random into a uint16_t). */
export type Random16 = () => number;

function checkUint(field: string, v: unknown, max: number, cType: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RetryPolicyError(field, v, `must be an integer 0..${max} (${cType})`);
  }
  return v;
}

/**
 * Checks and freezes a policy. Only `table` is required (lws indexes table[count - 1], so an
 * empty table is undefined behaviour there); the other fields default to 0 as in a zeroed
 * lws_retry_bo_t, i.e. conceal nothing, 30 % jitter, no validity checks.
 */
export function makeRetryPolicy(init: RetryPolicyInit): RetryPolicy {
  if (typeof init !== 'object' || init === null) throw new RetryPolicyError('(policy)', init, 'must be an object');
  const t: unknown = init.table;
  if (!Array.isArray(t)) throw new RetryPolicyError('table', t, 'must be an array of ms');
  if (t.length === 0) throw new RetryPolicyError('table', t, 'must hold at least one delay');
  if (t.length > RETRY_TABLE_MAX) {
    throw new RetryPolicyError('table', t.length, `must hold at most ${RETRY_TABLE_MAX} delays (uint16_t count)`);
  }
  const table: number[] = [];
  for (let i = 0; i < t.length; i++) table.push(checkUint(`table[${i}]`, t[i], 0xffffffff, 'uint32_t ms'));
  const conceal = checkUint('conceal', init.conceal ?? 0, 0xffff, 'uint16_t');
  const jitterPercent = checkUint('jitterPercent', init.jitterPercent ?? 0, 0xff, 'uint8_t percent');
  const secsSinceValidPing = checkUint('secsSinceValidPing', init.secsSinceValidPing ?? 0, 0xffff, 'uint16_t s');
  const secsSinceValidHangup = checkUint('secsSinceValidHangup', init.secsSinceValidHangup ?? 0, 0xffff, 'uint16_t s');
  return Object.freeze({
    table: Object.freeze(table),
    conceal,
    jitterPercent,
    secsSinceValidPing,
    secsSinceValidHangup,
  });
}

/** The caller-owned try counter (lws' `uint16_t *ctry`): saturates at 0xffff. */
export class RetryState {
  count = 0;

  /** After a success: the next failure starts the table again. */
  reset(): void {
    this.count = 0;
  }
}

export interface RetryDelay {
  /** delay before the next attempt, ms (an unsigned int, as lws returns it) */
  ms: number;
  /** true: this failure is still hidden; false: the user hears ALL_RETRIES_FAILED */
  conceal: boolean;
}

const TWO16 = 0x10000;
const TWO32 = 0x100000000;

/**
 * lws_retry_get_delay_ms(): the delay for the try `state.count` (then incremented). Always
 * draws one random16, as lws always calls lws_get_random().
 */
export function getDelayMs(policy: RetryPolicy | undefined, state: RetryState, random16: Random16): RetryDelay {
  let ms = RETRY_DEFAULT_MS;
  let pc = RETRY_DEFAULT_JITTER_PERCENT;
  if (policy) {
    const t = policy.table;
    ms = t[state.count < t.length ? state.count : t.length - 1]!;
    if (policy.jitterPercent) pc = policy.jitterPercent;
  }
  const ra = random16();
  if (!Number.isInteger(ra) || ra < 0 || ra > 0xffff) {
    throw new UsageError('ERR_RETRY_RANDOM', 'random16 must return an integer 0..0xffff', { value: ra });
  }
  /*
   * (ms * pc * ra) >> 16 in uint64: the product reaches 2^56, past 2^53, so split ms * pc
   * (< 2^32 * 2^8 = 2^40, exact) at bit 16 and shift each half; every partial stays an exact integer.
   */
  const x = ms * pc;
  const xl = x % TWO16;
  const shifted = ((x - xl) / TWO16) * ra + Math.floor((xl * ra) / TWO16);
  ms += (shifted - (shifted % 100)) / 100;
  if (state.count < 0xffff) state.count++;
  return { ms: ms % TWO32, conceal: policy ? state.count <= policy.conceal : false };
}

/**
 * lws_retry_sul_schedule(): draws the next delay and, while failures are still concealed, arms
 * `sul` that many ms after `nowUs` on the ordinary list. Returns true when retries are
 * exhausted — nothing was scheduled and the caller must report the failure.
 */
/** Anything that arms a sul: the SulScheduler itself, or the Context (which also re-arms the host timer). */
export interface SulArmer {
  scheduleAt(sul: Sul, atUs: number, cb?: SulCallback): void;
}

export function retrySulSchedule(
  scheduler: SulArmer,
  sul: Sul,
  cb: SulCallback,
  policy: RetryPolicy | undefined,
  state: RetryState,
  nowUs: number,
  random16: Random16,
): boolean {
  const d = getDelayMs(policy, state, random16);
  if (!d.conceal) return true;
  scheduler.scheduleAt(sul, nowUs + d.ms * 1000, cb);
  return false;
}

/**
 * A Random16 over a byte source such as Host.random: two bytes read little-endian, as lws reads
 * its uint16_t on the little-endian targets it runs on (ESP32, x86, ARM).
 */
export function random16FromBytes(fill: (into: Uint8Array) => void): Random16 {
  const b = new Uint8Array(2);
  return () => {
    fill(b);
    return b[0]! | (b[1]! << 8);
  };
}

/**
 * A deterministic Random16 for tests and cross-engine vectors: splitmix32 (a Weyl sequence
 * through murmur3's finaliser), high 16 bits. Any integer seed, 0 included.
 */
export function seededRandom16(seed: number): Random16 {
  if (!Number.isInteger(seed)) throw new UsageError('ERR_RETRY_RANDOM', 'seed must be an integer', { value: seed });
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return z >>> 16;
  };
}
