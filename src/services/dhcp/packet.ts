/**
 * The BOOTP/DHCP message (RFC 2131 §2, RFC 951) on a Uint8Array, sans-IO:
 *
 *   0 op | 1 htype | 2 hlen | 3 hops | 4 xid(4) | 8 secs(2) | 10 flags(2) | 12 ciaddr | 16 yiaddr
 *   20 siaddr | 24 giaddr | 28 chaddr(16) | 44 sname(64) | 108 file(128) | 236 cookie | 240 options
 *
 * Parsing is strict and bounded: the fixed part and the magic cookie must be there, every option
 * must fit its field, the options field must end with END, the option overload (52) is honoured
 * (options, then file, then sname, as RFC 3396 orders them) and split options are concatenated.
 * Any input that is not such a message throws DhcpParseError, and nothing else.
 */
import { UsageError } from '../../util/errors.js';
import { ru16be, ru32be, wu16be, wu32be } from '../../util/ser.js';
import { DhcpParseError } from './errors.js';
import { DhcpOpt, decodeOptions, optionList } from './options.js';
import type { DhcpOptions, RawOption } from './options.js';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const HTYPE_ETHERNET = 1;
export const DHCP_MAGIC_COOKIE = 0x63825363;
/** flags: ask the server to broadcast its reply (we cannot receive unicast before we have an address) */
export const BOOTP_FLAG_BROADCAST = 0x8000;

const SNAME_OFFSET = 44;
const FILE_OFFSET = 108;
const COOKIE_OFFSET = 236;
export const DHCP_OPTIONS_OFFSET = 240;
/** RFC 1542 §2.1: relay agents may drop BOOTP messages shorter than this, so we pad to it */
export const BOOTP_MIN_LENGTH = 300;
/** Largest message we parse: an Ethernet MTU minus IP and UDP headers, with room for jumbo-ish frames. */
export const DHCP_MAX_LENGTH = 8192;

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** the first hlen bytes of chaddr */
  chaddr: Uint8Array;
  options: DhcpOptions;
}

/** What encodeDhcp takes: the fixed fields default to 0, htype to Ethernet, hlen to chaddr's length. */
export interface DhcpPacketInit {
  op: number;
  xid: number;
  chaddr: Uint8Array;
  options: DhcpOptions;
  htype?: number;
  hops?: number;
  secs?: number;
  flags?: number;
  ciaddr?: number;
  yiaddr?: number;
  siaddr?: number;
  giaddr?: number;
}

type Sink = (code: number, offset: number, data: Uint8Array) => void;

/** Walks one option area; true when it met END. */
function walkOptions(b: Uint8Array, start: number, end: number, sink: Sink): boolean {
  let i = start;
  while (i < end) {
    const code = b[i] as number;
    if (code === DhcpOpt.PAD) {
      i++;
      continue;
    }
    if (code === DhcpOpt.END) return true;
    if (i + 1 >= end) throw new DhcpParseError(i, `option ${code} has no length byte before the end of its field`, { option: code });
    const len = b[i + 1] as number;
    if (i + 2 + len > end) throw new DhcpParseError(i, `option ${code} of ${len} bytes overruns its field`, { option: code, length: len });
    sink(code, i, b.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return false;
}

export function parseDhcp(b: Uint8Array): DhcpPacket {
  if (!(b instanceof Uint8Array)) throw new DhcpParseError(0, 'input is not a Uint8Array');
  if (b.length < DHCP_OPTIONS_OFFSET) {
    throw new DhcpParseError(b.length, `truncated: ${b.length} bytes, the fixed part and magic cookie need ${DHCP_OPTIONS_OFFSET}`);
  }
  if (b.length > DHCP_MAX_LENGTH) throw new DhcpParseError(DHCP_MAX_LENGTH, `${b.length} bytes is longer than the ${DHCP_MAX_LENGTH} we accept`);
  const op = b[0] as number;
  if (op !== BOOTREQUEST && op !== BOOTREPLY) throw new DhcpParseError(0, `op ${op} is neither BOOTREQUEST nor BOOTREPLY`);
  const hlen = b[2] as number;
  if (hlen > 16) throw new DhcpParseError(2, `hlen ${hlen} is longer than chaddr's 16 bytes`);
  if (ru32be(b, COOKIE_OFFSET) !== DHCP_MAGIC_COOKIE) throw new DhcpParseError(COOKIE_OFFSET, 'no DHCP magic cookie');

  // collect every option's parts, concatenated per code in wire order (RFC 3396)
  const parts = new Map<number, { offset: number; chunks: Uint8Array[] }>();
  let inMain = true;
  const sink: Sink = (code, offset, data) => {
    if (code === DhcpOpt.OVERLOAD && !inMain) throw new DhcpParseError(offset, 'option overload (52) outside the options field');
    const p = parts.get(code);
    if (p) p.chunks.push(data);
    else parts.set(code, { offset, chunks: [data] });
  };
  if (!walkOptions(b, DHCP_OPTIONS_OFFSET, b.length, sink)) throw new DhcpParseError(b.length, 'the options field has no END option');
  inMain = false;
  const ov = parts.get(DhcpOpt.OVERLOAD);
  let overload = 0;
  if (ov) {
    const d = ov.chunks.length === 1 ? ov.chunks[0] as Uint8Array : undefined;
    if (!d || d.length !== 1 || (d[0] as number) < 1 || (d[0] as number) > 3) {
      throw new DhcpParseError(ov.offset, 'option overload (52) must be one byte of 1, 2 or 3', { option: DhcpOpt.OVERLOAD });
    }
    overload = d[0] as number;
  }
  // an overloaded field ends at its END or at the field's end
  if (overload & 1) walkOptions(b, FILE_OFFSET, COOKIE_OFFSET, sink);
  if (overload & 2) walkOptions(b, SNAME_OFFSET, FILE_OFFSET, sink);

  const raw = new Map<number, RawOption>();
  for (const [code, p] of parts) {
    let data: Uint8Array;
    if (p.chunks.length === 1) data = p.chunks[0] as Uint8Array;
    else {
      let n = 0;
      for (const c of p.chunks) n += c.length;
      data = new Uint8Array(n);
      n = 0;
      for (const c of p.chunks) {
        data.set(c, n);
        n += c.length;
      }
    }
    raw.set(code, { offset: p.offset, data });
  }

  return {
    op,
    htype: b[1] as number,
    hlen,
    hops: b[3] as number,
    xid: ru32be(b, 4),
    secs: ru16be(b, 8),
    flags: ru16be(b, 10),
    ciaddr: ru32be(b, 12),
    yiaddr: ru32be(b, 16),
    siaddr: ru32be(b, 20),
    giaddr: ru32be(b, 24),
    chaddr: b.slice(28, 28 + hlen),
    options: decodeOptions(raw, DHCP_OPTIONS_OFFSET),
  };
}

function checkField(name: string, v: number | undefined, max: number): number {
  const n = v ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > max) throw new UsageError('ERR_DHCP_ENCODE', `dhcp: ${name} must be an integer 0..${max}`, { field: name, value: v });
  return n;
}

/**
 * Builds a message: fixed part, cookie, options (an option longer than 255 bytes is split in
 * parts, RFC 3396), END, zero padding to the BOOTP minimum. Never overloads sname/file.
 */
export function encodeDhcp(p: DhcpPacketInit): Uint8Array {
  if (!(p.chaddr instanceof Uint8Array) || p.chaddr.length > 16) throw new UsageError('ERR_DHCP_ENCODE', 'dhcp: chaddr must be at most 16 bytes', { field: 'chaddr' });
  const opts = optionList(p.options);
  let optLen = 1; // END
  for (const [code, data] of opts) {
    if (!Number.isInteger(code) || code <= DhcpOpt.PAD || code >= DhcpOpt.END || code === DhcpOpt.OVERLOAD || (code === DhcpOpt.MESSAGE_TYPE && data.length !== 1)) {
      throw new UsageError('ERR_DHCP_ENCODE', `dhcp: option ${code} cannot be sent as a plain option`, { field: 'options', option: code });
    }
    optLen += Math.max(1, Math.ceil(data.length / 255)) * 2 + data.length;
  }
  const b = new Uint8Array(Math.max(BOOTP_MIN_LENGTH, DHCP_OPTIONS_OFFSET + optLen));
  b[0] = checkField('op', p.op, 255);
  b[1] = checkField('htype', p.htype ?? HTYPE_ETHERNET, 255);
  b[2] = p.chaddr.length;
  b[3] = checkField('hops', p.hops, 255);
  wu32be(b, 4, checkField('xid', p.xid, 0xffffffff));
  wu16be(b, 8, checkField('secs', p.secs, 0xffff));
  wu16be(b, 10, checkField('flags', p.flags, 0xffff));
  wu32be(b, 12, checkField('ciaddr', p.ciaddr, 0xffffffff));
  wu32be(b, 16, checkField('yiaddr', p.yiaddr, 0xffffffff));
  wu32be(b, 20, checkField('siaddr', p.siaddr, 0xffffffff));
  wu32be(b, 24, checkField('giaddr', p.giaddr, 0xffffffff));
  b.set(p.chaddr, 28);
  wu32be(b, COOKIE_OFFSET, DHCP_MAGIC_COOKIE);
  let i = DHCP_OPTIONS_OFFSET;
  for (const [code, data] of opts) {
    let at = 0;
    do {
      const n = Math.min(255, data.length - at);
      b[i++] = code;
      b[i++] = n;
      b.set(data.subarray(at, at + n), i);
      i += n;
      at += n;
    } while (at < data.length);
  }
  b[i] = DhcpOpt.END;
  return b;
}
