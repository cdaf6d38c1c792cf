/**
 * Bytes to a string one code unit per byte, through String.fromCharCode.apply in slices: each
 * argument takes a slot on the engine's stack, and an esp32's XS stack has 384 (the manifest's
 * `stack`), so no call here passes more than APPLY_ARGS.
 */

/** The most arguments any String.fromCharCode.apply in src/ passes. */
export const APPLY_ARGS = 128;

/** b[start, end) as a Latin-1 string: one byte, one code unit. */
export function latin1(b: Uint8Array, start = 0, end = b.length): string {
  if (end - start <= APPLY_ARGS) return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  let s = '';
  for (let i = start; i < end; i += APPLY_ARGS) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + APPLY_ARGS)) as unknown as number[]);
  }
  return s;
}
