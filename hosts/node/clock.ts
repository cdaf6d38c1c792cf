/**
 * This machine's wall clock in unix µs. Date.now() only has ms, which would quantise every SNTP
 * offset to 1 ms: interpolate with the monotonic clock from an anchor, and re-anchor whenever
 * the estimate strays a millisecond from Date.now() (the machine's clock was stepped).
 */
import { performance } from 'node:perf_hooks';

let wallAnchor = 0;
let monoAnchor = 0;

export function wallClockUs(): number {
  const mono = performance.now() * 1000;
  const date = Date.now() * 1000;
  const est = wallAnchor + (mono - monoAnchor);
  if (Math.abs(est - date) < 1000) return Math.floor(est);
  wallAnchor = date;
  monoAnchor = mono;
  return date;
}
