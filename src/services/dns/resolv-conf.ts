/**
 * resolv.conf(5), for the one thing the resolver takes from it: the "nameserver ADDRESS" lines,
 * in order. The host-sim board reads /etc/resolv.conf and hands the result to
 * `DnsResolver.setServers(list, 'resolv.conf')`; parsing is text in, addresses out, engine-neutral.
 *
 * Like glibc, a line must start with the keyword, "#" and ";" start comments, anything after the
 * address is ignored, and an entry that is not an IP literal (a zone index such as "fe80::1%eth0"
 * included) is skipped. glibc stops at three servers (MAXNS); we keep them all, since failing
 * over costs us nothing more than a longer list.
 */
import { canonicalAddress } from './address.js';

export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(/[ \t\r]+/);
    if (fields[0] !== 'nameserver' || fields.length < 2) continue;
    const addr = canonicalAddress(fields[1] as string);
    if (addr && !out.includes(addr.address)) out.push(addr.address);
  }
  return out;
}
