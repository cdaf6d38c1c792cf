/**
 * Static files for an HTTP files mount on the desktop: a directory, never anything outside it
 * (symlinks that lead out are refused too).
 */
import { readFile, realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { FileSource } from '../../src/protocols/h1/mount.js';

export function directorySource(dir: string): FileSource {
  const root = resolve(dir);
  return {
    async read(path: string): Promise<Uint8Array | undefined> {
      try {
        const real = await realpath(resolve(root, path));
        const rootReal = await realpath(root);
        if (real !== rootReal && !real.startsWith(rootReal + sep)) return undefined;
        return new Uint8Array(await readFile(real));
      } catch {
        return undefined;
      }
    },
  };
}
