/**
 * XS compute units (xsnap's meter), inside Moddable's real XS engine, each figure beside its
 * baseline measured in the same run:
 *
 *  - boot: a context booted to OPERATIONAL (bench/xs/boot.entry.ts) against the same bundle
 *    loaded without booting (bench/xs/load.entry.ts); the difference is what booting costs.
 *  - per operation: encode and parse a DNS answer, an SNTP reply, a DHCP ACK. Each entry runs
 *    twice, its loop repeated once and 1 + PER_OP_RUNS times (run-in-xs.mjs --iterations), so
 *    the baseline is the same bundle doing the same work minus PER_OP_RUNS operations: loading,
 *    the first call's warm-up and the report all cancel, and
 *    per op = (compute(1 + PER_OP_RUNS) − compute(1)) ÷ PER_OP_RUNS.
 *
 * The meter counts XS work deterministically (not time): the figures repeat exactly from run to
 * run on the same code, so a change shows up as a change in the number.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PER_OP_RUNS = 1000;

interface Meter { compute: number; currentHeapCount: number; allocate: number }
interface XsRun { result: Record<string, unknown>; meter: Meter }

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

async function runInXs(root: string, entry: string, iterations?: number): Promise<XsRun> {
  const args = [join(root, 'test/xs/run-in-xs.mjs'), join(root, entry)];
  if (iterations !== undefined) args.push(`--iterations=${iterations}`);
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  const run = JSON.parse(stdout.trim().split('\n').pop() as string) as XsRun;
  if ('error' in run.result) throw new Error(`${entry} failed inside XS: ${String(run.result['error'])}\n${String(run.result['stack'] ?? '')}`);
  return run;
}

interface Operation {
  label: string;
  entry: string;
  /** throws unless the result proves `n` operations were done right */
  check(result: Record<string, unknown>, n: number): void;
}

const expect = (what: string, got: unknown, want: unknown): void => {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
};

const OPERATIONS: readonly Operation[] = [
  {
    label: 'DNS answer (CNAME, 2 A, AAAA)',
    entry: 'bench/xs/dns.entry.ts',
    check: (r, n) => {
      expect('dns iterations', r['iterations'], n);
      expect('dns addresses', r['addresses'], 2 * n);
    },
  },
  {
    label: 'SNTP request + reply',
    entry: 'bench/xs/sntp.entry.ts',
    check: (r, n) => {
      expect('sntp iterations', r['iterations'], n);
      expect('sntp mean offset (µs)', r['meanOffsetUs'], 250_000);
    },
  },
  {
    label: 'DHCP ACK → lease',
    entry: 'bench/xs/dhcp.entry.ts',
    check: (r, n) => {
      expect('dhcp iterations', r['iterations'], n);
      expect('dhcp last address', r['last'], `10.213.7.${100 + ((n - 1) % 50)}`);
    },
  },
  {
    label: 'h1 request + response parse',
    entry: 'bench/xs/h1.entry.ts',
    check: (r, n) => {
      expect('h1 iterations', r['iterations'], n);
      expect('h1 fields', r['fields'], 18 * n);
      expect('h1 body bytes', r['bodyBytes'], 41 * n);
    },
  },
  {
    label: 'ws 16 B binary echo (2 frames each way)',
    entry: 'bench/xs/ws.entry.ts',
    check: (r, n) => {
      expect('ws iterations', r['iterations'], n);
      expect('ws echoed', r['echoed'], n);
      expect('ws accept key', r['accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    },
  },
  { label: 'ws deflate+inflate 1 KiB JSON', entry: 'bench/xs/ws-deflate.entry.ts', check: (r, n) => { expect('deflate iterations', r['iterations'], n); expect('deflate round trips', r['ok'], n); expect('deflate message size', r['size'], 1024); } },
  { label: 'MQTT PUBLISH 64 B, 5.0 + 3.1.1', entry: 'bench/xs/mqtt.entry.ts', check: (r, n) => { expect('mqtt parsed', r['parsed'], 2 * n); expect('mqtt bytes', r['bytes'], 204 * n); expect('mqtt packet id sum', r['idSum'], n * (n + 1)); } },
  { label: 'SS policy: lws default (1.2 KB)', entry: 'bench/xs/policy.entry.ts', check: (r, n) => { expect('policy iterations', r['iterations'], n); expect('policy streamtypes', r['streamtypes'], 2 * n); } },
];

const num = (x: number): string => Math.round(x).toLocaleString('en-US');

export async function main(): Promise<void> {
  const root = repoRoot();

  const load = await runInXs(root, 'bench/xs/load.entry.ts');
  const boot = await runInXs(root, 'bench/xs/boot.entry.ts');
  if (boot.result['state'] !== 'OPERATIONAL') throw new Error(`XS boot did not reach OPERATIONAL: ${JSON.stringify(boot.result)}`);
  const bootRow = (name: string, compute: number, heap: number): string => `${name.padEnd(30)} ${num(compute).padStart(14)} ${num(heap).padStart(12)}`;
  console.log('\nXS: boot a context to OPERATIONAL (xsnap meter)');
  console.log(`${'run'.padEnd(30)} ${'compute'.padStart(14)} ${'heap slots'.padStart(12)}`);
  console.log(bootRow('load only (baseline)', load.meter.compute, load.meter.currentHeapCount));
  console.log(bootRow('load + boot', boot.meter.compute, boot.meter.currentHeapCount));
  console.log(bootRow('boot alone', boot.meter.compute - load.meter.compute, boot.meter.currentHeapCount - load.meter.currentHeapCount));
  console.log(
    `ratio load+boot ÷ load: compute ${(boot.meter.compute / load.meter.compute).toFixed(2)}, heap ${(boot.meter.currentHeapCount / load.meter.currentHeapCount).toFixed(2)}`,
  );

  const many = 1 + PER_OP_RUNS;
  console.log(`\nXS: encode + parse, per operation (xsnap meter): (compute(${many}) − compute(1)) ÷ ${PER_OP_RUNS}`);
  console.log(`${'operation'.padEnd(30)} ${'compute/op'.padStart(12)} ${'compute(1)'.padStart(12)} ${`compute(${many})`.padStart(14)} ${'bytes/op'.padStart(9)}`);
  for (const op of OPERATIONS) {
    const one = await runInXs(root, op.entry, 1);
    const lots = await runInXs(root, op.entry, many);
    op.check(one.result, 1);
    op.check(lots.result, many);
    const perOp = (lots.meter.compute - one.meter.compute) / PER_OP_RUNS;
    const bytes = typeof one.result['bytes'] === 'number' ? String(one.result['bytes']) : '';
    console.log(`${op.label.padEnd(30)} ${num(perOp).padStart(12)} ${num(one.meter.compute).padStart(12)} ${num(lots.meter.compute).padStart(14)} ${bytes.padStart(9)}`);
  }
  console.log('(bytes/op: the DNS answer; the SNTP request and reply together; the DHCP ACK)');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
