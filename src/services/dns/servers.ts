/**
 * The name servers the resolver may ask, where each came from, and how each has been doing.
 *
 * Sources, most preferred first: 'dhcp' (what the network we are on says), 'board' (what the
 * device was configured with), 'resolv.conf' (the desktop the simulator runs on). Each
 * `set(list, source)` replaces that source's list; the others stay, as fallbacks.
 *
 * Ranking for a new question:
 *  1. servers that answered last time they were asked (or have never been asked) before servers
 *     whose last exchange timed out; among the failing ones, the longest-ago failure first;
 *  2. then by source;
 *  3. then by smoothed round-trip time (RFC 6298's 1/8 EWMA). A server never measured counts
 *     as 0, so each new server is tried once and measured by a real question, then the fastest
 *     responsive one leads;
 *  4. then in the order given.
 * A question retransmits to the next server in that ranking on each timeout.
 */
import { UsageError } from '../../util/errors.js';
import { canonicalAddress } from './address.js';

export type DnsServerSource = 'dhcp' | 'board' | 'resolv.conf';

const SOURCES: readonly DnsServerSource[] = ['dhcp', 'board', 'resolv.conf'];

export const DNS_PORT = 53;

export interface DnsServerAddress {
  address: string;
  port: number;
}

/** "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353", or { address, port? }. */
export type DnsServerSpec = string | { address: string; port?: number };

/** How one server is doing (a snapshot for logs and tests). */
export interface DnsServerInfo extends DnsServerAddress {
  family: 4 | 6;
  source: DnsServerSource;
  /** smoothed round-trip time, ms; undefined until measured */
  srttMs: number | undefined;
  /** timeouts since its last answer */
  failures: number;
  answers: number;
  timeouts: number;
}

export class DnsServer implements DnsServerAddress {
  readonly key: string;
  srttUs: number | undefined;
  failures = 0;
  lastFailureUs = 0;
  answers = 0;
  timeouts = 0;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly family: 4 | 6,
    public source: DnsServerSource,
    public order: number,
  ) {
    this.key = serverKey(address, port);
  }

  /** An answer arrived; `rttUs` only when it cannot be confused with a retransmission's (Karn). */
  answered(rttUs: number | undefined): void {
    this.answers++;
    this.failures = 0;
    if (rttUs === undefined) return;
    this.srttUs = this.srttUs === undefined ? rttUs : this.srttUs + (rttUs - this.srttUs) / 8;
  }

  timedOut(nowUs: number): void {
    this.timeouts++;
    this.failures++;
    this.lastFailureUs = nowUs;
  }

  info(): DnsServerInfo {
    return {
      address: this.address,
      port: this.port,
      family: this.family,
      source: this.source,
      srttMs: this.srttUs === undefined ? undefined : this.srttUs / 1000,
      failures: this.failures,
      answers: this.answers,
      timeouts: this.timeouts,
    };
  }
}

export function serverKey(address: string, port: number): string {
  return `${address}#${port}`;
}

function badSpec(spec: unknown, why: string): never {
  throw new UsageError('ERR_DNS_SERVER', `dns server ${JSON.stringify(spec)}: ${why}`, { server: spec });
}

/** Parses a server spec into canonical address text, port and family. Throws UsageError 'ERR_DNS_SERVER'. */
export function parseServerSpec(spec: DnsServerSpec): DnsServerAddress & { family: 4 | 6 } {
  let host: string;
  let port: number = DNS_PORT;
  if (typeof spec === 'string') {
    const bracket = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(spec);
    const v4port = /^([0-9.]+):(\d{1,5})$/.exec(spec);
    if (bracket) {
      host = bracket[1] as string;
      if (bracket[2] !== undefined) port = Number(bracket[2]);
    } else if (v4port) {
      host = v4port[1] as string;
      port = Number(v4port[2]);
    } else host = spec;
  } else if (typeof spec === 'object' && spec !== null && typeof spec.address === 'string') {
    host = spec.address;
    if (spec.port !== undefined) port = spec.port;
  } else return badSpec(spec, 'must be an address string or { address, port }');
  const a = canonicalAddress(host);
  if (!a) return badSpec(spec, 'the address must be an IPv4 or IPv6 literal');
  if (!Number.isInteger(port) || port < 1 || port > 65535) return badSpec(spec, 'port must be 1..65535');
  return { address: a.address, port, family: a.family };
}

export class DnsServerTable {
  private readonly bySource = new Map<DnsServerSource, DnsServer[]>();
  /** every server ever configured and still listed, by key: keeps its history across set() */
  private all: DnsServer[] = [];

  /** Replaces the servers from `source`. Throws UsageError 'ERR_DNS_SERVER' for a bad spec (and changes nothing). */
  set(list: readonly DnsServerSpec[], source: DnsServerSource): void {
    if (!SOURCES.includes(source)) badSpec(source, `source must be one of ${SOURCES.join(', ')}`);
    const parsed = list.map(parseServerSpec);
    const old = new Map(this.all.map((s) => [s.key, s]));
    const mine: DnsServer[] = [];
    parsed.forEach((p, i) => {
      const key = serverKey(p.address, p.port);
      if (mine.some((s) => s.key === key)) return;
      mine.push(old.get(key) ?? new DnsServer(p.address, p.port, p.family, source, i));
    });
    this.bySource.set(source, mine);
    // a server listed by several sources is ranked by the most preferred one
    const merged: DnsServer[] = [];
    for (const src of SOURCES) {
      (this.bySource.get(src) ?? []).forEach((s, i) => {
        if (merged.includes(s)) return;
        s.source = src;
        s.order = i;
        merged.push(s);
      });
    }
    this.all = merged;
  }

  get size(): number {
    return this.all.length;
  }

  /** The servers in the order a new question should try them. */
  ranked(): DnsServer[] {
    const rank = SOURCES.reduce<Record<string, number>>((m, s, i) => ((m[s] = i), m), {});
    return this.all.slice().sort((a, b) => {
      const fa = a.failures > 0 ? 1 : 0;
      const fb = b.failures > 0 ? 1 : 0;
      if (fa !== fb) return fa - fb;
      if (fa) return a.lastFailureUs - b.lastFailureUs || (rank[a.source] as number) - (rank[b.source] as number) || a.order - b.order;
      return (rank[a.source] as number) - (rank[b.source] as number) || (a.srttUs ?? 0) - (b.srttUs ?? 0) || a.order - b.order;
    });
  }

  info(): DnsServerInfo[] {
    return this.ranked().map((s) => s.info());
  }
}
