/**
 * NTP timestamps: 32 bits of seconds since 1900-01-01 and 32 bits of fraction in units of
 * 2^-32 s (RFC 5905 §6). lws reads the fraction as nanoseconds, which puts the time up to 4.3 s
 * out; here it is always 2^-32 s.
 *
 * The seconds wrap on 2036-02-07T06:28:16Z. We use RFC 4330 §3's rule to place a timestamp in
 * an era without knowing the time: most significant bit set, 1968–2036 counted from 1900 (era
 * 0); clear, 2036–2104 counted from 2036 (era 1). Encoding wraps the same way, so a device that
 * outlives 2036 keeps working.
 *
 * Plain Number arithmetic is exact here: unix µs up to 2104 are below 2^53, and a fraction times
 * 10^6 is below 2^52.
 */

/** A raw 64-bit NTP timestamp, as its two 32-bit halves. */
export interface NtpTimestamp {
  /** seconds, 0..2^32-1 */
  seconds: number;
  /** fraction of a second, 0..2^32-1, units of 2^-32 s */
  fraction: number;
}

/** Seconds from 1900-01-01 (NTP era 0) to 1970-01-01 (unix epoch). */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;

const TWO32 = 4_294_967_296;
const TWO31 = 2_147_483_648;
const US_PER_S = 1_000_000;

/** Zero is NTP's "unknown" timestamp: a server leaves fields it cannot fill at zero. */
export function isZeroTimestamp(t: NtpTimestamp): boolean {
  return t.seconds === 0 && t.fraction === 0;
}

export function sameTimestamp(a: NtpTimestamp, b: NtpTimestamp): boolean {
  return a.seconds === b.seconds && a.fraction === b.fraction;
}

/**
 * Unix µs to an NTP timestamp. The fraction is truncated to the 2^-32 s below, so that
 * ntpToUnixUs() of the result rounds back to the same µs.
 */
export function unixUsToNtp(unixUs: number): NtpTimestamp {
  const us = Math.floor(unixUs);
  const secs = Math.floor(us / US_PER_S);
  const subUs = us - secs * US_PER_S;
  const seconds = (((secs + NTP_UNIX_OFFSET_S) % TWO32) + TWO32) % TWO32;
  return { seconds, fraction: Math.floor((subUs * TWO32) / US_PER_S) };
}

/** An NTP timestamp to unix µs, era by RFC 4330's MSB rule; sub-µs precision is kept. */
export function ntpToUnixUs(t: NtpTimestamp): number {
  const era = t.seconds >= TWO31 ? 0 : 1;
  const unixSecs = t.seconds + era * TWO32 - NTP_UNIX_OFFSET_S;
  return unixSecs * US_PER_S + (t.fraction * US_PER_S) / TWO32;
}

/** An NTP short format value (16.16 fixed point: root delay, root dispersion) in µs. */
export function ntpShortToUs(v: number): number {
  return (v * US_PER_S) / 65536;
}
