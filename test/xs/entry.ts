/** The engine-neutral suite, as run inside XS by test/xs/run-in-xs.mjs. */
import { runBootVectors } from '../vectors/boot-vectors.js';
import { runCoreVectors } from '../vectors/core-vectors.js';
import { runLoopVectors } from '../vectors/loop-vectors.js';
import { reportToHost } from './report.js';

export async function allVectors(): Promise<Record<string, unknown>> {
  return { core: runCoreVectors(), loop: runLoopVectors(), boot: await runBootVectors() };
}

reportToHost(allVectors);
