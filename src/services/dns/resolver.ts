/**
 * The device's asynchronous DNS resolver (lws_async_dns's role): name in, a getaddrinfo-like
 * list of addresses out, on the context's loop.
 *
 * A lookup tries, in order: the cache; an IPv4/IPv6 literal (answered as itself); the hosts
 * entries the board gave; joining a lookup of the same name (and family) already on the wire;
 * and only then the network, asking A and AAAA (see lookup.ts, question.ts).
 *
 * API
 *  - `resolve(name, cb, opts?)` is the core: `cb(error, result)` runs exactly once, unless the
 *    returned request is cancelled first. When the answer is at hand (cache, literal, hosts, or
 *    a failure known at once) `cb` runs before `resolve` returns, as lws's
 *    lws_async_dns_query() returns LADNS_RET_FOUND; otherwise it runs from the loop.
 *  - `lookup(name, opts?)` is the same as a Promise; `lookupAddress(name, opts?)` resolves to the
 *    first address and releases the result itself.
 *  - A result holds its cache entry until `result.release()`: call it once done with the
 *    addresses (a held entry is never evicted). Errors are DnsLookupError with stable codes;
 *    a name that is not a valid DNS name throws DnsNameError from `resolve` itself.
 *  - `setServers(list, source)`: servers from 'dhcp', the 'board' or 'resolv.conf'.
 */
import type { RetryPolicy } from '../../loop/retry.js';
import { makeRetryPolicy } from '../../loop/retry.js';
import { UsageError } from '../../util/errors.js';
import { canonicalAddress } from './address.js';
import { DnsCache, DnsCacheEntry } from './cache.js';
import type { DnsAddress, DnsAnswer, DnsCacheStats, DnsCacheValue } from './cache.js';
import { DnsLookupError, DnsNameError } from './errors.js';
import type { HostsEntry } from './hosts.js';
import { DnsLookup } from './lookup.js';
import type { LookupDeps, LookupResult } from './lookup.js';
import { canonicalName } from './name.js';
import { DnsServerTable } from './servers.js';
import type { DnsServerInfo, DnsServerSource, DnsServerSpec } from './servers.js';
import { DnsTransport } from './transport.js';
import type { DnsLoop, DnsTransportStats } from './transport.js';

export type { DnsAddress } from './cache.js';

/**
 * libwebsockets' async-dns resend schedule: retransmit after 300, 500, 700 and 1250 ms, then
 * wait 5 s for the last copy (5 transmissions, 7.75 s), with 20 % jitter.
 */
export const DNS_RETRY_POLICY: RetryPolicy = makeRetryPolicy({ table: [300, 500, 700, 1250, 5000], conceal: 4, jitterPercent: 20 });

export type DnsFamilyPreference = 'ipv4' | 'ipv6';

export interface DnsLookupOptions {
  /** 0 (default): A and AAAA; 4 or 6: only that family */
  family?: 0 | 4 | 6;
  /** which family comes first in `addresses`; default: the resolver's `prefer` */
  prefer?: DnsFamilyPreference;
}

export type DnsResultSource = 'network' | 'cache' | 'numeric' | 'hosts';

export interface DnsResult {
  /** the name as asked, canonical (lower case, no trailing dot) */
  readonly name: string;
  /** the owner of the addresses, after any CNAMEs */
  readonly canonicalName: string;
  /** preferred family first; within a family, in the server's order */
  readonly addresses: readonly DnsAddress[];
  readonly source: DnsResultSource;
  /** monotonic µs when the answer goes stale; undefined for literals and hosts entries */
  readonly expiresUs: number | undefined;
  /** Lets the cache entry go; call exactly once when done with the addresses. */
  release(): void;
}

export type DnsCallback = (error: DnsLookupError | undefined, result: DnsResult | undefined) => void;

export interface DnsRequest {
  /** the callback has run, or the request was cancelled */
  readonly done: boolean;
  /** The callback will not run. A network lookup nobody else waits for is abandoned. */
  cancel(): void;
}

export interface DnsResolverOptions {
  /** initial servers, as source 'board' */
  servers?: readonly DnsServerSpec[];
  /** hosts entries (the board's; parseHosts() reads a hosts file) */
  hosts?: readonly HostsEntry[];
  /** cache entries, default 10 (0 disables caching) */
  cacheSize?: number;
  /** default 'ipv4': a device's network more often routes v4 than v6 */
  prefer?: DnsFamilyPreference;
  /** UDP resend schedule, default DNS_RETRY_POLICY */
  retry?: RetryPolicy;
  /** cap on a positive answer's cache lifetime, s (default 3600) */
  maxTtlS?: number;
  /** cap on a negative answer's cache lifetime, s (default 300) */
  maxNegativeTtlS?: number;
  /** deadline for a TCP retry of a truncated answer, ms (default 5000) */
  tcpTimeoutMs?: number;
  /** CNAME restarts allowed per lookup (default 4) */
  maxCnameRestarts?: number;
}

export interface DnsResolverStats {
  lookups: number;
  cacheHits: number;
  numeric: number;
  hosts: number;
  /** lookups that joined one already on the wire */
  joined: number;
  /** questions put on the wire (one per family per CNAME step) */
  questions: number;
  /** UDP transmissions, retransmissions included */
  transmissions: number;
  /** truncated answers asked again over TCP */
  tcp: number;
  /** answers delivered with one family missing after a transient failure */
  partial: number;
  failures: number;
  cache: DnsCacheStats;
  udp: DnsTransportStats;
}

function checkNumber(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new UsageError('ERR_DNS_OPTION', `dns: ${name} must be an integer ${min}..${max}`, { [name]: v });
  return v;
}

class Request implements DnsRequest {
  done = false;
  flight: Flight | undefined;

  constructor(
    private readonly cb: DnsCallback,
    readonly prefer: DnsFamilyPreference,
    private readonly onCancel: (r: Request) => void,
  ) {}

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.onCancel(this);
  }

  finish(error: DnsLookupError | undefined, result: DnsResult | undefined): void {
    if (this.done) {
      result?.release();
      return;
    }
    this.done = true;
    this.cb(error, result);
  }
}

interface Flight {
  key: string;
  lookup: DnsLookup;
  waiters: Set<Request>;
}

class Result implements DnsResult {
  readonly name: string;
  readonly canonicalName: string;
  readonly addresses: readonly DnsAddress[];
  readonly expiresUs: number | undefined;
  private released = false;

  constructor(
    private readonly cache: DnsCache,
    private readonly entry: DnsCacheEntry,
    name: string,
    answer: DnsAnswer,
    readonly source: DnsResultSource,
    prefer: DnsFamilyPreference,
  ) {
    cache.acquire(entry);
    this.name = name;
    this.canonicalName = answer.canonicalName;
    this.addresses = Object.freeze(prefer === 'ipv6' ? answer.v6.concat(answer.v4) : answer.v4.concat(answer.v6));
    this.expiresUs = Number.isFinite(entry.expiresUs) ? entry.expiresUs : undefined;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.cache.release(this.entry);
  }
}

export class DnsResolver {
  private readonly transport: DnsTransport;
  private readonly table = new DnsServerTable();
  private readonly cache: DnsCache;
  private hostsByName = new Map<string, DnsAddress[]>();
  private readonly flights = new Map<string, Flight>();
  private readonly deps: LookupDeps;
  private readonly prefer: DnsFamilyPreference;
  private readonly maxTtlS: number;
  private readonly maxNegativeTtlS: number;
  private readonly counters = { lookups: 0, cacheHits: 0, numeric: 0, hosts: 0, joined: 0, questions: 0, transmissions: 0, tcp: 0, partial: 0, failures: 0 };
  private destroyed = false;

  constructor(
    private readonly loop: DnsLoop,
    opts: DnsResolverOptions = {},
  ) {
    this.cache = new DnsCache(checkNumber('cacheSize', opts.cacheSize, 10, 0, 65535));
    this.prefer = opts.prefer ?? 'ipv4';
    if (this.prefer !== 'ipv4' && this.prefer !== 'ipv6') throw new UsageError('ERR_DNS_OPTION', "dns: prefer must be 'ipv4' or 'ipv6'", { prefer: this.prefer });
    this.maxTtlS = checkNumber('maxTtlS', opts.maxTtlS, 3600, 0, 0x7fffffff);
    this.maxNegativeTtlS = checkNumber('maxNegativeTtlS', opts.maxNegativeTtlS, 300, 0, 0x7fffffff);
    this.transport = new DnsTransport(loop);
    this.deps = {
      loop,
      transport: this.transport,
      retry: opts.retry ?? DNS_RETRY_POLICY,
      tcpTimeoutUs: checkNumber('tcpTimeoutMs', opts.tcpTimeoutMs, 5000, 1, 600_000) * 1000,
      counters: this.counters,
      rankedServers: () => this.table.ranked(),
      maxRestarts: checkNumber('maxCnameRestarts', opts.maxCnameRestarts, 4, 0, 16),
    };
    if (opts.servers) this.table.set(opts.servers, 'board');
    if (opts.hosts) this.setHosts(opts.hosts);
  }

  /** Replaces the servers from one source (the others stay as fallbacks). */
  setServers(list: readonly DnsServerSpec[], source: DnsServerSource): void {
    this.table.set(list, source);
    this.loop.logger.notice('dns', `servers from ${source}`, { servers: list.map((s) => (typeof s === 'string' ? s : s.address)) });
  }

  /** The servers in the order the next question will try them, with their record so far. */
  servers(): DnsServerInfo[] {
    return this.table.info();
  }

  /** Replaces the hosts entries. Throws UsageError for an entry whose name or address is invalid. */
  setHosts(entries: readonly HostsEntry[]): void {
    const m = new Map<string, DnsAddress[]>();
    for (const e of entries) {
      const a = canonicalAddress(e.address);
      if (!a) throw new UsageError('ERR_DNS_HOSTS', `hosts entry ${e.name}: ${e.address} is not an IP address`, { name: e.name, address: e.address });
      const name = canonicalName(e.name);
      const list = m.get(name) ?? [];
      if (!list.some((x) => x.address === a.address)) list.push(Object.freeze({ family: a.family, address: a.address, ttl: 0 }));
      m.set(name, list);
    }
    this.hostsByName = m;
  }

  get stats(): DnsResolverStats {
    return { ...this.counters, cache: { ...this.cache.stats }, udp: { ...this.transport.stats } };
  }

  /** Forgets every cached answer (results already handed out stay valid). */
  flushCache(): void {
    this.cache.clear();
  }

  resolve(name: string, cb: DnsCallback, opts: DnsLookupOptions = {}): DnsRequest {
    if (this.destroyed) throw new UsageError('ERR_DNS_DESTROYED', 'dns: the resolver has been destroyed');
    const family = opts.family ?? 0;
    if (family !== 0 && family !== 4 && family !== 6) throw new UsageError('ERR_DNS_OPTION', 'dns: family must be 0, 4 or 6', { family });
    const prefer = opts.prefer ?? this.prefer;
    if (prefer !== 'ipv4' && prefer !== 'ipv6') throw new UsageError('ERR_DNS_OPTION', "dns: prefer must be 'ipv4' or 'ipv6'", { prefer });
    const qname = canonicalName(name);
    if (qname === '.') throw new DnsNameError(name, 'there is no name to look up');
    const req = new Request(cb, prefer, this.dropWaiter);
    this.counters.lookups++;
    const key = `${family}:${qname}`;
    const now = this.loop.nowUs();

    const hit = this.cache.get(key, now);
    if (hit) {
      this.counters.cacheHits++;
      this.deliver(req, qname, hit, 'cache');
      return req;
    }

    const literal = canonicalAddress(qname);
    if (literal) {
      this.counters.numeric++;
      if (family !== 0 && family !== literal.family) {
        this.fail(req, new DnsLookupError('ERR_DNS_NODATA', `dns ${qname}: an IPv${literal.family} literal has no IPv${family} address`, { name: qname, family }));
      } else {
        const a = Object.freeze({ family: literal.family, address: literal.address, ttl: 0 });
        this.deliverFixed(req, qname, [a], 'numeric');
      }
      return req;
    }

    const fromHosts = this.hostsByName.get(qname)?.filter((a) => family === 0 || a.family === family);
    if (fromHosts?.length) {
      this.counters.hosts++;
      this.deliverFixed(req, qname, fromHosts, 'hosts');
      return req;
    }

    const flight = this.flights.get(key);
    if (flight) {
      this.counters.joined++;
      req.flight = flight;
      flight.waiters.add(req);
      return req;
    }

    if (this.table.size === 0) {
      this.fail(req, new DnsLookupError('ERR_DNS_NO_SERVERS', `dns ${qname}: no name servers configured`, { name: qname }));
      return req;
    }
    const f: Flight = {
      key,
      waiters: new Set([req]),
      lookup: new DnsLookup(this.deps, qname, family, (r) => this.landed(f, qname, r)),
    };
    req.flight = f;
    this.flights.set(key, f);
    f.lookup.start();
    return req;
  }

  lookup(name: string, opts?: DnsLookupOptions): Promise<DnsResult> {
    return new Promise((resolve, reject) => {
      try {
        this.resolve(name, (e, r) => (e ? reject(e) : resolve(r as DnsResult)), opts);
      } catch (e) {
        reject(e);
      }
    });
  }

  /** The first address (preferred family first) of `name`, for clients that connect to one. */
  async lookupAddress(name: string, opts?: DnsLookupOptions): Promise<string> {
    const r = await this.lookup(name, opts);
    const first = r.addresses[0] as DnsAddress;
    r.release();
    return first.address;
  }

  /** Fails every pending lookup with ERR_DNS_DESTROYED and closes the sockets. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const flights = [...this.flights.values()];
    this.flights.clear();
    for (const f of flights) {
      f.lookup.cancel();
      const e = new DnsLookupError('ERR_DNS_DESTROYED', `dns ${f.lookup.name}: the resolver was destroyed`, { name: f.lookup.name });
      for (const w of f.waiters) this.fail(w, e);
    }
    this.transport.close();
    this.cache.clear();
  }

  /** A request was cancelled: forget it, and abandon its lookup if nobody else waits. */
  private readonly dropWaiter = (req: Request): void => {
    const f = req.flight;
    if (!f) return;
    f.waiters.delete(req);
    if (f.waiters.size === 0 && this.flights.get(f.key) === f) {
      this.flights.delete(f.key);
      f.lookup.cancel();
    }
  };

  private landed(f: Flight, qname: string, r: LookupResult): void {
    if (this.flights.get(f.key) !== f) return;
    this.flights.delete(f.key);
    const now = this.loop.nowUs();
    if (r.kind === 'error') {
      this.loop.logger.info('dns', r.error.message, { code: r.error.code });
      for (const w of f.waiters) this.fail(w, r.error);
      return;
    }
    let entry: DnsCacheEntry;
    if (r.kind === 'negative') {
      const value: DnsCacheValue = { kind: 'negative', code: r.code };
      entry = r.ttl === undefined ? new DnsCacheEntry(f.key, value, now) : this.cache.put(f.key, value, now + Math.min(r.ttl, this.maxNegativeTtlS) * 1e6, now);
    } else {
      const value: DnsAnswer = { kind: 'addresses', canonicalName: r.canonicalName, v4: Object.freeze(r.v4), v6: Object.freeze(r.v6) };
      const expires = now + Math.min(r.ttl, this.maxTtlS) * 1e6;
      if (r.complete) entry = this.cache.put(f.key, value, expires, now);
      else {
        this.counters.partial++;
        this.loop.logger.info('dns', `${qname}: one family failed; delivering the other, uncached`);
        entry = new DnsCacheEntry(f.key, value, expires);
      }
    }
    for (const w of f.waiters) this.deliver(w, qname, entry, 'network');
  }

  private deliver(req: Request, qname: string, entry: DnsCacheEntry, source: DnsResultSource): void {
    const v = entry.value;
    if (v.kind === 'negative') {
      const what = v.code === 'ERR_DNS_NXDOMAIN' ? 'does not exist' : 'has no address of the asked family';
      this.fail(req, new DnsLookupError(v.code, `dns ${qname}: ${what}`, { name: qname, cached: source === 'cache' }));
      return;
    }
    this.call(req, undefined, new Result(this.cache, entry, qname, v, source, req.prefer));
  }

  private deliverFixed(req: Request, qname: string, addresses: readonly DnsAddress[], source: 'numeric' | 'hosts'): void {
    const answer: DnsAnswer = {
      kind: 'addresses',
      canonicalName: qname,
      v4: addresses.filter((a) => a.family === 4),
      v6: addresses.filter((a) => a.family === 6),
    };
    this.deliver(req, qname, new DnsCacheEntry(`${source}:${qname}`, answer, Infinity), source);
  }

  private fail(req: Request, e: DnsLookupError): void {
    this.counters.failures++;
    this.call(req, e, undefined);
  }

  /** Runs one callback; one that throws is logged and does not stop the others. */
  private call(req: Request, e: DnsLookupError | undefined, r: DnsResult | undefined): void {
    try {
      req.finish(e, r);
    } catch (err) {
      this.loop.logger.err('dns', `lookup callback threw: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}
