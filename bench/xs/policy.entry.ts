/**
 * XS bench: the Secure Streams policy parser on the 18 libwebsockets policies.
 *
 * N iterations (LWSX_XS_ITERATIONS when run-in-xs.mjs sets it, else POLICY_BENCH_ITERATIONS)
 * each parse lws' built-in default policy (00, lib/core/context.c); bench/xs.bench.ts runs it
 * with two counts and divides the difference.
 *
 * With 0 iterations (bench/ss-policy.bench.ts) it measures every policy on its own instead:
 * xsnap's meter (compute units, read with resetMeter and restored) and XS's clock (µs, median of
 * TIMED_RUNS) for XS's native JSON.parse of the text (the baseline), lwsx's parser on the whole
 * text, and lwsx's parser fed the UTF-8 bytes in 64-byte chunks, as a fetched policy arrives.
 *
 * The policies are read from ../shared/lws-policies/ (bundled by esbuild, never copied): each
 * file is exactly JSON.stringify(value, null, 2), so its text is rebuilt from the bundled value
 * (XS writes an empty array as "[\n  \n]": put back as "[]"); the lengths and a checksum go
 * back to the host, which checks them against the files.
 */
/// <reference path="./globals.d.ts" />
import p00 from '../../../shared/lws-policies/00-lib-core-context-default-policy.json' with { type: 'json' };
import p01 from '../../../shared/lws-policies/01-minimal-secure-streams.json' with { type: 'json' };
import p02 from '../../../shared/lws-policies/02-minimal-secure-streams-mqtt.json' with { type: 'json' };
import p03 from '../../../shared/lws-policies/03-minimal-secure-streams-smd.json' with { type: 'json' };
import p04 from '../../../shared/lws-policies/04-minimal-secure-streams-metadata.json' with { type: 'json' };
import p05 from '../../../shared/lws-policies/05-minimal-secure-streams-server.json' with { type: 'json' };
import p06 from '../../../shared/lws-policies/06-minimal-secure-streams-server-raw.json' with { type: 'json' };
import p07 from '../../../shared/lws-policies/07-minimal-secure-streams-post.json' with { type: 'json' };
import p08 from '../../../shared/lws-policies/08-api-test-secure-streams.json' with { type: 'json' };
import p09 from '../../../shared/lws-policies/09-minimal-secure-streams-testsfail.json' with { type: 'json' };
import p10 from '../../../shared/lws-policies/10-minimal-secure-streams-proxy.json' with { type: 'json' };
import p11 from '../../../shared/lws-policies/11-embedded-esp32-c3dev.json' with { type: 'json' };
import p12 from '../../../shared/lws-policies/12-server-hello_world.json' with { type: 'json' };
import p13 from '../../../shared/lws-policies/13-sink-hello_world.json' with { type: 'json' };
import p14 from '../../../shared/lws-policies/14-client-ws-echo.json' with { type: 'json' };
import p15 from '../../../shared/lws-policies/15-client-http-post.json' with { type: 'json' };
import p16 from '../../../shared/lws-policies/16-client-hello_world-policy.json' with { type: 'json' };
import p17 from '../../../shared/lws-policies/17-api-test-secure-streams-local.json' with { type: 'json' };
import { PolicyParser, parsePolicy } from '../../src/ss/policy/index.js';
import type { Policy } from '../../src/ss/policy/index.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { reportToHost } from '../../test/xs/report.js';

/** xsnap's meter: returns the compute count so far and sets it (and the limit). */
declare const resetMeter: ((limit: number, count: number) => number) | undefined;
declare const currentMeterLimit: (() => number) | undefined;
declare const performance: { now(): number } | undefined;

export const POLICY_BENCH_ITERATIONS = 10;
/** lwsx's streaming mode, as a policy fetched over the network arrives */
export const CHUNK_BYTES = 64;
/** each compute figure is the mean of this many metered runs (the meter is deterministic) */
const METERED_RUNS = 2;
/** each time figure is the median of this many timed runs */
const TIMED_RUNS = 9;
const N = globalThis.LWSX_XS_ITERATIONS ?? POLICY_BENCH_ITERATIONS;

const FILES: ReadonlyArray<readonly [string, unknown]> = [
  ['00-lib-core-context-default-policy.json', p00],
  ['01-minimal-secure-streams.json', p01],
  ['02-minimal-secure-streams-mqtt.json', p02],
  ['03-minimal-secure-streams-smd.json', p03],
  ['04-minimal-secure-streams-metadata.json', p04],
  ['05-minimal-secure-streams-server.json', p05],
  ['06-minimal-secure-streams-server-raw.json', p06],
  ['07-minimal-secure-streams-post.json', p07],
  ['08-api-test-secure-streams.json', p08],
  ['09-minimal-secure-streams-testsfail.json', p09],
  ['10-minimal-secure-streams-proxy.json', p10],
  ['11-embedded-esp32-c3dev.json', p11],
  ['12-server-hello_world.json', p12],
  ['13-sink-hello_world.json', p13],
  ['14-client-ws-echo.json', p14],
  ['15-client-http-post.json', p15],
  ['16-client-hello_world-policy.json', p16],
  ['17-api-test-secure-streams-local.json', p17],
];

interface Figures {
  /** compute units per parse (xsnap meter) */
  compute: number;
  /** µs per parse in XS, median */
  us: number;
}

export interface PolicyDetail {
  file: string;
  bytes: number;
  streamtypes: number;
  jsonParse: Figures;
  whole: Figures;
  chunked: Figures;
}

/** A 32-bit FNV-1a of the text, so the host can check it rebuilt the file exactly. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The text of an lws policy file from its value (see above). */
export function policyText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\n *\n *\]/g, '[]').replace(/\{\n *\n *\}/g, '{}');
}

export function parseChunked(bytes: Uint8Array, chunk: number): Policy {
  const p = new PolicyParser();
  for (let off = 0; off < bytes.length; off += chunk) p.write(bytes.subarray(off, off + chunk));
  return p.end();
}

const count = (p: Policy): number => Object.keys(p.streamtypes).length;

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

function figures(run: () => unknown, meter: (() => number) | undefined): Figures {
  let compute = NaN;
  if (meter) {
    const m0 = meter();
    for (let r = 0; r < METERED_RUNS; r++) run();
    compute = (meter() - m0) / METERED_RUNS;
  }
  const times: number[] = [];
  if (performance) {
    for (let r = 0; r < TIMED_RUNS; r++) {
      const t0 = performance.now();
      run();
      times.push((performance.now() - t0) * 1000);
    }
  }
  return { compute, us: times.length ? median(times) : NaN };
}

function detail(texts: ReadonlyArray<{ file: string; text: string; bytes: Uint8Array }>): PolicyDetail[] {
  let meter: (() => number) | undefined;
  if (typeof resetMeter === 'function') {
    const limit = typeof currentMeterLimit === 'function' ? currentMeterLimit() : 0;
    meter = () => {
      const c = resetMeter(limit, 0);
      resetMeter(limit, c);
      return c;
    };
  }
  // a first pass, unmeasured: whatever is set up lazily on first use is not charged to 00
  for (const t of texts) {
    JSON.parse(t.text);
    parsePolicy(t.text);
    parseChunked(t.bytes, CHUNK_BYTES);
  }
  return texts.map((t) => ({
    file: t.file,
    bytes: t.bytes.length,
    streamtypes: count(parsePolicy(t.text)),
    jsonParse: figures(() => JSON.parse(t.text), meter),
    whole: figures(() => parsePolicy(t.text), meter),
    chunked: figures(() => parseChunked(t.bytes, CHUNK_BYTES), meter),
  }));
}

reportToHost(() => {
  const texts = FILES.map(([file, value]) => {
    const text = policyText(value);
    return { file, text, bytes: utf8Encode(text) };
  });
  const def = (texts[0] as { text: string }).text;
  let streamtypes = 0;
  for (let i = 0; i < N; i++) streamtypes += count(parsePolicy(def));
  return {
    iterations: N,
    streamtypes,
    texts: texts.map((t) => [t.file, t.text.length, fnv1a(t.text)]),
    detail: N === 0 ? detail(texts) : null,
  };
});
