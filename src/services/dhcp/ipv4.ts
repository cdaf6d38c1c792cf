/**
 * IPv4 addresses as unsigned 32-bit numbers, the form DHCP carries them in, and the subnet
 * arithmetic the lease checks need. Dotted quads only at the edges (logs, InterfaceConfig).
 */
import { UsageError } from '../../util/errors.js';

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Strict dotted quad ("10.0.0.1"); anything else is ERR_IPV4_ADDRESS. */
export function ipv4FromString(s: string): number {
  const m = typeof s === 'string' ? QUAD.exec(s) : null;
  if (m) {
    let v = 0;
    let ok = true;
    for (let i = 1; i <= 4; i++) {
      const part = m[i] as string;
      const n = Number(part);
      if (n > 255 || (part.length > 1 && part[0] === '0')) ok = false;
      v = v * 256 + n;
    }
    if (ok) return v;
  }
  throw new UsageError('ERR_IPV4_ADDRESS', `"${String(s)}" is not a dotted-quad IPv4 address`, { address: s });
}

/** The prefix length of a contiguous netmask, or -1 when the mask has holes. */
export function prefixFromMask(mask: number): number {
  const inv = ~mask >>> 0;
  // contiguous ones then zeros: the inverted mask is 2^k - 1
  if ((inv & (inv + 1)) !== 0) return -1;
  let len = 32;
  for (let v = inv; v; v >>>= 1) len--;
  return len;
}

export function maskFromPrefix(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The pre-CIDR class default (A /8, B /16, C /24), for a lease that gives no subnet mask. */
export function classfulPrefix(a: number): number {
  const top = a >>> 24;
  if (top < 128) return 8;
  if (top < 192) return 16;
  return 24;
}

/**
 * Could this be a host's unicast address? Not 0.0.0.0/8 ("this network"), not loopback, not
 * multicast, not class E and not the limited broadcast.
 */
export function isUnicastHost(a: number): boolean {
  const top = a >>> 24;
  return top !== 0 && top !== 127 && top < 224;
}

export function sameSubnet(a: number, b: number, prefix: number): boolean {
  const m = maskFromPrefix(prefix);
  return ((a & m) >>> 0) === ((b & m) >>> 0);
}

/** "aa:bb:cc:dd:ee:ff" (or with dashes) to 6 bytes; anything else is ERR_DHCP_MAC. */
export function macFromString(s: string): Uint8Array {
  const parts = typeof s === 'string' ? s.split(/[:-]/) : [];
  const out = new Uint8Array(6);
  if (parts.length === 6 && parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
    parts.forEach((p, i) => (out[i] = parseInt(p, 16)));
    return out;
  }
  throw new UsageError('ERR_DHCP_MAC', `"${String(s)}" is not a MAC address like aa:bb:cc:dd:ee:ff`, { mac: s });
}
