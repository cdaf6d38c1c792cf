/**
 * The proof that the core runs on XS: the engine-neutral vectors run inside Moddable's XS
 * (built from source by @agoric/xsnap at npm install) and must equal what Node computes.
 */
import { execFileSync } from 'node:child_process';
import { allVectors } from './entry.js';

const runner = new URL('./run-in-xs.mjs', import.meta.url).pathname;
const entry = new URL('./entry.ts', import.meta.url).pathname;

test('core vectors: XS results equal Node results', async () => {
  const node = await allVectors();
  const out = execFileSync(process.execPath, [runner, entry], { encoding: 'utf8', timeout: 120_000 });
  const { result, meter } = JSON.parse(out.trim().split('\n').pop() as string);
  expect(result.error).toBeUndefined();
  // every section ran and produced something, then everything matches
  expect(Object.keys(result).sort()).toEqual(['boot', 'core', 'loop']);
  expect((node.boot as { operational: string }).operational).toBe('OPERATIONAL');
  expect(result).toEqual(JSON.parse(JSON.stringify(node)));
  expect(meter.compute).toBeGreaterThan(0);
});
