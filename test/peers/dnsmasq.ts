/**
 * dnsmasq as an authoritative DNS server on loopback (see PEERS.md): started by the tests and
 * the DNS bench themselves, on a port chosen free, answering only for the names its config
 * lines give (local=/lws.test/, no upstream, so a name outside the zone gets REFUSED and nothing
 * leaves the machine). `log-queries` lets a test count what reached the wire from dnsmasq's
 * side, independently of the resolver's own counters.
 *
 * Self-contained (node:* and dns-packet only) rather than built on peers.ts: the bench runs
 * outside Jest, and peers.ts imports @jest/globals, which refuses to load there.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dnsPacket = require('dns-packet') as {
  encode(m: { id: number; type: 'query'; flags: number; questions: { name: string; type: string }[] }): Buffer;
};

/** Where Debian's dnsmasq-base puts it, or elsewhere on the usual paths. */
export const DNSMASQ = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/sbin'].map((d) => `${d}/dnsmasq`).find((p) => existsSync(p)) ?? 'dnsmasq';

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

/** A port free for UDP and TCP on both 127.0.0.1 and ::1, as the kernel hands it out. */
async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const checks = await Promise.all([
      udpFree(port, 'udp4', '127.0.0.1'),
      udpFree(port, 'udp6', '::1'),
      tcpFree(port, '::1'),
    ]);
    if (checks.every(Boolean)) return port;
  }
}

function udpFree(port: number, type: 'udp4' | 'udp6', address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const u = createSocket(type);
    u.once('error', () => resolve(false));
    u.bind(port, address, () => u.close(() => resolve(true)));
  });
}

function tcpFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
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
  const port = await freeLoopbackPort();
  const conf = join(dir, 'dnsmasq.conf');
  writeFileSync(conf, config(port, opts));
  const child: ChildProcess = spawn(DNSMASQ, ['--no-daemon', `--conf-file=${conf}`, '--user=root'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => { exited = true; r(); }));
  child.once('error', (e) => { out += `\nspawn failed: ${e.message}`; });
  const stop = async (): Promise<void> => {
    if (!exited) child.kill('SIGTERM');
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([exit, new Promise((r) => (grace = setTimeout(r, 3000)))]);
    clearTimeout(grace);
    if (!exited) child.kill('SIGKILL');
    await exit;
  };
  const queries = (name: string, type?: string): number => {
    const re = new RegExp(`query\\[${type ?? '[A-Z]+'}\\] ${name.replace(/\./g, '\\.')} from `, 'g');
    return (out.match(re) ?? []).length;
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
  const until = Date.now() + 10_000;
  while (!exited && Date.now() < until) {
    if (await answers(port, 200)) return { port, output: () => out, queries, settled, stop };
  }
  await stop();
  return out;
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
