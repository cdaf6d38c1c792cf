/**
 * MQTT's data representations (§1.5): Two/Four Byte Integers, Variable Byte Integers, UTF-8
 * Encoded Strings and Binary Data, read through a bounds-checked cursor over one packet and
 * written straight into the packet's single output buffer.
 *
 * Strings are strict: well-formed UTF-8 and no U+0000 (the spec makes either a Malformed
 * Packet). The other code points it discourages (controls, non-characters) are accepted, as
 * the spec lets a receiver do. On the way out a lone surrogate is refused rather than silently
 * replaced, so what is sent is what the caller wrote.
 */
import { DecodeError } from '../../util/errors.js';
import { latin1 } from '../../util/latin1.js';
import { utf8Decode } from '../../util/utf8.js';
import { MqttEncodeError, MqttProtocolError } from './errors.js';
import type { MqttProtocolCode } from './errors.js';

/** The largest Variable Byte Integer, and so the largest Remaining Length (§1.5.5). */
export const MAX_VARINT = 268_435_455;
/** The largest packet MQTT can frame: 1 type byte, 4 length bytes, 268,435,455 more. */
export const MAX_PACKET_SIZE = 1 + 4 + MAX_VARINT;
/** The largest string or binary field: a two-byte length. */
export const MAX_FIELD = 65_535;
/** ASCII strings up to this long take the fast path: latin1() and one regular expression. */
const ASCII_RUN = 1024;
/** a character that sends a string (or a topic name) to the byte-by-byte path */
const NOT_PLAIN = /[^\x01-\x7f]/;
const NOT_PLAIN_TOPIC = /[^\x01-\x22\x24-\x2a\x2c-\x7f]/;

/**
 * A cursor over one packet's bytes b[pos, end). Every read checks the bound first, so a length
 * that lies can only end in MqttProtocolError. `owned` says b is the decoder's own copy of the
 * packet: binary fields may then be views into it instead of copies.
 */
export class Reader {
  readonly b: Uint8Array;
  pos: number;
  readonly end: number;
  /** where the variable header starts: error offsets are counted from here */
  readonly base: number;
  readonly packet: string;
  readonly owned: boolean;

  constructor(b: Uint8Array, start: number, end: number, packet: string, owned: boolean) {
    this.b = b;
    this.pos = start;
    this.end = end;
    this.base = start;
    this.packet = packet;
    this.owned = owned;
  }

  get left(): number {
    return this.end - this.pos;
  }

  fail(code: MqttProtocolCode, field: string, message: string, at = this.pos, cause?: unknown): never {
    throw new MqttProtocolError(code, `${this.packet}: ${message}`, { packet: this.packet, field, offset: at - this.base }, cause);
  }

  private need(n: number, field: string): void {
    if (this.end - this.pos < n) this.fail('ERR_MQTT_MALFORMED', field, `${field} overruns the packet (${n} bytes needed, ${this.end - this.pos} left)`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.b[this.pos++] as number;
  }

  u16(field: string): number {
    this.need(2, field);
    const b = this.b;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.b;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
  }

  /** A Variable Byte Integer: at most four bytes (non-minimal encodings are accepted). */
  varint(field: string): number {
    const start = this.pos;
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const x = this.u8(field);
      value += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) return value;
      mul *= 128;
    }
    return this.fail('ERR_MQTT_MALFORMED', field, `${field} is a Variable Byte Integer longer than 4 bytes`, start);
  }

  /** A UTF-8 Encoded String (§1.5.4). */
  string(field: string): string {
    return this.text(field, false);
  }

  /** A topic name: a string without '+' or '#' (ERR_MQTT_TOPIC_NAME); whether empty is allowed is the caller's call. */
  topic(field: string): string {
    return this.text(field, true);
  }

  /**
   * The common case, printable ASCII, costs native calls only: the bytes become a string in
   * one latin1() call and one regular expression confirms there was nothing else
   * in them (no U+0000, no byte ≥ 0x80; for a topic name, no wildcard). Anything else takes the
   * byte loop, which finds the exact offending byte, and the strict UTF-8 decoder.
   */
  private text(field: string, topic: boolean): string {
    const len = this.u16(field);
    this.need(len, field);
    const b = this.b;
    const s = this.pos;
    const e = s + len;
    if (len <= ASCII_RUN) {
      const text = latin1(b, s, e);
      if (!(topic ? NOT_PLAIN_TOPIC : NOT_PLAIN).test(text)) {
        this.pos = e;
        return text;
      }
    }
    for (let i = s; i < e; i++) {
      const x = b[i] as number;
      if (x === 0) this.fail('ERR_MQTT_MALFORMED', field, `${field} contains U+0000`, i);
      if (topic && (x === 0x2b || x === 0x23)) this.fail('ERR_MQTT_TOPIC_NAME', field, `${field} contains the wildcard ${x === 0x23 ? "'#'" : "'+'"}`, i);
    }
    let text: string;
    try {
      // builds long strings in bounded slices, so no call takes 65,535 arguments
      text = utf8Decode(b, s, e);
    } catch (err) {
      const off = err instanceof DecodeError && typeof err.detail?.['offset'] === 'number' ? (err.detail['offset'] as number) : s;
      return this.fail('ERR_MQTT_MALFORMED', field, `${field} is not valid UTF-8`, off, err);
    }
    this.pos = e;
    return text;
  }

  /** Binary Data (§1.5.6): a two-byte length and that many bytes. */
  binary(field: string): Uint8Array {
    const len = this.u16(field);
    return this.bytes(len, field);
  }

  /** The next n bytes, a view when the buffer is the decoder's own, else a copy. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const s = this.pos;
    this.pos = s + n;
    return this.owned ? this.b.subarray(s, s + n) : this.b.slice(s, s + n);
  }
}

export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : 4;
}

/** Writes v (0..MAX_VARINT, checked by the caller) minimally; returns the offset after it. */
export function writeVarint(b: Uint8Array, o: number, v: number): number {
  do {
    let x = v & 0x7f;
    v >>>= 7;
    if (v > 0) x |= 0x80;
    b[o++] = x;
  } while (v > 0);
  return o;
}

export function writeU16(b: Uint8Array, o: number, v: number): number {
  b[o] = v >>> 8;
  b[o + 1] = v;
  return o + 2;
}

export function writeU32(b: Uint8Array, o: number, v: number): number {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
  return o + 4;
}

/**
 * The encoded size of `s` as an MQTT string, length prefix included. Refuses what cannot go on
 * the wire: a non-string, U+0000, a lone surrogate, more than 65,535 bytes, and for a topic
 * name (`topic`) a wildcard.
 */
export function stringSize(s: unknown, packet: string, field: string, topic = false): number {
  if (typeof s !== 'string') throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} must be a string`, { packet, field });
  const n = s.length;
  // printable ASCII, the common case, is one native regular expression test
  if (n <= MAX_FIELD && !(topic ? NOT_PLAIN_TOPIC : NOT_PLAIN).test(s)) return 2 + n;
  let size = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} contains U+0000`, { packet, field, index: i });
      if (topic && (c === 0x2b || c === 0x23)) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} "${s}" has a wildcard`, { packet, field, index: i });
    } else if (c < 0x800) size += 1;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) {
        throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} has a lone surrogate at index ${i}`, { packet, field, index: i });
      }
      // two code units, four bytes
      size += 2;
      i++;
    } else size += 2;
  }
  if (size > MAX_FIELD) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} is ${size} bytes, over 65,535`, { packet, field, size });
  return 2 + size;
}

/** Writes a string already sized by stringSize: the bytes first, then their length in front. */
export function writeString(b: Uint8Array, o: number, s: string): number {
  let p = o + 2;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) b[p++] = c;
    else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      b[p++] = 0xf0 | (cp >> 18);
      b[p++] = 0x80 | ((cp >> 12) & 0x3f);
      b[p++] = 0x80 | ((cp >> 6) & 0x3f);
      b[p++] = 0x80 | (cp & 0x3f);
    } else {
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
  }
  writeU16(b, o, p - o - 2);
  return p;
}

/** The encoded size of Binary Data, length prefix included. */
export function binarySize(v: unknown, packet: string, field: string): number {
  if (!(v instanceof Uint8Array)) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} must be a Uint8Array`, { packet, field });
  if (v.length > MAX_FIELD) throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} is ${v.length} bytes, over 65,535`, { packet, field, size: v.length });
  return 2 + v.length;
}

export function writeBinary(b: Uint8Array, o: number, v: Uint8Array): number {
  o = writeU16(b, o, v.length);
  b.set(v, o);
  return o + v.length;
}

/** Throws unless v is an integer in [min, max]. */
export function checkInt(v: unknown, min: number, max: number, packet: string, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new MqttEncodeError('ERR_MQTT_ENCODE', `${packet} ${field} must be an integer in ${min}..${max}, not ${String(v)}`, { packet, field, value: v });
  }
  return v;
}
