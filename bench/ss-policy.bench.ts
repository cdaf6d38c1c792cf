/**
 * Secure Streams policy parsing, on the 18 libwebsockets policies in ../shared/lws-policies/.
 *
 * Node: µs per parse (the median of BATCHES batch means) for lwsx's parser on the whole text and
 * on the UTF-8 bytes in 64-byte chunks (its streaming mode, as a fetched policy arrives), beside
 * V8's JSON.parse of the same text, measured the same way in the same run. JSON.parse only builds
 * a generic object; lwsx also validates every key, decodes the base64 certificates to DER, checks
 * references and builds the frozen, typed policy, so the ratio is the price of all that.
 *
 * XS (Moddable's engine, through xsnap): bench/xs/policy.entry.ts run with 0 iterations meters
 * each policy — compute units (deterministic) and µs on XS's clock — for lwsx whole, lwsx in
 * 64-byte chunks and XS's native JSON.parse. The native parse is C, which the meter barely
 * counts, so its compute figure is no yardstick; the µs are.
 *
 * ratio = lwsx ÷ JSON.parse (time): how many times longer lwsx takes.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PolicyParser, parsePolicy } from '../src/ss/policy/index.js';
import type { Policy } from '../src/ss/policy/index.js';

const CHUNK = 64;
const BATCHES = 25;
/** a batch runs at least this long, so the clock's resolution does not matter */
const BATCH_MS = 2;

interface Figures { compute: number; us: number }
interface XsDetail { file: string; bytes: number; streamtypes: number; jsonParse: Figures; whole: Figures; chunked: Figures }

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function parseChunked(bytes: Uint8Array): Policy {
  const p = new PolicyParser();
  for (let off = 0; off < bytes.length; off += CHUNK) p.write(bytes.subarray(off, off + CHUNK));
  return p.end();
}

/** µs per call: the median over BATCHES of a batch's mean, after a warm-up. */
function usPerCall(fn: () => unknown): number {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    if (performance.now() - t0 >= BATCH_MS) break;
    reps *= 2;
  }
  const means: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    means.push(((performance.now() - t0) * 1000) / reps);
  }
  means.sort((a, b) => a - b);
  return means[means.length >> 1] as number;
}

/** The text's FNV-1a, as bench/xs/policy.entry.ts computes it. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

async function xsDetail(root: string, texts: Map<string, string>): Promise<XsDetail[]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(root, 'test/xs/run-in-xs.mjs'), join(root, 'bench/xs/policy.entry.ts'), '--iterations=0'],
    { encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  const run = JSON.parse(stdout.trim().split('\n').pop() as string) as { result: Record<string, unknown> };
  const r = run.result;
  if ('error' in r) throw new Error(`policy.entry.ts failed inside XS: ${String(r['error'])}\n${String(r['stack'] ?? '')}`);
  // XS parsed exactly the files' texts
  const seen = r['texts'] as Array<[string, number, number]>;
  if (seen.length !== texts.size) throw new Error(`XS saw ${seen.length} policies, expected ${texts.size}`);
  for (const [file, length, hash] of seen) {
    const t = texts.get(file);
    if (t === undefined || t.length !== length || fnv1a(t) !== hash) throw new Error(`XS rebuilt ${file} differently from the file`);
  }
  return r['detail'] as XsDetail[];
}

const f1 = (x: number): string => (Number.isNaN(x) ? '—' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US'));
const kcu = (x: number): string => (Number.isNaN(x) ? '—' : x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));

export async function main(): Promise<void> {
  const root = repoRoot();
  const dir = resolve(root, '..', 'shared', 'lws-policies');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const texts = new Map(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  const enc = new TextEncoder();

  console.log(`\nSS policy parse, Node: µs per parse (median of ${BATCHES} batches); ratio = lwsx ÷ JSON.parse`);
  console.log(
    `${'policy'.padEnd(42)} ${'bytes'.padStart(6)} ${'st'.padStart(3)} ${'certs'.padStart(5)} ${'lwsx'.padStart(8)} ${'lwsx 64B'.padStart(9)} ${'JSON.parse'.padStart(10)} ${'ratio'.padStart(6)} ${'ratio 64B'.padStart(9)}`,
  );
  const node = new Map<string, { whole: number; chunked: number; json: number; certs: number }>();
  for (const f of files) {
    const text = texts.get(f) as string;
    const bytes = enc.encode(text);
    const p = parsePolicy(text);
    // the chunked parse must give the same policy
    if (JSON.stringify(parseChunked(bytes).streamtypes) !== JSON.stringify(p.streamtypes)) throw new Error(`${f}: chunked parse differs`);
    const whole = usPerCall(() => parsePolicy(text));
    const chunked = usPerCall(() => parseChunked(bytes));
    const json = usPerCall(() => JSON.parse(text));
    const certs = Object.keys(p.certs).length;
    node.set(f, { whole, chunked, json, certs });
    console.log(
      `${f.replace(/\.json$/, '').padEnd(42)} ${String(bytes.length).padStart(6)} ${String(Object.keys(p.streamtypes).length).padStart(3)} ${String(certs).padStart(5)} ${f1(whole).padStart(8)} ${f1(chunked).padStart(9)} ${f1(json).padStart(10)} ${(whole / json).toFixed(1).padStart(6)} ${(chunked / json).toFixed(1).padStart(9)}`,
    );
  }

  const xs = await xsDetail(root, texts);
  console.log('\nSS policy parse, XS (xsnap): compute units per parse (meter) and µs per parse (XS clock, median); ratio = lwsx ÷ JSON.parse µs');
  console.log(
    `${'policy'.padEnd(42)} ${'lwsx cu'.padStart(9)} ${'64B cu'.padStart(9)} ${'JSON cu'.padStart(8)} ${'lwsx µs'.padStart(8)} ${'64B µs'.padStart(8)} ${'JSON µs'.padStart(8)} ${'ratio'.padStart(6)} ${'cu/byte'.padStart(7)}`,
  );
  for (const d of xs) {
    console.log(
      `${d.file.replace(/\.json$/, '').padEnd(42)} ${kcu(d.whole.compute).padStart(9)} ${kcu(d.chunked.compute).padStart(9)} ${kcu(d.jsonParse.compute).padStart(8)} ${f1(d.whole.us).padStart(8)} ${f1(d.chunked.us).padStart(8)} ${f1(d.jsonParse.us).padStart(8)} ${(d.whole.us / d.jsonParse.us).toFixed(0).padStart(6)} ${(d.whole.compute / d.bytes).toFixed(0).padStart(7)}`,
    );
  }

  // the streaming case the issue names: the largest policy that carries certificates
  const largest = files.filter((f) => (node.get(f)?.certs ?? 0) > 0).sort((a, b) => (texts.get(b) as string).length - (texts.get(a) as string).length)[0] as string;
  const n = node.get(largest) as { whole: number; chunked: number; json: number; certs: number };
  const x = xs.find((d) => d.file === largest) as XsDetail;
  console.log(`\nlargest with certificates, streamed in ${CHUNK}-byte chunks: ${largest} (${x.bytes} bytes, ${n.certs} certs)`);
  console.log(`  Node: ${f1(n.chunked)} µs (whole ${f1(n.whole)} µs; JSON.parse ${f1(n.json)} µs; ratio ${(n.chunked / n.json).toFixed(1)})`);
  console.log(
    `  XS:   ${kcu(x.chunked.compute)} compute units, ${f1(x.chunked.us)} µs (whole ${kcu(x.whole.compute)} cu, ${f1(x.whole.us)} µs; JSON.parse ${f1(x.jsonParse.us)} µs; ratio ${(x.chunked.us / x.jsonParse.us).toFixed(0)})`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
