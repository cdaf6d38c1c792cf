/**
 * The DNS resolver's typed failures. Three kinds, because a caller reacts differently to each:
 *  - DnsParseError: bytes on the wire that are not a DNS message (the codec's only exception);
 *  - DnsNameError: a name or address the caller gave that cannot be asked (a usage error);
 *  - DnsLookupError: the lookup ran and failed; `code` says how, `detail.name` says for what.
 */
import { DecodeError, LwsxError, UsageError } from '../../util/errors.js';

/** Malformed DNS message bytes; `detail.offset` is where decoding stopped, `detail.field` what it was reading. */
export class DnsParseError extends DecodeError {
  constructor(message: string, offset: number, field: string) {
    super('ERR_DNS_PARSE', `dns: ${message} at offset ${offset}`, { offset, field });
  }
}

/** A name that is not a valid DNS name (empty label, label over 63 bytes, name over 255 bytes, non-ASCII). */
export class DnsNameError extends UsageError {
  constructor(name: string, why: string) {
    super('ERR_DNS_NAME', `dns: "${name}" is not a valid name: ${why}`, { name, why });
  }
}

/**
 * Every way a lookup can end without addresses. The codes are stable; `detail` always has
 * `name` (as asked) and, where known, `server`, `rcode`, `qtype`, `transmissions`.
 */
export type DnsLookupCode =
  /** the name does not exist (rcode 3) */
  | 'ERR_DNS_NXDOMAIN'
  /** the name exists but has no address of the asked family */
  | 'ERR_DNS_NODATA'
  /** the server failed (rcode 2) */
  | 'ERR_DNS_SERVFAIL'
  /** the server refused (rcode 5): e.g. a name outside its zones and no recursion */
  | 'ERR_DNS_REFUSED'
  /** any other error rcode (FORMERR, NOTIMP, …), in detail.rcode */
  | 'ERR_DNS_RCODE'
  /** every transmission went unanswered */
  | 'ERR_DNS_TIMEOUT'
  /** the server we asked answered with something that is not a valid answer to our question */
  | 'ERR_DNS_MALFORMED'
  /** the TCP retry of a truncated answer could not connect or was cut short */
  | 'ERR_DNS_TCP'
  /** more CNAME restarts than allowed, or a CNAME loop */
  | 'ERR_DNS_CNAME_DEPTH'
  /** the UDP socket could not be opened or written */
  | 'ERR_DNS_SOCKET'
  /** nobody to ask: no server from DHCP, the board or resolv.conf */
  | 'ERR_DNS_NO_SERVERS'
  /** the resolver was destroyed while the lookup was pending */
  | 'ERR_DNS_DESTROYED';

export class DnsLookupError extends LwsxError {
  declare readonly code: DnsLookupCode;

  constructor(code: DnsLookupCode, message: string, detail: Record<string, unknown>, cause?: unknown) {
    super(code, message, detail, cause);
  }
}

/** rcode → the lookup error code it maps to (NOERROR is not an error). */
export function rcodeError(rcode: number): DnsLookupCode {
  switch (rcode) {
    case 2:
      return 'ERR_DNS_SERVFAIL';
    case 3:
      return 'ERR_DNS_NXDOMAIN';
    case 5:
      return 'ERR_DNS_REFUSED';
    default:
      return 'ERR_DNS_RCODE';
  }
}
