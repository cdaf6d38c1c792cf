/**
 * The station interface as Moddable's `net` module knows it. Net reports the address but no
 * netmask, so the prefix is given as a host route (/32 for IPv4, /128 for IPv6): it claims
 * nothing about which other addresses are on-link. A device with no MAC yet (radio off) has no
 * interface to report.
 */
import Net from 'net';
import type { NetIf } from '../../src/net/host.js';

export function xsInterfaces(): NetIf[] {
  const mac = Net.get('MAC') as string | undefined;
  if (typeof mac !== 'string' || mac.length === 0) return [];
  const ip = Net.get('IP') as string | undefined;
  const has = typeof ip === 'string' && ip.length > 0 && ip !== '0.0.0.0';
  const v6 = has && ip.includes(':');
  return [{
    name: 'sta',
    mac: mac.toLowerCase(),
    up: has,
    addresses: has ? [{ family: v6 ? 'IPv6' : 'IPv4', address: ip, prefixLength: v6 ? 128 : 32 }] : [],
  }];
}
