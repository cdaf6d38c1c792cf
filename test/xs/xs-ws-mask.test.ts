/**
 * WebSocket masking inside Moddable's XS: maskCopy's byte and word paths (ws-mask-vectors.ts)
 * must give inside XS exactly what they give under Node, and unmask a client's message whole.
 */
import { execFileSync } from 'node:child_process';
import { runWsMaskVectors } from './ws-mask-vectors.js';

const runner = new URL('./run-in-xs.mjs', import.meta.url).pathname;
const entry = new URL('./ws-mask.entry.ts', import.meta.url).pathname;

test('maskCopy vectors and a masked 5000-byte message: XS results equal Node results', () => {
  const node = runWsMaskVectors();
  const cases = node['cases'] as number[];
  expect(cases.length).toBe(8 * 3 * 4 * 4 * 2);
  // every case unmasked the same in one piece and in two
  for (let i = 1; i < cases.length; i += 2) expect(cases[i]).toBe(1);
  expect(node['message']).toEqual([node['expected']]);
  const out = execFileSync(process.execPath, [runner, entry], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 << 20 });
  const { result } = JSON.parse(out.trim().split('\n').pop() as string);
  expect(result.error).toBeUndefined();
  expect(result).toEqual(JSON.parse(JSON.stringify(node)));
});
