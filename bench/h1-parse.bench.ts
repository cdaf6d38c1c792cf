/**
 * HTTP/1.1 parser throughput: lwsx's H1Parser against llhttp, the C parser inside node:http,
 * measured the same way in the same run: both parse the same buffer of 64 pipelined messages
 * (a typical browser GET; a typical chunked JSON response) in process, and both hand every field
 * name and value, and every body piece, to JavaScript. llhttp is reached through
 * `_http_common`'s HTTPParser, the binding node:http itself drives, with the callbacks node:http
 * installs replaced by ones that only collect. ratio = lwsx ÷ llhttp (above 1: lwsx is faster).
 * Going through a node:http server on a socket instead would time the sockets, not the parsers.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { H1Parser } from '../src/protocols/h1/parser.js';
import type { H1ParseEvent } from '../src/protocols/h1/parser.js';
import { TYPICAL_REQUEST, TYPICAL_RESPONSE } from './xs/h1.entry.js';

const PIPELINED = 64;
const BUDGET_MS = 1000;

interface LlhttpParser {
  initialize(type: number, resource: object): void;
  execute(b: Buffer): unknown;
  [k: number]: unknown;
}
interface LlhttpModule {
  HTTPParser: { new (): LlhttpParser; REQUEST: number; RESPONSE: number; kOnHeaders: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number };
}

function repeat(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(b.length * n);
  for (let i = 0; i < n; i++) out.set(b, i * b.length);
  return out;
}

/** Runs `once` (which parses the whole buffer and returns messages parsed) for BUDGET_MS after a warm-up. */
function measure(bytes: number, once: () => number): { mbps: number; msgps: number } {
  for (let i = 0; i < 200; i++) once();
  let runs = 0;
  let msgs = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS) {
    for (let i = 0; i < 20; i++) msgs += once();
    runs += 20;
    t = performance.now();
  }
  const s = (t - t0) / 1000;
  return { mbps: (runs * bytes) / s / 1e6, msgps: msgs / s };
}

function lwsx(kind: 'request' | 'response', wire: Uint8Array): () => number {
  const ev: H1ParseEvent[] = [];
  return () => {
    const p = new H1Parser(kind);
    let off = 0;
    let msgs = 0;
    let sink = 0;
    while (off < wire.length) {
      ev.length = 0;
      off = p.feed(wire, off, ev);
      for (const e of ev) {
        if (e.type === 'head') sink += e.head.headers.size;
        else if (e.type === 'data') sink += e.data.length;
      }
      if (p.state === 'done') {
        msgs++;
        p.next();
      }
    }
    if (sink === 0) throw new Error('nothing parsed');
    return msgs;
  };
}

function llhttp(mod: LlhttpModule, kind: 'request' | 'response', wire: Buffer): () => number {
  const { HTTPParser } = mod;
  return () => {
    const p = new HTTPParser();
    p.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {});
    let msgs = 0;
    let sink = 0;
    p[HTTPParser.kOnHeaders] = (h: string[]) => {
      sink += h.length;
    };
    p[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, h: string[] | undefined) => {
      sink += h === undefined ? 0 : h.length;
    };
    p[HTTPParser.kOnBody] = (b: Buffer) => {
      sink += b.length;
    };
    p[HTTPParser.kOnMessageComplete] = () => {
      msgs++;
    };
    const r = p.execute(wire);
    if (typeof r !== 'number' || sink === 0) throw new Error(`llhttp failed: ${String(r)}`);
    return msgs;
  };
}

export async function main(): Promise<void> {
  let mod: LlhttpModule | undefined;
  try {
    mod = createRequire(import.meta.url)('_http_common') as LlhttpModule;
    if (typeof mod.HTTPParser !== 'function') mod = undefined;
  } catch {
    mod = undefined;
  }
  console.log(`\nh1 parser throughput (${PIPELINED} pipelined messages per buffer, ${BUDGET_MS} ms per figure)`);
  if (mod === undefined) console.log('  llhttp binding not reachable in this Node: lwsx figures alone, no ratio');
  for (const [label, kind, one] of [
    ['request  (GET, 12 fields)', 'request', TYPICAL_REQUEST],
    ['response (200 chunked, 6 fields)', 'response', TYPICAL_RESPONSE],
  ] as const) {
    const wire = repeat(one, PIPELINED);
    const ours = measure(wire.length, lwsx(kind, wire));
    let line = `  ${label.padEnd(34)} lwsx ${ours.mbps.toFixed(1).padStart(7)} MB/s ${(ours.msgps / 1000).toFixed(0).padStart(6)} k msg/s`;
    if (mod !== undefined) {
      const theirs = measure(wire.length, llhttp(mod, kind, Buffer.from(wire)));
      line += ` | llhttp ${theirs.mbps.toFixed(1).padStart(7)} MB/s ${(theirs.msgps / 1000).toFixed(0).padStart(6)} k msg/s | ratio ${(ours.mbps / theirs.mbps).toFixed(2)}`;
    }
    console.log(line);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
