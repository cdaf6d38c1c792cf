/**
 * The machine's network interfaces as NetIf records (coldplug input). os.networkInterfaces()
 * lists only interfaces that are up and hold an address, so every entry is `up`.
 */
import { networkInterfaces } from 'node:os';
import type { NetIf, NetIfAddress } from '../../src/net/host.js';

/** Bits set in a dotted or colon netmask ("255.255.255.0" → 24, "ffff:ffff::" → 32). */
export function prefixFromNetmask(netmask: string): number {
  let bits = 0;
  if (netmask.includes(':')) {
    const [head = '', tail = ''] = netmask.split('::');
    const groups = [...(head ? head.split(':') : []), ...(tail ? tail.split(':') : [])];
    for (const g of groups) bits += popcount(parseInt(g, 16) || 0);
  } else {
    for (const o of netmask.split('.')) bits += popcount(Number(o) || 0);
  }
  return bits;
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v; v &= v - 1) c++;
  return c;
}

export function nodeInterfaces(): NetIf[] {
  const out: NetIf[] = [];
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    if (!infos || infos.length === 0) continue;
    const addresses: NetIfAddress[] = [];
    for (const i of infos) {
      // Node 18.0-18.3 reported the family as a number
      const fam = String(i.family);
      const family = fam === 'IPv6' || fam === '6' ? 'IPv6' : 'IPv4';
      const slash = i.cidr?.lastIndexOf('/') ?? -1;
      const prefixLength = i.cidr && slash >= 0 ? Number(i.cidr.slice(slash + 1)) : prefixFromNetmask(i.netmask);
      addresses.push({ family, address: i.address, prefixLength });
    }
    out.push({ name, mac: (infos[0] as { mac: string }).mac.toLowerCase(), up: true, addresses });
  }
  return out;
}
