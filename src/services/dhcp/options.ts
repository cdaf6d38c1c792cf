/**
 * DHCP options (RFC 2132): the codes this client speaks, their typed form, and the strict
 * decoding of the concatenated option values the packet codec collects (RFC 3396: an option
 * that appears more than once is one value split in parts, so a duplicated message type is a
 * length error, not a second opinion).
 */
import { UsageError } from '../../util/errors.js';
import { DhcpParseError } from './errors.js';

export const DhcpOpt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVER: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST_ADDRESS: 28,
  NTP_SERVER: 42,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** RFC 2132 §9.6 message types. */
export const DhcpMessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;
export type DhcpMessageType = (typeof DhcpMessageType)[keyof typeof DhcpMessageType];

export const DHCP_MESSAGE_TYPE_NAMES = ['', 'DISCOVER', 'OFFER', 'REQUEST', 'DECLINE', 'ACK', 'NAK', 'RELEASE', 'INFORM'] as const;

/** What the client asks for: mask, router, DNS, domain, NTP, lease, server id, T1, T2. */
export const DHCP_PARAMETER_REQUEST_LIST: readonly number[] = [1, 3, 6, 15, 42, 51, 54, 58, 59];

/** The typed options of one message. Addresses are u32; absent means the option was not sent. */
export interface DhcpOptions {
  messageType: DhcpMessageType;
  subnetMask?: number;
  routers?: number[];
  dns?: number[];
  hostname?: string;
  domainName?: string;
  broadcastAddress?: number;
  ntp?: number[];
  requestedIp?: number;
  leaseSecs?: number;
  serverId?: number;
  parameterRequestList?: number[];
  message?: string;
  maxMessageSize?: number;
  t1Secs?: number;
  t2Secs?: number;
  clientId?: Uint8Array;
  /** every other option, raw, by code */
  other?: Map<number, Uint8Array>;
}

/** One option's value as collected from the packet, and where its first part started. */
export interface RawOption {
  offset: number;
  data: Uint8Array;
}

function u32(d: Uint8Array, i: number): number {
  return (d[i] as number) * 0x1000000 + (((d[i + 1] as number) << 16) | ((d[i + 2] as number) << 8) | (d[i + 3] as number));
}

function fail(code: number, o: RawOption, why: string): never {
  throw new DhcpParseError(o.offset, `option ${code} ${why}`, { option: code, length: o.data.length });
}

function addr(code: number, o: RawOption): number {
  if (o.data.length !== 4) fail(code, o, 'must be 4 bytes');
  return u32(o.data, 0);
}

function addrList(code: number, o: RawOption): number[] {
  const n = o.data.length;
  if (n === 0 || n % 4 !== 0) fail(code, o, 'must be a non-empty list of 4-byte addresses');
  const out: number[] = [];
  for (let i = 0; i < n; i += 4) out.push(u32(o.data, i));
  return out;
}

/** NVT ASCII text; trailing NULs (some servers C-terminate) are not part of it. */
function text(code: number, o: RawOption): string {
  let end = o.data.length;
  while (end > 0 && o.data[end - 1] === 0) end--;
  if (end === 0) fail(code, o, 'must hold at least one character');
  let s = '';
  for (let i = 0; i < end; i++) s += String.fromCharCode(o.data[i] as number);
  return s;
}

/**
 * Types every option this client knows, checking each length against RFC 2132. Unknown
 * options are kept raw. Throws DhcpParseError at the option's offset.
 */
export function decodeOptions(raw: Map<number, RawOption>, messageTypeOffset: number): DhcpOptions {
  const mt = raw.get(DhcpOpt.MESSAGE_TYPE);
  if (!mt) throw new DhcpParseError(messageTypeOffset, 'no message type option (53): BOOTP, not DHCP');
  if (mt.data.length !== 1) fail(DhcpOpt.MESSAGE_TYPE, mt, 'must be 1 byte');
  const type = mt.data[0] as number;
  if (type < DhcpMessageType.DISCOVER || type > DhcpMessageType.INFORM) fail(DhcpOpt.MESSAGE_TYPE, mt, `has unknown message type ${type}`);
  const out: DhcpOptions = { messageType: type as DhcpMessageType };
  for (const [code, o] of raw) {
    switch (code) {
      case DhcpOpt.MESSAGE_TYPE:
      case DhcpOpt.OVERLOAD: // consumed by the packet codec
        break;
      case DhcpOpt.SUBNET_MASK: out.subnetMask = addr(code, o); break;
      case DhcpOpt.ROUTER: out.routers = addrList(code, o); break;
      case DhcpOpt.DNS_SERVER: out.dns = addrList(code, o); break;
      case DhcpOpt.HOSTNAME: out.hostname = text(code, o); break;
      case DhcpOpt.DOMAIN_NAME: out.domainName = text(code, o); break;
      case DhcpOpt.BROADCAST_ADDRESS: out.broadcastAddress = addr(code, o); break;
      case DhcpOpt.NTP_SERVER: out.ntp = addrList(code, o); break;
      case DhcpOpt.REQUESTED_IP: out.requestedIp = addr(code, o); break;
      case DhcpOpt.LEASE_TIME: out.leaseSecs = addr(code, o); break;
      case DhcpOpt.SERVER_ID: out.serverId = addr(code, o); break;
      case DhcpOpt.PARAMETER_REQUEST_LIST:
        if (o.data.length === 0) fail(code, o, 'must list at least one option');
        out.parameterRequestList = Array.from(o.data);
        break;
      case DhcpOpt.MESSAGE: out.message = text(code, o); break;
      case DhcpOpt.MAX_MESSAGE_SIZE:
        if (o.data.length !== 2) fail(code, o, 'must be 2 bytes');
        out.maxMessageSize = ((o.data[0] as number) << 8) | (o.data[1] as number);
        if (out.maxMessageSize < 576) fail(code, o, 'must be at least 576');
        break;
      case DhcpOpt.RENEWAL_TIME: out.t1Secs = addr(code, o); break;
      case DhcpOpt.REBINDING_TIME: out.t2Secs = addr(code, o); break;
      case DhcpOpt.CLIENT_ID:
        if (o.data.length < 2) fail(code, o, 'must be at least 2 bytes (type and identifier)');
        out.clientId = o.data.slice();
        break;
      default:
        (out.other ??= new Map()).set(code, o.data.slice());
    }
  }
  return out;
}

function addrBytes(list: readonly number[]): Uint8Array {
  const b = new Uint8Array(list.length * 4);
  list.forEach((a, i) => {
    b[i * 4] = a >>> 24;
    b[i * 4 + 1] = a >>> 16;
    b[i * 4 + 2] = a >>> 8;
    b[i * 4 + 3] = a;
  });
  return b;
}

function textBytes(code: number, s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new UsageError('ERR_DHCP_ENCODE', `dhcp: option ${code} text must be single-byte characters`, { field: 'options', option: code });
    b[i] = c;
  }
  return b;
}

/**
 * The options in the order they go on the wire: message type first (what a server reads
 * first), then the ones a client or server is expected to send, then anything else.
 */
export function optionList(o: DhcpOptions): Array<[code: number, data: Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [[DhcpOpt.MESSAGE_TYPE, Uint8Array.of(o.messageType)]];
  const a = (code: number, v: number | undefined): void => {
    if (v !== undefined) out.push([code, addrBytes([v])]);
  };
  const l = (code: number, v: readonly number[] | undefined): void => {
    if (v !== undefined && v.length) out.push([code, addrBytes(v)]);
  };
  const t = (code: number, v: string | undefined): void => {
    if (v !== undefined && v.length) out.push([code, textBytes(code, v)]);
  };
  a(DhcpOpt.SERVER_ID, o.serverId);
  a(DhcpOpt.REQUESTED_IP, o.requestedIp);
  a(DhcpOpt.LEASE_TIME, o.leaseSecs);
  a(DhcpOpt.RENEWAL_TIME, o.t1Secs);
  a(DhcpOpt.REBINDING_TIME, o.t2Secs);
  a(DhcpOpt.SUBNET_MASK, o.subnetMask);
  l(DhcpOpt.ROUTER, o.routers);
  l(DhcpOpt.DNS_SERVER, o.dns);
  t(DhcpOpt.HOSTNAME, o.hostname);
  t(DhcpOpt.DOMAIN_NAME, o.domainName);
  a(DhcpOpt.BROADCAST_ADDRESS, o.broadcastAddress);
  l(DhcpOpt.NTP_SERVER, o.ntp);
  if (o.clientId) out.push([DhcpOpt.CLIENT_ID, o.clientId]);
  if (o.parameterRequestList?.length) out.push([DhcpOpt.PARAMETER_REQUEST_LIST, Uint8Array.from(o.parameterRequestList)]);
  if (o.maxMessageSize !== undefined) out.push([DhcpOpt.MAX_MESSAGE_SIZE, Uint8Array.of(o.maxMessageSize >>> 8, o.maxMessageSize)]);
  t(DhcpOpt.MESSAGE, o.message);
  if (o.other) for (const [code, data] of o.other) out.push([code, data]);
  return out;
}
