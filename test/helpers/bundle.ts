/**
 * Bundles a TypeScript program (and the real src/hosts code it imports) into one ES module
 * under .lwsx-run/, for tests that run it as a process: the tests have no build step. npm
 * packages stay imports, loaded from node_modules at run time, as from dist/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

export const repoRoot = new URL('../../', import.meta.url).pathname;

/** Returns the bundle's path. `entry` is relative to the repository root. */
export function bundleProgram(entry: string, outName: string): string {
  const dir = join(repoRoot, '.lwsx-run');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, outName);
  buildSync({
    entryPoints: [join(repoRoot, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}
