/**
 * The hosts file (hosts(5)): "ADDRESS NAME [ALIAS...]" per line, "#" starts a comment. The
 * board hands the resolver a list of entries; the host-sim board reads /etc/hosts and parses it
 * with this, which is plain text in, entries out, so it runs on the device too.
 *
 * As glibc's files backend does, a line whose address is not an IP literal (or carries a zone
 * index such as "fe80::1%lo") is skipped rather than failing the whole file, and so is a name
 * that is not a valid DNS name.
 */
import { canonicalAddress } from './address.js';
import { DnsNameError } from './errors.js';
import { canonicalName } from './name.js';

export interface HostsEntry {
  /** canonical: lower case, no trailing dot */
  name: string;
  family: 4 | 6;
  /** canonical address text */
  address: string;
}

export function parseHosts(text: string): HostsEntry[] {
  const out: HostsEntry[] = [];
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const fields = (hash >= 0 ? raw.slice(0, hash) : raw).trim().split(/[ \t\r]+/);
    if (fields.length < 2) continue;
    const addr = canonicalAddress(fields[0] as string);
    if (!addr) continue;
    for (let i = 1; i < fields.length; i++) {
      let name: string;
      try {
        name = canonicalName(fields[i] as string);
      } catch (e) {
        if (e instanceof DnsNameError) continue;
        throw e;
      }
      out.push({ name, family: addr.family, address: addr.address });
    }
  }
  return out;
}
