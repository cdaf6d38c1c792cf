/**
 * The simulator as a user runs it: the CLI (bundled from the same source into .lwsx-run/) in a
 * child process, and the Simulator class in-process for reboot and the board's clock.
 */
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleProgram } from '../helpers/bundle.js';
import { Simulator } from '../../hosts/node/sim/simulator.js';
import type { SimEvent } from '../../hosts/node/sim/simulator.js';
import { SYS_STATE_NAMES, SysState } from '../../src/system/states.js';
import { waitFor } from '../helpers/wait.js';

const root = new URL('../../', import.meta.url).pathname;
const runDir = join(root, '.lwsx-run');
let cli = '';

beforeAll(() => {
  cli = bundleProgram('hosts/node/sim/main.ts', 'sim.mjs');
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const BOOT_STATES = SYS_STATE_NAMES.slice(SysState.PRE_PRIV_DROP, SysState.OPERATIONAL + 1);

test('boots host-sim to OPERATIONAL and exits 0 with --exit-when-operational', async () => {
  const r = await run(['--exit-when-operational']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/booting host-sim SIM-000001 \(lwsx-host-sim, firmware 0\.1\.0\) on the node host/);
  expect(r.stdout).toMatch(/POLICY_VALID\s+held by policy/);
  // a real DNS (CNAME) and SNTP exchange with the embedded responders released TIME_VALID
  expect(r.stdout).toMatch(/TIME_VALID\s+held by sntp/);
  expect(r.stdout).toMatch(/sntp: time synced \{"server":"ntp\.lws\.test"/);
  expect(r.stdout).toMatch(/board op setClock/);
  // every state appears, in lws order
  let at = 0;
  for (const s of BOOT_STATES) {
    const i = r.stdout.indexOf(`  ${s}\n`, at);
    expect(i).toBeGreaterThan(at - 1);
    at = i;
  }
  expect(r.stdout).toMatch(/OPERATIONAL after [\d.]+ ms/);
  expect(r.stdout).toMatch(/device destroyed/);
});

test('--json prints one machine-readable event per line', async () => {
  const r = await run(['--json', '--exit-when-operational']);
  expect(r.code).toBe(0);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as SimEvent);
  expect(events[0]).toMatchObject({ type: 'boot', board: 'host-sim', serial: 'SIM-000001' });
  const steps = events.filter((e): e is Extract<SimEvent, { type: 'state' }> => e.type === 'state' && e.kind === 'step').map((e) => e.state);
  expect(steps).toEqual(BOOT_STATES);
  expect(events.some((e) => e.type === 'state' && e.kind === 'held' && e.heldBy === 'policy')).toBe(true);
  expect(events.at(-1)).toMatchObject({ type: 'destroyed' });
});

test('Ctrl-C in OPERATIONAL steps the device to CONTEXT_DESTROYING and exits cleanly', async () => {
  const child = spawn(process.execPath, [cli, '--json'], { cwd: root });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no OPERATIONAL: ${out}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"type":"operational"')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  const last = out.trim().split('\n').map((l) => JSON.parse(l) as SimEvent);
  expect(last.filter((e) => e.type === 'state').at(-1)).toMatchObject({ state: 'CONTEXT_DESTROYING' });
});

test('a malformed board file is a typed error and exit 2', async () => {
  const bad = join(runDir, 'bad-board.json');
  writeFileSync(bad, JSON.stringify({ board: 'x', identity: { serial: 'S', firmwareVersion: 7, deviceType: 'd' } }));
  const r = await run(['--board', bad, '--exit-when-operational']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/error ERR_BOARD_FILE: .*identity\.firmwareVersion must be a string/);
});

test('a board that does not exist is a typed error and exit 2', async () => {
  const r = await run(['--board', 'no-such-board']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/error ERR_BOARD_MISSING/);
});

test('a missing policy file keeps the device out of OPERATIONAL and exits 1', async () => {
  const r = await run(['--policy', join(runDir, 'nope.json'), '--exit-when-operational']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/error ERR_POLICY_MISSING: policy file .*nope\.json cannot be read/);
  expect(r.stdout).not.toMatch(/OPERATIONAL after/);
});

test('a policy that is not JSON exits 1 with ERR_POLICY_JSON', async () => {
  const p = join(runDir, 'broken-policy.json');
  writeFileSync(p, '{"release": "1", ');
  const r = await run(['--policy', p, '--exit-when-operational']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/error ERR_POLICY_JSON/);
});

test('a bad fault rule or seed is a typed error and exit 2', async () => {
  const r = await run(['--fault-injection', 'dns/udp_tx_loss(300%)']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/error ERR_FAULT_SPEC: .*percent must be 0\.\.100/);
  const s = await run(['--fault-seed', 'x']);
  expect(s.code).toBe(2);
  expect(s.stderr).toMatch(/ERR_FAULT_SEED/);
});

test('bad options are refused with usage and exit 2', async () => {
  expect((await run(['--log-level', 'loud'])).code).toBe(2);
  const r = await run(['--frobnicate']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/usage: npm start/);
  expect((await run(['--help'])).code).toBe(0);
});

describe('in-process', () => {
  const boardFile = join(root, 'targets/host-sim/board.json');

  function sim(events: SimEvent[]): Simulator {
    return new Simulator({ boardFile, logLevel: 'err', onEvent: (e) => events.push(e) });
  }

  const until = (events: SimEvent[], pred: (e: SimEvent) => boolean): Promise<void> =>
    waitFor('a simulator event', () => events.some(pred), 5000);

  test('reboot restarts the simulated device in-process', async () => {
    const events: SimEvent[] = [];
    const s = sim(events);
    const first = await s.start();
    await until(events, (e) => e.type === 'operational' && e.boot === 1);
    s.board?.ops.reboot?.();
    await until(events, (e) => e.type === 'operational' && e.boot === 2);
    expect(first.isDestroyed).toBe(true);
    expect(s.ctx).not.toBe(first);
    expect(events.some((e) => e.type === 'destroyed' && e.boot === 1)).toBe(true);
    expect(events.some((e) => e.type === 'board' && e.what === 'reboot')).toBe(true);
    s.stop();
  });

  test("setClock moves the device's clock by an offset and never the machine's", async () => {
    const events: SimEvent[] = [];
    const s = sim(events);
    const ctx = await s.start();
    const hour = 3_600_000_000;
    const before = Date.now();
    s.board?.ops.setClock?.(ctx.wallUs() + hour);
    expect(Math.abs(Date.now() - before)).toBeLessThan(1000);
    expect(Math.abs(ctx.wallUs() - (Date.now() * 1000 + hour))).toBeLessThan(50_000);
    expect(s.board?.clockOffsetUs).toBeGreaterThan(hour - 50_000);
    s.stop();
  });
});
