/**
 * IP address literals: strict parsing and canonical text, for numeric lookups ("10.0.0.1" and
 * "::1" resolve to themselves without a query), A/AAAA record data and server addresses.
 *
 * Parsing is inet_pton's, not inet_aton's: IPv4 is exactly four decimal octets without leading
 * zeros ("010.1.1.1" is refused rather than read as octal, "10.1" rather than as 10.0.0.1), so a
 * host name can never be mistaken for an address. IPv6 takes RFC 4291 text (one "::", an
 * optional trailing dotted quad) and no zone index. Output is RFC 5952: lower case, the longest
 * run of two or more zero groups (the first on a tie) as "::", IPv4-mapped addresses with the
 * dotted quad.
 */

/** 4 bytes, or undefined when `s` is not a strict dotted quad. */
export function parseIPv4(s: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return parseIPv4Into(s, 0, s.length, out, 0) ? out : undefined;
}

function parseIPv4Into(s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 0x2e; // a virtual "." closes the last octet
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return false; // leading zero
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return false;
      digits++;
    } else if (c === 0x2e) {
      if (digits === 0 || parts === 4) return false;
      out[at + parts++] = octet;
      octet = 0;
      digits = 0;
    } else return false;
  }
  return parts === 4;
}

/** 16 bytes, or undefined when `s` is not an IPv6 literal. */
export function parseIPv6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const n = s.length;
  if (n < 2 || n > 45) return undefined;
  let group = 0; // 16-bit groups written so far
  let gap = -1; // group index where "::" stands
  let i = 0;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return undefined; // a lone leading ":"
    gap = 0;
    i = 2;
    if (i === n) return out; // "::"
  }
  while (i < n) {
    if (group === 8) return undefined;
    // a dotted quad may end the address in place of the last two groups
    let j = i;
    let v = 0;
    while (j < n && j - i < 5) {
      const d = hexDigit(s.charCodeAt(j));
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 0x2e) {
      if (group > 6 || !parseIPv4Into(s, i, n, out, group * 2)) return undefined;
      group += 2;
      i = n;
      break;
    }
    if (j === i || j - i > 4) return undefined;
    out[group * 2] = v >> 8;
    out[group * 2 + 1] = v & 0xff;
    group++;
    i = j;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x3a) return undefined;
    i++;
    if (i < n && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return undefined; // a second "::"
      gap = group;
      i++;
      if (i === n) break;
    } else if (i === n) return undefined; // a trailing single ":"
  }
  if (gap < 0) return group === 8 ? out : undefined;
  if (group === 8) return undefined; // "::" must stand for at least one group
  // slide the groups after the gap to the end
  const tail = (group - gap) * 2;
  out.copyWithin(16 - tail, gap * 2, group * 2);
  out.fill(0, gap * 2, 16 - tail);
  return out;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text of the 16 bytes at `at`. */
export function formatIPv6(b: Uint8Array, at = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[at + 2 * i] as number) << 8) | (b[at + 2 * i + 1] as number));
  // ::ffff:a.b.c.d (IPv4-mapped) keeps its dotted quad (RFC 5952 section 5)
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, at + 12)}`;
  }
  let best = -1;
  let bestLen = 1; // a single zero group is never shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** The canonical text of an address literal and its family, or undefined for anything else. */
export function canonicalAddress(s: string): { family: 4 | 6; address: string } | undefined {
  const v4 = parseIPv4(s);
  if (v4) return { family: 4, address: formatIPv4(v4) };
  const v6 = parseIPv6(s);
  if (v6) return { family: 6, address: formatIPv6(v6) };
  return undefined;
}
