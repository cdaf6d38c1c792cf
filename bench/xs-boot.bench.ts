/**
 * XS compute units (xsnap's meter) and heap count to boot a context to OPERATIONAL, inside
 * Moddable's real XS. The baseline is the same bundle loaded without booting, measured in the
 * same run; the difference is what booting costs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Meter { compute: number; currentHeapCount: number; allocate: number }

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function runInXs(root: string, entry: string): { result: Record<string, unknown>; meter: Meter } {
  const out = execFileSync(process.execPath, [join(root, 'test/xs/run-in-xs.mjs'), join(root, entry)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop() as string);
}

export async function main(): Promise<void> {
  const root = repoRoot();
  const load = runInXs(root, 'bench/xs/load.entry.ts');
  const boot = runInXs(root, 'bench/xs/boot.entry.ts');
  if (boot.result['state'] !== 'OPERATIONAL') throw new Error(`XS boot did not reach OPERATIONAL: ${JSON.stringify(boot.result)}`);
  const row = (name: string, m: Meter): string =>
    `${name.padEnd(28)} ${String(m.compute).padStart(12)} ${String(m.currentHeapCount).padStart(10)}`;
  console.log('\nXS: boot a context to OPERATIONAL (xsnap meter)');
  console.log(`${'run'.padEnd(28)} ${'compute'.padStart(12)} ${'heap slots'.padStart(10)}`);
  console.log(row('load only (baseline)', load.meter));
  console.log(row('load + boot', boot.meter));
  console.log(
    `${'boot alone'.padEnd(28)} ${String(boot.meter.compute - load.meter.compute).padStart(12)} ${String(boot.meter.currentHeapCount - load.meter.currentHeapCount).padStart(10)}`,
  );
  console.log(`ratio load+boot ÷ load: compute ${(boot.meter.compute / load.meter.compute).toFixed(2)}, heap ${(boot.meter.currentHeapCount / load.meter.currentHeapCount).toFixed(2)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
