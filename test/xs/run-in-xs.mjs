#!/usr/bin/env node
// Runs a TypeScript entry inside Moddable's real XS engine (@agoric/xsnap) and prints one JSON
// line: { result, meter }. The entry is bundled by esbuild into one script (XS evaluates
// scripts; a device build would use mcconfig) and reports with issueCommand().
// Usage: node test/xs/run-in-xs.mjs ENTRY.ts [--iterations=N]
// With --iterations=N (or LWSX_XS_ITERATIONS=N in the environment; the argument wins), the
// bundle starts with `globalThis.LWSX_XS_ITERATIONS = N;`: the bench entries read it for how many
// times to repeat their operation (see bench/xs/globals.d.ts).
// Kept outside jest because @endo/init locks down the realm it runs in.
import '@endo/init';
import { xsnap } from '@agoric/xsnap';
import { buildSync } from 'esbuild';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

const USAGE = 'usage: run-in-xs.mjs ENTRY.ts [--iterations=N]';
const args = process.argv.slice(2);
const entry = args.find((a) => !a.startsWith('--'));
let iterations = process.env.LWSX_XS_ITERATIONS || undefined;
for (const a of args) {
  if (a.startsWith('--iterations=')) iterations = a.slice('--iterations='.length);
  else if (a.startsWith('--')) {
    console.error(`run-in-xs: unknown option ${a}\n${USAGE}`);
    process.exit(2);
  }
}
if (!entry || args.filter((a) => !a.startsWith('--')).length !== 1) {
  console.error(USAGE);
  process.exit(2);
}
if (iterations !== undefined && !/^(0|[1-9][0-9]{0,14})$/.test(iterations)) {
  console.error(`run-in-xs: the iteration count must be a non-negative integer, not ${JSON.stringify(iterations)}`);
  process.exit(2);
}
const prelude = iterations === undefined ? '' : `globalThis.LWSX_XS_ITERATIONS = ${Number(iterations)};\n`;
const bundle = prelude + buildSync({
  entryPoints: [entry],
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'neutral',
  target: 'es2022',
  logLevel: 'error',
}).outputFiles[0].text;

const reports = [];
const worker = await xsnap({
  os: os.type(),
  spawn,
  fs,
  name: 'lwsx-xs',
  meteringLimit: 0,
  stderr: 'inherit',
  stdout: 'inherit',
  handleCommand: async (msg) => {
    reports.push(new TextDecoder().decode(msg));
    return new Uint8Array();
  },
});
let meter;
try {
  const r = await worker.evaluate(bundle);
  meter = r.meterUsage;
} finally {
  await worker.close();
}
if (reports.length !== 1) {
  console.error(`run-in-xs: the entry reported ${reports.length} times, expected once`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ result: JSON.parse(reports[0]), meter }) + '\n');
