/**
 * dnsmasq as an authoritative DNS server on loopback (see PEERS.md): started by the tests and
 * the DNS bench themselves, on a port chosen free, answering only for the names its config
 * lines give (local=/lws.test/, no upstream, so a name outside the zone gets REFUSED and nothing
 * leaves the machine). `log-queries` lets a test count what reached the wire from dnsmasq's
 * side, independently of the resolver's own counters.
 *
 * Built on proc.ts (node:* only), not peers.ts: the bench runs outside Jest, and peers.ts imports
 * @jest/globals, which refuses to load there.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { freePort, startPeer, which } from './proc.js';
import type { Running } from './proc.js';

const require = createRequire(import.meta.url);
const dnsPacket = require('dns-packet') as {
  encode(m: { id: number; type: 'query'; flags: number; questions: { name: string; type: string }[] }): Buffer;
};

/** Where Debian's dnsmasq-base puts it, or elsewhere on the usual paths. */
export const DNSMASQ = which('dnsmasq') ?? 'dnsmasq';

export interface DnsmasqOptions {
  /** local-ttl: the TTL of every local answer, s (dnsmasq's default is 0) */
  ttl?: number;
  /** extra config lines: host-record=…, cname=…, address=… */
  lines?: readonly string[];
}

export interface Dnsmasq {
  port: number;
  /** everything dnsmasq logged */
  output(): string;
  /** how many queries for `name` (and `type`, "A"/"AAAA") dnsmasq has logged, UDP and TCP alike */
  queries(name: string, type?: string): number;
  /**
   * Resolves once dnsmasq has logged every UDP query it received before this call: it asks a
   * marker name and waits for that line (dnsmasq logs UDP queries in arrival order, but its log
   * reaches us asynchronously).
   */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Does anything answer a DNS query for `name` on 127.0.0.1:port within `ms`? */
function answers(port: number, ms: number, name = 'ready.lws.test'): Promise<boolean> {
  return new Promise((resolve) => {
    const u = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(t);
      u.close();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), ms);
    u.once('message', () => done(true));
    u.once('error', () => done(false));
    u.send(dnsPacket.encode({ id: 1, type: 'query', flags: 0x100, questions: [{ name, type: 'A' }] }), port, '127.0.0.1');
  });
}

function config(port: number, opts: DnsmasqOptions): string {
  return [
    `port=${port}`,
    'listen-address=127.0.0.1',
    'listen-address=::1',
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'local=/lws.test/',
    `local-ttl=${opts.ttl ?? 60}`,
    'log-queries',
    'log-facility=-',
    ...(opts.lines ?? []),
    '',
  ].join('\n');
}

async function startOnce(opts: DnsmasqOptions, dir: string): Promise<Dnsmasq | string> {
  // it listens on both loopbacks: the port must be free on ::1 too
  const port = await freePort({ ipv6: true });
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(conf, config(port, opts));
  let running: Running;
  try {
    running = await startPeer(DNSMASQ, ['--no-daemon', `--conf-file=${conf}`, '--user=root'], () => answers(port, 200));
  } catch (e) {
    return (e as Error).message;
  }
  const output = running.output;
  const queries = (name: string, type?: string): number => {
    const re = new RegExp(`query\\[${type ?? '[A-Z]+'}\\] ${name.replace(/\./g, '\\.')} from `, 'g');
    return (output().match(re) ?? []).length;
  };
  let markers = 0;
  const settled = async (): Promise<void> => {
    const marker = `settled-${++markers}.lws.test`;
    const until = Date.now() + 5000;
    while (!(await answers(port, 200, marker))) if (Date.now() > until) throw new Error('dnsmasq stopped answering');
    while (queries(marker) === 0) {
      if (Date.now() > until) throw new Error(`dnsmasq never logged ${marker}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return { port, output, queries, settled, stop: running.stop };
}

/** Starts dnsmasq; retries on a fresh port if another process took ours in the meantime. */
export async function startDnsmasq(opts: DnsmasqOptions = {}): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), 'lwsx-dnsmasq-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  let why = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await startOnce(opts, dir);
    if (typeof r !== 'string') {
      const stop = r.stop;
      return { ...r, stop: async () => { await stop(); cleanup(); } };
    }
    why = r;
  }
  cleanup();
  throw new Error(`dnsmasq did not come up:\n${why}`);
}

/** n host-record lines giving `name` the IPv4 addresses 10.77.x.y (about 30 fill 512 bytes of UDP). */
export function manyRecords(name: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `host-record=${name},10.77.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}
