/**
 * The SNTP codec (RFC 4330, RFC 5905 §7.3), sans-IO: bytes in, typed packets or SntpError out.
 *
 *   0      LI(2) VN(3) Mode(3)        24  origin timestamp (the client's transmit, echoed)
 *   1      stratum                    32  receive timestamp (T2, server clock)
 *   2      poll (log2 s, signed)      40  transmit timestamp (T3, server clock)
 *   3      precision (log2 s, signed) 48… extension fields / MAC (ignored: we do not authenticate)
 *   4      root delay (16.16)
 *   8      root dispersion (16.16)
 *   12     reference id (kiss code when stratum is 0)
 *   16     reference timestamp
 *
 * A reply is checked in the order that keeps an off-path spoofer powerless: first that it is a
 * server reply at all, then that it echoes a transmit timestamp we sent (else it is not ours and
 * is dropped, Kiss-o'-Death included), and only then what it says.
 */
import { ru32be, wu32be } from '../../util/ser.js';
import { SntpError } from './error.js';
import { isZeroTimestamp, ntpToUnixUs, sameTimestamp } from './timestamp.js';
import type { NtpTimestamp } from './timestamp.js';

export const NTP_PACKET_LEN = 48;
/** Longest reply we accept: a header plus extension fields or a MAC, bounded. */
export const NTP_PACKET_MAX = 1024;

export const NtpMode = { CLIENT: 3, SERVER: 4 } as const;
/** Leap indicator 3: the server's clock is not synchronised (alarm). */
export const LEAP_ALARM = 3;
/** Highest stratum that still means "synchronised"; 16 is unsynchronised, above is reserved. */
export const STRATUM_MAX = 15;

/** The kiss codes a client must act on (RFC 5905 §7.4); other codes only mean "no time here". */
export const KISS_CODES = ['RATE', 'DENY', 'RSTR'] as const;
export type KissCode = (typeof KISS_CODES)[number];

export interface NtpPacket {
  /** leap indicator 0..3 */
  leap: number;
  /** version 0..7 */
  version: number;
  /** mode 0..7 */
  mode: number;
  stratum: number;
  /** log2 s, -128..127 */
  poll: number;
  /** log2 s, -128..127 */
  precision: number;
  /** 16.16 fixed point s, raw */
  rootDelay: number;
  /** 16.16 fixed point s, raw */
  rootDispersion: number;
  /** reference id, raw u32 (an IPv4 address, a refclock name, or a kiss code) */
  refId: number;
  reference: NtpTimestamp;
  origin: NtpTimestamp;
  receive: NtpTimestamp;
  transmit: NtpTimestamp;
}

const ZERO: NtpTimestamp = Object.freeze({ seconds: 0, fraction: 0 });

function fieldError(field: string, value: unknown, range: string): SntpError {
  return new SntpError('ERR_SNTP_FIELD', `ntp packet ${field} must be ${range}`, { field, value });
}

function checkInt(field: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw fieldError(field, v, `an integer ${min}..${max}`);
  return v;
}

function writeTimestamp(b: Uint8Array, off: number, field: string, t: NtpTimestamp): void {
  wu32be(b, off, checkInt(`${field}.seconds`, t.seconds, 0, 0xffffffff));
  wu32be(b, off + 4, checkInt(`${field}.fraction`, t.fraction, 0, 0xffffffff));
}

function readTimestamp(b: Uint8Array, off: number): NtpTimestamp {
  return { seconds: ru32be(b, off), fraction: ru32be(b, off + 4) };
}

/** Any 48-byte NTP header (for the fake servers in tests, and for round-trip checks). */
export function encodeNtpPacket(p: NtpPacket): Uint8Array {
  const b = new Uint8Array(NTP_PACKET_LEN);
  b[0] = (checkInt('leap', p.leap, 0, 3) << 6) | (checkInt('version', p.version, 0, 7) << 3) | checkInt('mode', p.mode, 0, 7);
  b[1] = checkInt('stratum', p.stratum, 0, 255);
  b[2] = checkInt('poll', p.poll, -128, 127) & 0xff;
  b[3] = checkInt('precision', p.precision, -128, 127) & 0xff;
  wu32be(b, 4, checkInt('rootDelay', p.rootDelay, 0, 0xffffffff));
  wu32be(b, 8, checkInt('rootDispersion', p.rootDispersion, 0, 0xffffffff));
  wu32be(b, 12, checkInt('refId', p.refId, 0, 0xffffffff));
  writeTimestamp(b, 16, 'reference', p.reference);
  writeTimestamp(b, 24, 'origin', p.origin);
  writeTimestamp(b, 32, 'receive', p.receive);
  writeTimestamp(b, 40, 'transmit', p.transmit);
  return b;
}

/**
 * A client request (RFC 4330 §5): version 4, mode 3, every field zero but the transmit
 * timestamp, which the server echoes as the origin so we can tell its reply is ours.
 */
export function encodeSntpRequest(transmit: NtpTimestamp): Uint8Array {
  return encodeNtpPacket({
    leap: 0,
    version: 4,
    mode: NtpMode.CLIENT,
    stratum: 0,
    poll: 0,
    precision: 0,
    rootDelay: 0,
    rootDispersion: 0,
    refId: 0,
    reference: ZERO,
    origin: ZERO,
    receive: ZERO,
    transmit,
  });
}

/**
 * Decodes the header of any NTP packet: only the length is judged here. 48 bytes, or 48 plus
 * whole 32-bit words of extension fields or MAC up to NTP_PACKET_MAX.
 */
export function decodeNtpPacket(bytes: Uint8Array): NtpPacket {
  const n = bytes.length;
  if (n < NTP_PACKET_LEN || n > NTP_PACKET_MAX || (n - NTP_PACKET_LEN) % 4 !== 0) {
    throw new SntpError('ERR_SNTP_PARSE', `ntp packet of ${n} bytes: must be 48, plus whole 32-bit words up to ${NTP_PACKET_MAX}`, {
      field: 'length',
      offset: Math.min(n, NTP_PACKET_LEN),
      length: n,
    });
  }
  const b0 = bytes[0] as number;
  return {
    leap: b0 >> 6,
    version: (b0 >> 3) & 7,
    mode: b0 & 7,
    stratum: bytes[1] as number,
    poll: ((bytes[2] as number) << 24) >> 24,
    precision: ((bytes[3] as number) << 24) >> 24,
    rootDelay: ru32be(bytes, 4),
    rootDispersion: ru32be(bytes, 8),
    refId: ru32be(bytes, 12),
    reference: readTimestamp(bytes, 16),
    origin: readTimestamp(bytes, 24),
    receive: readTimestamp(bytes, 32),
    transmit: readTimestamp(bytes, 40),
  };
}

/** The reference id as four printable ASCII characters (a kiss code), or undefined. */
export function refIdText(refId: number): string | undefined {
  let s = '';
  for (let shift = 24; shift >= 0; shift -= 8) {
    const c = (refId >>> shift) & 0xff;
    if (c < 0x20 || c > 0x7e) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}

export interface SntpReply {
  packet: NtpPacket;
  /** index into `sent` of the request this reply answers */
  request: number;
}

/**
 * Decodes and judges a server's reply to one of our requests, `sent` being the transmit
 * timestamps of the requests still unanswered. Throws SntpError:
 *  - ERR_SNTP_PARSE: bad length, not mode 4 (server), not version 3 or 4;
 *  - ERR_SNTP_BOGUS: origin matches none of `sent` (detail.field 'origin'), or the server's
 *    receive/transmit timestamp is zero;
 *  - ERR_SNTP_KOD: stratum 0 with RATE, DENY or RSTR (detail.code);
 *  - ERR_SNTP_UNSYNC: stratum 0 with any other reference id (detail.kiss when printable, e.g.
 *    INIT), leap indicator 3, or stratum above 15.
 */
export function parseSntpReply(bytes: Uint8Array, sent: readonly NtpTimestamp[]): SntpReply {
  const p = decodeNtpPacket(bytes);
  if (p.mode !== NtpMode.SERVER) {
    throw new SntpError('ERR_SNTP_PARSE', `ntp reply mode ${p.mode}: must be 4 (server)`, { field: 'mode', offset: 0, mode: p.mode });
  }
  if (p.version !== 3 && p.version !== 4) {
    throw new SntpError('ERR_SNTP_PARSE', `ntp reply version ${p.version}: must be 3 or 4`, { field: 'version', offset: 0, version: p.version });
  }
  const request = sent.findIndex((t) => sameTimestamp(t, p.origin));
  if (request < 0) {
    throw new SntpError('ERR_SNTP_BOGUS', 'ntp reply origin timestamp echoes none of our requests', { field: 'origin', offset: 24 });
  }
  if (p.stratum === 0) {
    const kiss = refIdText(p.refId);
    if (kiss !== undefined && (KISS_CODES as readonly string[]).includes(kiss)) {
      throw new SntpError('ERR_SNTP_KOD', `ntp server sent Kiss-o'-Death ${kiss}`, { field: 'refId', offset: 12, code: kiss });
    }
    const detail: Record<string, unknown> = { field: 'stratum', offset: 1, stratum: 0 };
    if (kiss !== undefined) detail['kiss'] = kiss;
    throw new SntpError('ERR_SNTP_UNSYNC', `ntp server at stratum 0 (${kiss ?? 'no kiss code'}) has no time to give`, detail);
  }
  if (p.leap === LEAP_ALARM) {
    throw new SntpError('ERR_SNTP_UNSYNC', 'ntp server is not synchronised (leap indicator 3)', { field: 'leap', offset: 0, leap: p.leap });
  }
  if (p.stratum > STRATUM_MAX) {
    throw new SntpError('ERR_SNTP_UNSYNC', `ntp server at stratum ${p.stratum} is not synchronised`, { field: 'stratum', offset: 1, stratum: p.stratum });
  }
  if (isZeroTimestamp(p.transmit)) {
    throw new SntpError('ERR_SNTP_BOGUS', 'ntp reply has a zero transmit timestamp', { field: 'transmit', offset: 40 });
  }
  if (isZeroTimestamp(p.receive)) {
    throw new SntpError('ERR_SNTP_BOGUS', 'ntp reply has a zero receive timestamp', { field: 'receive', offset: 32 });
  }
  return { packet: p, request };
}

export interface SntpSample {
  /** how far the device clock is behind the server's: add it to correct (µs) */
  offsetUs: number;
  /** round trip, less the server's own processing time (µs) */
  delayUs: number;
  /** the server's transmit time T3, unix µs */
  serverUs: number;
  stratum: number;
}

/**
 * The four-timestamp estimate (RFC 5905 §8): T1 our send and T4 our receive on the device's
 * wall clock, T2 and T3 the server's receive and transmit.
 *   offset = ((T2 − T1) + (T3 − T4)) / 2      delay = (T4 − T1) − (T3 − T2)
 * Each difference is taken before anything is added, so the sum never carries the 1.7e15 µs
 * magnitudes: the result is good to well under a µs.
 */
export function sntpSample(p: NtpPacket, t1Us: number, t4Us: number): SntpSample {
  const t2 = ntpToUnixUs(p.receive);
  const t3 = ntpToUnixUs(p.transmit);
  return {
    offsetUs: ((t2 - t1Us) + (t3 - t4Us)) / 2,
    delayUs: (t4Us - t1Us) - (t3 - t2),
    serverUs: t3,
    stratum: p.stratum,
  };
}
