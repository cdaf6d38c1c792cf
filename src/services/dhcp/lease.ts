/**
 * A lease: what an OFFER or ACK gives, checked for consistency before anything is applied.
 *
 * A reply is rejected (DhcpLeaseError, field named) when it could not work as given:
 *  - yiaddr is not a host unicast address, or is the network or broadcast address of its subnet;
 *  - there is no server identifier (RFC 2131 makes it a MUST) or it is not a unicast address;
 *  - there is no lease time (a MUST in OFFER and ACK), or it is 0;
 *  - the subnet mask has holes;
 *  - a router is outside the subnet, is our own address, or is not unicast (without classless
 *    static routes, which we do not ask for, an off-subnet gateway is unreachable).
 * Softer faults are repaired, not rejected: no mask means the classful default (as BSD and
 * udhcpc do); DNS and NTP entries that are not unicast are dropped (reported to `warn`); T1/T2
 * that are not 0 < T1 < T2 < lease fall back to RFC 2131's 0.5 and 0.875 of the lease.
 */
import { DhcpLeaseError } from './errors.js';
import { classfulPrefix, ipv4ToString, isUnicastHost, maskFromPrefix, prefixFromMask, sameSubnet } from './ipv4.js';
import type { DhcpPacket } from './packet.js';

/** Lease time 0xffffffff: never expires, never renews (RFC 2132 §9.2). */
export const DHCP_INFINITE_LEASE = 0xffffffff;

export interface DhcpLease {
  address: string;
  prefixLength: number;
  subnetMask: string;
  /** in the server's order of preference; the first is the default gateway */
  routers: string[];
  dns: string[];
  ntp: string[];
  domain?: string;
  serverId: string;
  /** seconds; DHCP_INFINITE_LEASE for a lease that never expires */
  leaseSecs: number;
  /** seconds after startUs to renew (RENEWING) and to rebind (REBINDING); may be fractional */
  t1Secs: number;
  t2Secs: number;
  /** monotonic µs when the request this lease answers was first sent: the lease counts from it */
  startUs: number;
}

export type LeaseWarn = (field: string, why: string, value: string) => void;

function hostList(field: string, list: number[] | undefined, warn: LeaseWarn | undefined): string[] {
  const out: string[] = [];
  (list ?? []).forEach((a, i) => {
    if (isUnicastHost(a)) out.push(ipv4ToString(a));
    else warn?.(`${field}[${i}]`, 'is not a unicast address: ignored', ipv4ToString(a));
  });
  return out;
}

/** The lease in `p` (an OFFER or ACK), counted from `startUs`; throws DhcpLeaseError. */
export function leaseFromReply(p: DhcpPacket, startUs: number, warn?: LeaseWarn): DhcpLease {
  const o = p.options;
  const yi = p.yiaddr;
  if (!isUnicastHost(yi)) throw new DhcpLeaseError('yiaddr', 'is not a host unicast address', ipv4ToString(yi));
  if (o.serverId === undefined) throw new DhcpLeaseError('serverId', 'is missing (option 54)');
  if (!isUnicastHost(o.serverId)) throw new DhcpLeaseError('serverId', 'is not a unicast address', ipv4ToString(o.serverId));
  if (o.leaseSecs === undefined) throw new DhcpLeaseError('leaseSecs', 'is missing (option 51)');
  if (o.leaseSecs === 0) throw new DhcpLeaseError('leaseSecs', 'is 0', 0);

  let prefix: number;
  if (o.subnetMask === undefined) prefix = classfulPrefix(yi);
  else {
    prefix = prefixFromMask(o.subnetMask);
    if (prefix < 1) throw new DhcpLeaseError('subnetMask', 'is not a contiguous netmask of 1 to 32 bits', ipv4ToString(o.subnetMask));
  }
  if (prefix <= 30) {
    const host = (yi & ~maskFromPrefix(prefix)) >>> 0;
    const all = ~maskFromPrefix(prefix) >>> 0;
    if (host === 0 || host === all) throw new DhcpLeaseError('yiaddr', `is the network or broadcast address of its /${prefix}`, ipv4ToString(yi));
  }
  (o.routers ?? []).forEach((r, i) => {
    if (!isUnicastHost(r) || r === yi || !sameSubnet(r, yi, prefix)) {
      throw new DhcpLeaseError(`routers[${i}]`, `is not another host on ${ipv4ToString((yi & maskFromPrefix(prefix)) >>> 0)}/${prefix}`, ipv4ToString(r));
    }
  });

  const lease = o.leaseSecs;
  let t1: number;
  let t2: number;
  if (lease === DHCP_INFINITE_LEASE) {
    t1 = t2 = DHCP_INFINITE_LEASE;
  } else {
    t2 = o.t2Secs !== undefined && o.t2Secs > 0 && o.t2Secs < lease ? o.t2Secs : (lease * 7) / 8;
    if (o.t2Secs !== undefined && t2 !== o.t2Secs) warn?.('t2Secs', 'is not below the lease time: using 0.875 of the lease', String(o.t2Secs));
    // half the lease, unless the server's own T2 comes before that
    const t1Default = lease / 2 < t2 ? lease / 2 : t2 / 2;
    t1 = o.t1Secs !== undefined && o.t1Secs > 0 && o.t1Secs < t2 ? o.t1Secs : t1Default;
    if (o.t1Secs !== undefined && t1 !== o.t1Secs) warn?.('t1Secs', 'is not between 0 and T2: using the default', String(o.t1Secs));
  }

  const out: DhcpLease = {
    address: ipv4ToString(yi),
    prefixLength: prefix,
    subnetMask: ipv4ToString(maskFromPrefix(prefix)),
    routers: (o.routers ?? []).map(ipv4ToString),
    dns: hostList('dns', o.dns, warn),
    ntp: hostList('ntp', o.ntp, warn),
    serverId: ipv4ToString(o.serverId),
    leaseSecs: lease,
    t1Secs: t1,
    t2Secs: t2,
    startUs,
  };
  if (o.domainName !== undefined) out.domain = o.domainName;
  return out;
}
