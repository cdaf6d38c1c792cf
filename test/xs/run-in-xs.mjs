#!/usr/bin/env node
// Runs a TypeScript entry inside Moddable's real XS engine (@agoric/xsnap) and prints one JSON
// line: { result, meter }. The entry is bundled by esbuild into one script (XS evaluates
// scripts; a device build would use mcconfig) and reports with issueCommand().
// Usage: node test/xs/run-in-xs.mjs ENTRY.ts
// Kept outside jest because @endo/init locks down the realm it runs in.
import '@endo/init';
import { xsnap } from '@agoric/xsnap';
import { buildSync } from 'esbuild';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

const entry = process.argv[2];
if (!entry) {
  console.error('usage: run-in-xs.mjs ENTRY.ts');
  process.exit(2);
}
const bundle = buildSync({
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
