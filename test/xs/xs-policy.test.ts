/**
 * The Secure Streams policy core inside Moddable's XS: the 18 lws policies and lwsx's own are
 * embedded into the bundle as strings (XS has no file system here), parsed whole, in 64-byte
 * chunks and round-tripped inside XS, and the digests must equal Node's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policyVectors } from './policy-vectors.js';

const runner = new URL('./run-in-xs.mjs', import.meta.url).pathname;
const vectors = new URL('./policy-vectors.ts', import.meta.url).pathname;
const report = new URL('./report.ts', import.meta.url).pathname;
const LWS_DIR = new URL('../../../shared/lws-policies/', import.meta.url).pathname;
const OWN_DIR = new URL('../../policies/', import.meta.url).pathname;

function texts(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(LWS_DIR).filter((f) => f.endsWith('.json'))) out[f] = readFileSync(LWS_DIR + f, 'utf8');
  for (const f of ['host-sim.json', 'esp32.json']) out[`lwsx-${f}`] = readFileSync(OWN_DIR + f, 'utf8');
  return out;
}

test('policy vectors: XS results equal Node results', () => {
  const all = texts();
  expect(Object.keys(all)).toHaveLength(20);
  const node = policyVectors(all);
  const dir = mkdtempSync(join(tmpdir(), 'lwsx-xs-policy-'));
  try {
    const entry = join(dir, 'policy.entry.ts');
    writeFileSync(
      entry,
      `import { policyVectors } from ${JSON.stringify(vectors)};\n` +
        `import { reportToHost } from ${JSON.stringify(report)};\n` +
        `const TEXTS: Record<string, string> = ${JSON.stringify(all)};\n` +
        'reportToHost(() => policyVectors(TEXTS));\n',
    );
    const out = execFileSync(process.execPath, [runner, entry], { encoding: 'utf8', timeout: 120_000 });
    const { result, meter } = JSON.parse(out.trim().split('\n').pop() as string);
    expect(result.error).toBeUndefined();
    expect(result).toEqual(JSON.parse(JSON.stringify(node)));
    expect(meter.compute).toBeGreaterThan(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // the digests say something: every policy parsed the same streamed and round-tripped, every
  // refusal was typed
  const policies = node.policies as Record<string, { same: boolean[]; streamtypes: unknown[] }>;
  for (const p of Object.values(policies)) {
    expect(p.same).toEqual([true, true, true]);
    expect(p.streamtypes.length).toBeGreaterThan(0);
  }
  expect((node.refusals as unknown[][]).map((r) => r[0])).toEqual([
    'ERR_POLICY_JSON', 'ERR_POLICY_RANGE', 'ERR_POLICY_PROTOCOL', 'ERR_POLICY_UNDEFINED_REF', 'ERR_POLICY_DUPLICATE',
    'ERR_POLICY_BASE64', 'ERR_POLICY_BACKOFF_TOO_LONG', 'ERR_POLICY_METADATA_UNDECLARED', 'ERR_POLICY_TYPE', 'ERR_POLICY_JSON',
  ]);
  const big = node.big as { chars: number; same: boolean; streamtypes: unknown[] };
  expect(big.chars).toBeGreaterThan(40_000);
  expect(big.same).toBe(true);
  expect(big.streamtypes.length).toBeGreaterThanOrEqual(5 * 16); // policy 09 has 16
  expect(node.expansions).toEqual(['fw/esp32/a.bin', 'fw//', '$5 $f ', ['ERR_METADATA_UNDECLARED', 'nope', 0]]);
});
