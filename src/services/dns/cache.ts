/**
 * The resolver's cache: a small LRU of answers keyed by "family:name", each expiring at the
 * minimum TTL of the records it was built from (negative answers at their SOA-derived TTL).
 * libwebsockets never expires its DNS cache; this one does.
 *
 * Entries are reference-counted, as lws's are: every result handed to a caller holds its entry
 * until the caller releases it, and a held entry is never evicted to make room. When every
 * entry is held, a new answer is still delivered but not cached, so the cache never grows past
 * its bound. An expired entry stops being found at once; whoever holds it keeps its (immutable)
 * data until they release it.
 */
import type { DnsLookupCode } from './errors.js';

export interface DnsAddress {
  family: 4 | 6;
  /** canonical address text */
  address: string;
  /** seconds the record said it may be cached for (0 for hosts entries and literals) */
  ttl: number;
}

/** What a successful lookup found. */
export interface DnsAnswer {
  readonly kind: 'addresses';
  /** the name the addresses belong to, after CNAMEs */
  readonly canonicalName: string;
  /** in the order the server(s) gave them */
  readonly v4: readonly DnsAddress[];
  readonly v6: readonly DnsAddress[];
}

/** An authoritative "no": the name does not exist, or has no address of the asked family. */
export interface DnsNegative {
  readonly kind: 'negative';
  readonly code: Extract<DnsLookupCode, 'ERR_DNS_NXDOMAIN' | 'ERR_DNS_NODATA'>;
}

export type DnsCacheValue = DnsAnswer | DnsNegative;

export class DnsCacheEntry {
  refs = 0;
  /** false once it is out of the cache (evicted, expired, replaced, or never cached) */
  cached = false;

  constructor(
    readonly key: string,
    readonly value: DnsCacheValue,
    /** monotonic µs */
    readonly expiresUs: number,
  ) {}
}

export interface DnsCacheStats {
  hits: number;
  misses: number;
  inserts: number;
  evictions: number;
  expirations: number;
  /** answers delivered but not cached because every entry was held */
  uncachedFull: number;
}

export class DnsCache {
  /** insertion order is recency order: the first entry is the least recently used */
  private readonly map = new Map<string, DnsCacheEntry>();
  readonly stats: DnsCacheStats = { hits: 0, misses: 0, inserts: 0, evictions: 0, expirations: 0, uncachedFull: 0 };

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The live entry for `key`, made most recently used; an expired one is dropped. */
  get(key: string, nowUs: number): DnsCacheEntry | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.stats.misses++;
      return undefined;
    }
    this.map.delete(key);
    if (e.expiresUs <= nowUs) {
      e.cached = false;
      this.stats.expirations++;
      this.stats.misses++;
      return undefined;
    }
    this.map.set(key, e);
    this.stats.hits++;
    return e;
  }

  /**
   * Caches `value` until `expiresUs` and returns its entry. The entry is detached (delivered
   * but not cached) when it is already expired, the capacity is 0, or every entry is held.
   */
  put(key: string, value: DnsCacheValue, expiresUs: number, nowUs: number): DnsCacheEntry {
    const entry = new DnsCacheEntry(key, value, expiresUs);
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      old.cached = false;
    }
    if (expiresUs <= nowUs || this.capacity === 0) return entry;
    if (this.map.size >= this.capacity && !this.evictOne(nowUs)) {
      this.stats.uncachedFull++;
      return entry;
    }
    entry.cached = true;
    this.map.set(key, entry);
    this.stats.inserts++;
    return entry;
  }

  acquire(e: DnsCacheEntry): void {
    e.refs++;
  }

  release(e: DnsCacheEntry): void {
    if (e.refs > 0) e.refs--;
  }

  clear(): void {
    for (const e of this.map.values()) e.cached = false;
    this.map.clear();
  }

  /** Makes room: an expired unheld entry if there is one, else the least recently used unheld one. */
  private evictOne(nowUs: number): boolean {
    let victim: DnsCacheEntry | undefined;
    for (const e of this.map.values()) {
      if (e.refs > 0) continue;
      if (e.expiresUs <= nowUs) {
        victim = e;
        this.stats.expirations++;
        break;
      }
      victim ??= e;
    }
    if (!victim) return false;
    if (victim.expiresUs > nowUs) this.stats.evictions++;
    this.map.delete(victim.key);
    victim.cached = false;
    return true;
  }
}
