/**
 * DNS: lwsx's resolver against Node's dns.Resolver (c-ares), both asking the same dnsmasq on
 * loopback, started here, in the same run.
 *
 *  - cold latency: 2000 lookups one at a time, each of a name this client never asked: p50 / p99;
 *  - cold lookups/s: 4000 lookups of new names, 32 in flight;
 *  - cached lookups/s: one name over and over, one at a time (lwsx answers from its cache; the
 *    c-ares line says whether c-ares did too, from how many queries dnsmasq logged meanwhile).
 *
 * Two shapes: IPv4 only (lwsx `lookup(name, { family: 4 })` vs `resolve4(name)`), and both
 * families (lwsx `lookup(name)`, which asks A and AAAA, vs `resolve4` + `resolve6` together).
 * ratio = lwsx ÷ c-ares: above 1 is better for lookups/s, below 1 is better for latency.
 * Every phase starts a fresh client (empty cache) and stops early at its time cap, so the whole
 * bench stays well under a minute. "Cold" means the client's cache, not the JIT: before the
 * timed phases of each shape, each contender runs WARMUP_PASSES untimed passes of both cold phases,
 * so V8 has compiled both code paths (lwsx's is JavaScript, c-ares' is mostly C) and lwsx, which
 * goes first, does not pay its compilation (on a small machine, optimising compiler threads
 * compete with dnsmasq for the cores) inside its figures.
 */
import { Resolver } from 'node:dns/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { NodeHost } from '../hosts/node/host.js';
import { Context } from '../src/loop/context.js';
import type { Board } from '../src/system/board.js';
import { DnsResolver } from '../src/services/dns/resolver.js';
import { startDnsmasq } from '../test/peers/dnsmasq.js';
import type { Dnsmasq } from '../test/peers/dnsmasq.js';

const LATENCY_LOOKUPS = 2000;
const THROUGHPUT_LOOKUPS = 4000;
/** untimed passes of both cold phases per contender and shape, before the timed ones */
const WARMUP_PASSES = 2;
const NAMES = Math.max(LATENCY_LOOKUPS, THROUGHPUT_LOOKUPS);
const PHASE_CAP_MS = 5000;
const CACHED_BUDGET_MS = 1500;
const IN_FLIGHT = 32;

type Lookup = (name: string) => Promise<unknown>;

interface Contender {
  label: string;
  /** a fresh client (empty cache) for each phase */
  fresh(): { lookup: Lookup; close(): void };
}

const board: Board = {
  description: { board: 'bench', identity: { serial: 'bench', firmwareVersion: '1', deviceType: 'bench' }, interfaces: 'preconfigured' },
  ops: {},
};

/** h0.lws.test, h1.lws.test, …: new to the fresh client of each phase. */
const nameAt = (i: number): string => `h${i}.lws.test`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function coldLatency(c: Contender): Promise<{ p50: number; p99: number; n: number }> {
  const client = c.fresh();
  const us: number[] = [];
  const until = performance.now() + PHASE_CAP_MS;
  try {
    for (let i = 0; i < LATENCY_LOOKUPS && performance.now() < until; i++) {
      const t = performance.now();
      await client.lookup(nameAt(i));
      us.push((performance.now() - t) * 1000);
    }
  } finally {
    client.close();
  }
  us.sort((a, b) => a - b);
  return { p50: percentile(us, 50), p99: percentile(us, 99), n: us.length };
}

async function coldThroughput(c: Contender): Promise<{ perS: number; n: number }> {
  const client = c.fresh();
  let n = 0;
  let next = 0;
  const t0 = performance.now();
  const until = t0 + PHASE_CAP_MS;
  const worker = async (): Promise<void> => {
    while (next < THROUGHPUT_LOOKUPS && performance.now() < until) {
      await client.lookup(nameAt(next++));
      n++;
    }
  };
  try {
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    client.close();
  }
  return { perS: n / ((performance.now() - t0) / 1000), n };
}

async function cachedThroughput(c: Contender, dm: Dnsmasq, name: string): Promise<{ perS: number; n: number; wire: number }> {
  const client = c.fresh();
  let n = 0;
  try {
    await client.lookup(name);
    await dm.settled();
    const before = dm.queries(name);
    const t0 = performance.now();
    const until = t0 + CACHED_BUDGET_MS;
    while (performance.now() < until) {
      // 64 per clock read: the clock costs as much as a cache hit
      for (let i = 0; i < 64; i++) await client.lookup(name);
      n += 64;
    }
    const perS = n / ((performance.now() - t0) / 1000);
    await dm.settled();
    return { perS, n, wire: dm.queries(name) - before };
  } finally {
    client.close();
  }
}

function lwsx(ctx: Context, port: number, family: 0 | 4): Contender {
  return {
    label: 'lwsx',
    fresh() {
      const r = new DnsResolver(ctx, { servers: [`127.0.0.1:${port}`], cacheSize: 64 });
      return {
        lookup: (name) => r.lookup(name, { family }).then((res) => res.release()),
        close: () => r.destroy(),
      };
    },
  };
}

function cares(port: number, family: 0 | 4): Contender {
  return {
    label: 'c-ares',
    fresh() {
      const r = new Resolver({ timeout: 300, tries: 5 });
      r.setServers([`127.0.0.1:${port}`]);
      return {
        lookup: family === 4 ? (name) => r.resolve4(name, { ttl: true }) : (name) => Promise.all([r.resolve4(name, { ttl: true }), r.resolve6(name, { ttl: true })]),
        close: () => r.cancel(),
      };
    },
  };
}

const fmt = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));
const row = (what: string, ours: string, theirs: string, ratio: number): string =>
  `${what.padEnd(30)} ${ours.padStart(12)} ${theirs.padStart(12)} ${ratio.toFixed(2).padStart(8)}`;

export async function main(): Promise<void> {
  const lines = Array.from({ length: NAMES }, (_, i) => `host-record=h${i}.lws.test,10.88.${i >> 8}.${i & 0xff},fd00::88:${i.toString(16)}`);
  const dm = await startDnsmasq({ ttl: 600, lines: ['host-record=cached.lws.test,10.0.0.1,fd00::1', ...lines] });
  const host = await NodeHost.open();
  const ctx = new Context({ host, board });
  try {
    console.log(`\ndns: lwsx resolver vs Node dns.Resolver (c-ares ${process.versions.ares}), same dnsmasq on 127.0.0.1:${dm.port}`);
    console.log('ratio = lwsx ÷ c-ares: above 1 is better for lookups/s, below 1 is better for latency');
    for (const family of [4, 0] as const) {
      const ours = lwsx(ctx, dm.port, family);
      const theirs = cares(dm.port, family);
      console.log(`\n${family === 4 ? 'IPv4 only (A)' : 'both families (A + AAAA)'}`);
      console.log(`${''.padEnd(30)} ${'lwsx'.padStart(12)} ${'c-ares'.padStart(12)} ${'ratio'.padStart(8)}`);
      for (let i = 0; i < WARMUP_PASSES; i++) {
        for (const c of [ours, theirs]) {
          await coldLatency(c);
          await coldThroughput(c);
        }
      }
      const la = await coldLatency(ours);
      const lb = await coldLatency(theirs);
      console.log(row('cold latency p50 (µs)', la.p50.toFixed(0), lb.p50.toFixed(0), la.p50 / lb.p50));
      console.log(row('cold latency p99 (µs)', la.p99.toFixed(0), lb.p99.toFixed(0), la.p99 / lb.p99));
      const ta = await coldThroughput(ours);
      const tb = await coldThroughput(theirs);
      console.log(row(`cold lookups/s (${IN_FLIGHT} in flight)`, fmt(ta.perS), fmt(tb.perS), ta.perS / tb.perS));
      const ca = await cachedThroughput(ours, dm, 'cached.lws.test');
      const cb = await cachedThroughput(theirs, dm, 'cached.lws.test');
      console.log(row('cached lookups/s', fmt(ca.perS), fmt(cb.perS), ca.perS / cb.perS));
      console.log(
        `  (queries dnsmasq saw during the cached runs: lwsx ${ca.wire} of ${ca.n}, c-ares ${cb.wire} of ${cb.n}${cb.wire === 0 ? ': c-ares answered from its query cache' : ''})`,
      );
    }
  } finally {
    ctx.destroy();
    await dm.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
