/**
 * The DHCP client's typed failures. A packet that is not well-formed DHCP is a DhcpParseError
 * naming the byte offset; a well-formed reply whose lease cannot be used as given (an address
 * that is not a host address, a router off the subnet…) is a DhcpLeaseError naming the field.
 */
import { LwsxError } from '../../util/errors.js';

/** Bytes that are not a well-formed BOOTP/DHCP message. `detail.offset` is where it went wrong. */
export class DhcpParseError extends LwsxError {
  constructor(offset: number, why: string, detail: Record<string, unknown> = {}) {
    super('ERR_DHCP_PARSE', `dhcp: ${why} (offset ${offset})`, { offset, ...detail });
  }
}

/** A reply that parses but whose lease is inconsistent. `detail.field` names what is wrong. */
export class DhcpLeaseError extends LwsxError {
  constructor(field: string, why: string, value?: unknown) {
    super('ERR_DHCP_LEASE', `dhcp: lease rejected: ${field} ${why}`, { field, value });
  }
}
