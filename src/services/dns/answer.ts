/**
 * What a decoded reply says about one question (name, A or AAAA): addresses, a CNAME to chase,
 * an authoritative "no", or an error rcode. Pure: a message in, an outcome out.
 *
 * CNAMEs are followed inside the answer section first (a recursive server normally includes the
 * whole chain and the target's records). If the chain ends at a name with no records of the
 * asked type and no SOA says that is final, the caller restarts the question at that name.
 * TTLs with the top bit set count as 0 (RFC 2181 section 8); negative answers take
 * min(SOA TTL, SOA minimum) (RFC 2308 section 5) and are not cacheable without an SOA.
 */
import { DnsClass, DnsRcode, DnsType, rcodeOf } from './codec.js';
import type { DnsMessage, DnsRecord, DnsSoa } from './codec.js';
import type { DnsLookupCode } from './errors.js';
import { rcodeError } from './errors.js';
import { lowerAscii } from './name.js';

export type DnsOutcome =
  | {
      kind: 'addresses';
      /** the owner of the address records (the last name of the chain) */
      canonicalName: string;
      addresses: { address: string; ttl: number }[];
      /** the smallest TTL of everything used: the chain's CNAMEs and the address records */
      ttl: number;
    }
  | {
      kind: 'cname';
      /** the name the chain ended at: ask again there */
      target: string;
      /** the smallest CNAME TTL on the way */
      ttl: number;
    }
  | {
      kind: 'negative';
      code: 'ERR_DNS_NXDOMAIN' | 'ERR_DNS_NODATA';
      canonicalName: string;
      /** how long the "no" may be cached; undefined without an SOA */
      negativeTtl: number | undefined;
    }
  | { kind: 'error'; code: DnsLookupCode; rcode: number };

export function ttlOf(r: DnsRecord): number {
  return r.ttl > 0x7fffffff ? 0 : r.ttl;
}

function sameName(a: string, b: string): boolean {
  return a === b || lowerAscii(a) === lowerAscii(b);
}

/** `qname` is the canonical (lower-case) name asked; `qtype` is DnsType.A or DnsType.AAAA. */
export function interpretAnswer(msg: DnsMessage, qname: string, qtype: number): DnsOutcome {
  const rcode = rcodeOf(msg);
  if (rcode !== DnsRcode.NOERROR && rcode !== DnsRcode.NXDOMAIN) return { kind: 'error', code: rcodeError(rcode), rcode };

  let current = qname;
  let chainTtl = Infinity;
  const visited = new Set<string>([qname]);
  // each CNAME record can be used once, so the walk ends within answers.length steps
  for (let hops = 0; hops < msg.answers.length; hops++) {
    const c = msg.answers.find((r) => r.type === DnsType.CNAME && r.class === DnsClass.IN && sameName(r.name, current));
    if (!c) break;
    const target = lowerAscii(c.data as string);
    if (visited.has(target)) return { kind: 'error', code: 'ERR_DNS_CNAME_DEPTH', rcode };
    visited.add(target);
    chainTtl = Math.min(chainTtl, ttlOf(c));
    current = target;
  }

  const addresses: { address: string; ttl: number }[] = [];
  let ttl = chainTtl;
  for (const r of msg.answers) {
    if (r.type !== qtype || r.class !== DnsClass.IN || !sameName(r.name, current)) continue;
    const address = r.data as string;
    const t = ttlOf(r);
    ttl = Math.min(ttl, t);
    if (!addresses.some((a) => a.address === address)) addresses.push({ address, ttl: t });
  }
  if (addresses.length) return { kind: 'addresses', canonicalName: current, addresses, ttl };

  const soa = msg.authorities.find((r) => r.type === DnsType.SOA && r.class === DnsClass.IN);
  const negativeTtl = soa ? Math.min(ttlOf(soa), (soa.data as DnsSoa).minimum) : undefined;
  if (rcode === DnsRcode.NXDOMAIN) return { kind: 'negative', code: 'ERR_DNS_NXDOMAIN', canonicalName: current, negativeTtl };
  // a chain that stops short with no SOA may just not have been chased by the server
  if (current !== qname && !soa) return { kind: 'cname', target: current, ttl: chainTtl };
  return { kind: 'negative', code: 'ERR_DNS_NODATA', canonicalName: current, negativeTtl };
}
