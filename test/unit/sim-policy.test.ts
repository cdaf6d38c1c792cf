/**
 * The simulator and the Secure Streams policy: a policy that fails validation is printed with its
 * code, path and file:line:column and the run exits 1 (also with --exit-when-operational);
 * SIGHUP re-reads the policy file and swaps it in at runtime (a bad one is refused and the device
 * keeps running); the ws client re-reads the retry table after a swap.
 */
import { describe, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Simulator } from '../../hosts/node/sim/simulator.js';
import type { SimEvent } from '../../hosts/node/sim/simulator.js';
import { bundleProgram } from '../helpers/bundle.js';
import { waitFor } from '../helpers/wait.js';

const root = new URL('../../', import.meta.url).pathname;
const runDir = join(root, '.lwsx-run');
mkdirSync(runDir, { recursive: true });
let cli = '';

beforeAll(() => {
  cli = bundleProgram('hosts/node/sim/main.ts', 'sim-policy.mjs');
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const policy = (release: string, port: number, retry = { backoff: [1000, 2000], conceal: 5, jitterpc: 20 }): string =>
  JSON.stringify({ release, retry: [{ default: retry }], s: [{ sys_status: { endpoint: '127.0.0.1', port, protocol: 'h1', retry: 'default' } }] }, null, 2);

describe('a policy that fails validation', () => {
  const file = join(runDir, 'sim-policy-bad.json');
  const text = policy('01', 70000);
  const line = text.split('\n').findIndex((l) => l.includes('70000')) + 1;
  const column = (text.split('\n')[line - 1] as string).indexOf('70000') + 1;

  test('is printed with its code, path, expectation and file:line:column; exit 1, never OPERATIONAL', async () => {
    writeFileSync(file, text);
    const r = await run(['--policy', file, '--exit-when-operational']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `lwsx: error ERR_POLICY_RANGE: policy s[0].sys_status.port: expected an integer 1..65535, got 70000 (${file}:${line}:${column})`,
    );
    expect(r.stdout).toMatch(/POLICY_VALID\s+held by policy/);
    expect(r.stdout).not.toMatch(/OPERATIONAL/);
  });

  test('--json carries the same as fields', async () => {
    writeFileSync(file, text);
    const r = await run(['--policy', file, '--json']);
    expect(r.code).toBe(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as SimEvent);
    expect(events.find((e) => e.type === 'error')).toMatchObject({
      type: 'error',
      code: 'ERR_POLICY_RANGE',
      detail: { path: 's[0].sys_status.port', expected: 'an integer 1..65535', actual: 70000, line, column, file },
    });
    expect(events.some((e) => e.type === 'operational')).toBe(false);
  });

  test('malformed JSON gives its line and column too', async () => {
    writeFileSync(file, '{\n  "release": "01",\n  "s": [ }\n');
    const r = await run(['--policy', file, '--exit-when-operational']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`lwsx: error ERR_POLICY_JSON: .* \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:10\\)`));
  });
});

test('SIGHUP re-reads the policy file: a bad one is refused and kept running, a good one is swapped in', async () => {
  const file = join(runDir, 'sim-policy-hup.json');
  writeFileSync(file, policy('01', 8080));
  const child = spawn(process.execPath, [cli, '--json', '--policy', file], { cwd: root });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const events = (): SimEvent[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SimEvent);
  const count = (pred: (e: SimEvent) => boolean): number => events().filter(pred).length;
  try {
    await waitFor('OPERATIONAL', () => count((e) => e.type === 'operational') === 1, 20_000);

    writeFileSync(file, policy('02', 0));
    child.kill('SIGHUP');
    await waitFor('a refusal', () => count((e) => e.type === 'policy') === 1);
    expect(events().find((e) => e.type === 'policy')).toMatchObject({
      result: 'refused', code: 'ERR_POLICY_RANGE', detail: { path: 's[0].sys_status.port', file },
    });
    expect(count((e) => e.type === 'state' && e.state === 'POLICY_INVALID')).toBe(0);

    writeFileSync(file, policy('03', 8081));
    child.kill('SIGHUP');
    await waitFor('the swap', () => count((e) => e.type === 'operational') === 2);
    expect(events().filter((e) => e.type === 'policy').at(-1)).toMatchObject({ result: 'replaced', release: '03' });
    const after = events().slice(events().findIndex((e) => e.type === 'state' && e.state === 'POLICY_INVALID'));
    expect(after.filter((e) => e.type === 'state').map((e) => (e as Extract<SimEvent, { type: 'state' }>).state)).toEqual([
      'POLICY_INVALID', 'POLICY_VALID', 'REGISTERED', 'AUTH1', 'AUTH2', 'ONE_TIME_UPDATES', 'OPERATIONAL',
    ]);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(events().some((e) => e.type === 'error')).toBe(false);
});

test("after a swap the ws client re-reads the policy's retry table and starts it afresh", async () => {
  // a loopback port nobody listens on: every connect is refused
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));

  const file = join(runDir, 'sim-policy-ws.json');
  writeFileSync(file, policy('01', 8080, { backoff: [600_000], conceal: 5, jitterpc: 1 }));
  const events: SimEvent[] = [];
  const sim = new Simulator({
    boardFile: join(root, 'targets/host-sim/board.json'),
    policyFile: file,
    logLevel: 'err',
    wsClient: { url: `ws://127.0.0.1:${port}/` },
    onEvent: (e) => events.push(e),
  });
  type Ws = Extract<SimEvent, { type: 'ws-client' }>;
  const ws = (): Ws[] => events.filter((e): e is Ws => e.type === 'ws-client');
  try {
    await sim.start();
    await waitFor('the first retry', () => ws().some((e) => e.event === 'retry'));
    // the old table: ten minutes (plus up to 1 % jitter) before the next try
    const first = ws().find((e) => e.event === 'retry') as Extract<Ws, { event: 'retry' }>;
    expect(first.failures).toBe(1);
    expect(first.delayMs).toBeGreaterThanOrEqual(600_000);
    expect(first.delayMs).toBeLessThan(606_000);

    writeFileSync(file, policy('02', 8080, { backoff: [5, 7], conceal: 1, jitterpc: 1 }));
    await sim.replacePolicy();
    expect(events.filter((e) => e.type === 'policy')).toMatchObject([{ result: 'replaced', release: '02' }]);
    await waitFor('giving up on the new table', () => ws().some((e) => e.event === 'failed'));
    // connected again at once, then the new table from its start: one failure concealed, then out
    const seen = ws().map((e) => (e.event === 'retry' ? `retry ${e.delayMs >= 600_000 ? 'old' : e.delayMs}/${e.failures}` : e.event));
    expect(seen).toEqual(['connecting', 'close', 'retry old/1', 'connecting', 'close', 'retry 5/1', 'connecting', 'close', 'failed']);
    expect(ws().at(-1)).toMatchObject({ event: 'failed', code: 'ALL_RETRIES_FAILED', failures: 2 });
  } finally {
    sim.stop();
  }
});
