/**
 * Real peers for the interop suites: find them, start them, stop them.
 *
 * `npm test` never skips silently: a suite whose peer is missing prints why and its tests are
 * reported as skipped (the closing line counts them); with CI set, a missing peer fails the
 * suite instead. `.ci/install-peers` installs every peer. The process helpers live in proc.ts
 * (no Jest there, for the benches) and are re-exported here.
 */
import { test } from '@jest/globals';
import { which } from './proc.js';

export { freePort, startPeer, which } from './proc.js';
export type { Running } from './proc.js';

export interface PeerCheck {
  ok: boolean;
  why: string;
  /** `test` when the peers are there; otherwise a test that is reported as skipped */
  peerTest: typeof test;
}

/**
 * Checks that every binary exists (and, with `root`, that we are root, for network
 * namespaces). Missing with CI set: throws, failing the suite.
 */
export function requirePeers(suite: string, bins: string[], opts: { root?: boolean } = {}): PeerCheck {
  const missing = bins.filter((b) => !which(b));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing ${missing.join(', ')} (run: bash .ci/install-peers)`);
  if (opts.root && process.getuid?.() !== 0) problems.push('needs root for network namespaces');
  if (!problems.length) return { ok: true, why: '', peerTest: test };
  const why = `${suite}: cannot run: ${problems.join('; ')}`;
  if (process.env['CI']) throw new Error(`${why} — CI requires every peer`);
  process.stderr.write(`\n*** ${why}: its tests are reported as skipped ***\n`);
  return { ok: false, why, peerTest: test.skip as unknown as typeof test };
}
