/**
 * A compact DNS message codec on Uint8Array (RFC 1035 section 4, RFC 3596 for AAAA, RFC 2308
 * for the SOA of negative answers). Sans-IO: bytes in, a message out, and back.
 *
 * Record data is typed for what a resolver reads — A and AAAA as address text, CNAME as a name,
 * SOA as its seven fields — and kept as raw bytes for every other type (OPT included), so any
 * valid message decodes and re-encodes.
 *
 * Decoding is bounds-checked everywhere and throws only DnsParseError (detail.offset, .field):
 * compression pointers must point strictly backwards (the RFC's "prior occurrence"), which also
 * makes a pointer loop impossible; a record's data must fill its RDLENGTH exactly; names obey
 * the label and 255-byte limits. Trailing bytes after the counted records are ignored, as most
 * decoders do (some servers pad).
 *
 * Encoding compresses names by default (owner names, CNAME targets, SOA names; suffixes that
 * match exactly, so case survives) and throws
 * DnsNameError for a bad name, DnsEncodeError for data that does not fit its type.
 */
import { UsageError } from '../../util/errors.js';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './address.js';
import { DnsParseError } from './errors.js';
import { MAX_NAME_WIRE, labelText, parseName } from './name.js';

export const DnsType = Object.freeze({ A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41 } as const);
export const DnsClass = Object.freeze({ IN: 1 } as const);
export const DnsRcode = Object.freeze({ NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const);

/** Bits of the header's flags word; the low four bits are the rcode, bits 11-14 the opcode. */
export const DnsFlag = Object.freeze({ QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, AD: 0x0020, CD: 0x0010 } as const);

/** Largest message: the TCP length prefix is 16 bits. */
export const MAX_MESSAGE = 0xffff;

export class DnsEncodeError extends UsageError {
  constructor(field: string, why: string) {
    super('ERR_DNS_ENCODE', `dns encode: ${field} ${why}`, { field });
  }
}

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsSoa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  /** the negative-caching TTL (RFC 2308) */
  minimum: number;
}

/** A/AAAA: address text; CNAME: the target name; SOA: DnsSoa; any other type: the raw RDATA. */
export type DnsRdata = string | DnsSoa | Uint8Array;

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  /** seconds, as on the wire (u32) */
  ttl: number;
  data: DnsRdata;
}

export interface DnsMessage {
  id: number;
  /** the whole 16-bit flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode */
  flags: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export function rcodeOf(m: DnsMessage): number {
  return m.flags & 0xf;
}

/** The transaction id of what may be a DNS message, or undefined when it is shorter than a header. */
export function peekId(b: Uint8Array): number | undefined {
  return b.length < 12 ? undefined : ((b[0] as number) << 8) | (b[1] as number);
}

// ---------------------------------------------------------------------------------------------
// decoding

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}

  need(n: number, field: string): void {
    if (this.pos + n > this.b.length) throw new DnsParseError(`${field} runs past the end (${this.b.length} bytes)`, this.pos, field);
  }

  u16(field: string): number {
    this.need(2, field);
    const b = this.b;
    const v = ((b[this.pos] as number) << 8) | (b[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.u16(field) * 0x10000;
    return v + this.u16(field);
  }

  /** A possibly compressed name at pos; pos moves past it (past the first pointer, if any). */
  name(field: string): string {
    const b = this.b;
    let p = this.pos;
    let segment = p; // where the current run of labels started: pointers must go before it
    let after = -1;
    let wire = 1;
    let text = '';
    for (;;) {
      if (p >= b.length) throw new DnsParseError(`${field} runs past the end`, p, field);
      const len = b[p] as number;
      if (len === 0) {
        if (after < 0) after = p + 1;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (p + 1 >= b.length) throw new DnsParseError(`${field} compression pointer runs past the end`, p, field);
        const to = ((len & 0x3f) << 8) | (b[p + 1] as number);
        if (to >= segment) throw new DnsParseError(`${field} compression pointer to ${to} does not point backwards`, p, field);
        if (after < 0) after = p + 2;
        p = segment = to;
        continue;
      }
      if (kind !== 0) throw new DnsParseError(`${field} has a reserved label type 0x${kind.toString(16)}`, p, field);
      if (p + 1 + len > b.length) throw new DnsParseError(`${field} label runs past the end`, p, field);
      wire += len + 1;
      if (wire > MAX_NAME_WIRE) throw new DnsParseError(`${field} is longer than ${MAX_NAME_WIRE} bytes`, p, field);
      text += (text ? '.' : '') + labelText(b, p + 1, len);
      p += 1 + len;
    }
    this.pos = after;
    return text || '.';
  }
}

function readRecord(r: Reader, section: string, i: number): DnsRecord {
  const at = `${section}[${i}]`;
  const name = r.name(`${at}.name`);
  const type = r.u16(`${at}.type`);
  const klass = r.u16(`${at}.class`);
  const ttl = r.u32(`${at}.ttl`);
  const rdlength = r.u16(`${at}.rdlength`);
  const field = `${at}.data`;
  r.need(rdlength, field);
  const start = r.pos;
  const end = start + rdlength;
  let data: DnsRdata;
  switch (type) {
    case DnsType.A:
      if (rdlength !== 4) throw new DnsParseError(`A data is ${rdlength} bytes, not 4`, start, field);
      data = formatIPv4(r.b, start);
      r.pos = end;
      break;
    case DnsType.AAAA:
      if (rdlength !== 16) throw new DnsParseError(`AAAA data is ${rdlength} bytes, not 16`, start, field);
      data = formatIPv6(r.b, start);
      r.pos = end;
      break;
    case DnsType.CNAME:
      data = r.name(field);
      break;
    case DnsType.SOA:
      data = {
        mname: r.name(`${field}.mname`),
        rname: r.name(`${field}.rname`),
        serial: r.u32(`${field}.serial`),
        refresh: r.u32(`${field}.refresh`),
        retry: r.u32(`${field}.retry`),
        expire: r.u32(`${field}.expire`),
        minimum: r.u32(`${field}.minimum`),
      };
      break;
    default:
      data = r.b.slice(start, end);
      r.pos = end;
  }
  if (r.pos !== end) throw new DnsParseError(`record data does not fill its rdlength ${rdlength}`, start, field);
  return { name, type, class: klass, ttl, data };
}

/** Decodes one DNS message. Throws DnsParseError, nothing else. */
export function decodeMessage(b: Uint8Array): DnsMessage {
  const r = new Reader(b);
  if (b.length < 12) throw new DnsParseError(`message of ${b.length} bytes is shorter than the 12-byte header`, 0, 'header');
  const id = r.u16('header.id');
  const flags = r.u16('header.flags');
  const qd = r.u16('header.qdcount');
  const an = r.u16('header.ancount');
  const ns = r.u16('header.nscount');
  const ar = r.u16('header.arcount');
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = r.name(`questions[${i}].name`);
    const type = r.u16(`questions[${i}].type`);
    questions.push({ name, type, class: r.u16(`questions[${i}].class`) });
  }
  const section = (count: number, label: string): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) out.push(readRecord(r, label, i));
    return out;
  };
  const answers = section(an, 'answers');
  const authorities = section(ns, 'authorities');
  const additionals = section(ar, 'additionals');
  return { id, flags, questions, answers, authorities, additionals };
}

// ---------------------------------------------------------------------------------------------
// encoding

class Writer {
  b = new Uint8Array(512);
  pos = 0;
  /**
   * suffix (its wire labels, as a string key) → offset, for compression. Matched byte for byte,
   * not case-insensitively as the RFC would allow, so every name keeps the case it was given.
   */
  private readonly seen: Map<string, number> | undefined;

  constructor(compress: boolean) {
    this.seen = compress ? new Map() : undefined;
  }

  room(n: number): void {
    if (this.pos + n <= this.b.length) return;
    if (this.pos + n > MAX_MESSAGE) throw new DnsEncodeError('message', `would exceed ${MAX_MESSAGE} bytes`);
    let size = this.b.length * 2;
    while (size < this.pos + n) size *= 2;
    const nb = new Uint8Array(Math.min(size, MAX_MESSAGE));
    nb.set(this.b.subarray(0, this.pos));
    this.b = nb;
  }

  u8(v: number): void {
    this.room(1);
    this.b[this.pos++] = v;
  }

  u16(v: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new DnsEncodeError(field, `must be an integer 0..65535 (got ${v})`);
    this.room(2);
    this.b[this.pos++] = v >>> 8;
    this.b[this.pos++] = v & 0xff;
  }

  u32(v: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new DnsEncodeError(field, `must be an integer 0..4294967295 (got ${v})`);
    this.room(4);
    this.b[this.pos++] = v >>> 24;
    this.b[this.pos++] = (v >>> 16) & 0xff;
    this.b[this.pos++] = (v >>> 8) & 0xff;
    this.b[this.pos++] = v & 0xff;
  }

  bytes(v: Uint8Array): void {
    this.room(v.length);
    this.b.set(v, this.pos);
    this.pos += v.length;
  }

  name(text: string): void {
    const labels = parseName(text);
    for (let i = 0; i < labels.length; i++) {
      if (this.seen) {
        const key = suffixKey(labels, i);
        const at = this.seen.get(key);
        if (at !== undefined) {
          this.u16(0xc000 | at, 'pointer');
          return;
        }
        if (this.pos < 0x4000) this.seen.set(key, this.pos);
      }
      const l = labels[i] as Uint8Array;
      this.u8(l.length);
      this.bytes(l);
    }
    this.u8(0);
  }
}

function suffixKey(labels: readonly Uint8Array[], from: number): string {
  let k = '';
  for (let i = from; i < labels.length; i++) {
    const l = labels[i] as Uint8Array;
    k += String.fromCharCode(l.length);
    for (let j = 0; j < l.length; j++) {
      k += String.fromCharCode(l[j] as number);
    }
  }
  return k;
}

function writeRecord(w: Writer, rec: DnsRecord, field: string): void {
  w.name(rec.name);
  w.u16(rec.type, `${field}.type`);
  w.u16(rec.class, `${field}.class`);
  w.u32(rec.ttl, `${field}.ttl`);
  const lenAt = w.pos;
  w.u16(0, `${field}.rdlength`);
  const start = w.pos;
  const d = rec.data;
  const df = `${field}.data`;
  switch (rec.type) {
    case DnsType.A: {
      const a = typeof d === 'string' ? parseIPv4(d) : undefined;
      if (!a) throw new DnsEncodeError(df, 'must be IPv4 address text for an A record');
      w.bytes(a);
      break;
    }
    case DnsType.AAAA: {
      const a = typeof d === 'string' ? parseIPv6(d) : undefined;
      if (!a) throw new DnsEncodeError(df, 'must be IPv6 address text for an AAAA record');
      w.bytes(a);
      break;
    }
    case DnsType.CNAME:
      if (typeof d !== 'string') throw new DnsEncodeError(df, 'must be a name for a CNAME record');
      w.name(d);
      break;
    case DnsType.SOA: {
      if (typeof d !== 'object' || d instanceof Uint8Array) throw new DnsEncodeError(df, 'must be a DnsSoa for an SOA record');
      w.name(d.mname);
      w.name(d.rname);
      w.u32(d.serial, `${df}.serial`);
      w.u32(d.refresh, `${df}.refresh`);
      w.u32(d.retry, `${df}.retry`);
      w.u32(d.expire, `${df}.expire`);
      w.u32(d.minimum, `${df}.minimum`);
      break;
    }
    default:
      if (!(d instanceof Uint8Array)) throw new DnsEncodeError(df, `must be raw bytes for type ${rec.type}`);
      w.bytes(d);
  }
  const len = w.pos - start;
  if (len > 0xffff) throw new DnsEncodeError(df, 'is longer than 65535 bytes');
  w.b[lenAt] = len >>> 8;
  w.b[lenAt + 1] = len & 0xff;
}

/** Encodes a message; names are compressed unless `compress` is false. */
export function encodeMessage(m: DnsMessage, opts: { compress?: boolean } = {}): Uint8Array {
  const w = new Writer(opts.compress ?? true);
  w.u16(m.id, 'header.id');
  w.u16(m.flags, 'header.flags');
  w.u16(m.questions.length, 'header.qdcount');
  w.u16(m.answers.length, 'header.ancount');
  w.u16(m.authorities.length, 'header.nscount');
  w.u16(m.additionals.length, 'header.arcount');
  m.questions.forEach((q, i) => {
    w.name(q.name);
    w.u16(q.type, `questions[${i}].type`);
    w.u16(q.class, `questions[${i}].class`);
  });
  m.answers.forEach((r, i) => writeRecord(w, r, `answers[${i}]`));
  m.authorities.forEach((r, i) => writeRecord(w, r, `authorities[${i}]`));
  m.additionals.forEach((r, i) => writeRecord(w, r, `additionals[${i}]`));
  return w.b.slice(0, w.pos);
}

/** A recursive query (RD set) for one question of class IN. */
export function encodeQuery(id: number, name: string, type: number): Uint8Array {
  return encodeMessage({
    id,
    flags: DnsFlag.RD,
    questions: [{ name, type, class: DnsClass.IN }],
    answers: [],
    authorities: [],
    additionals: [],
  });
}
