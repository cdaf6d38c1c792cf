/**
 * Helpers for the WebSocket core's tests: raw frames built independently of src/ (so the codec
 * is checked against a second reading of RFC 6455 §5.2), a decoder for what a machine sends,
 * an echo peer under test, and event normalisation for comparisons.
 */
import { createHash } from 'node:crypto';
import { WsConnection, type WsConnectionOptions, type WsEvent, type WsRole } from '../../src/protocols/ws/connection.js';

export const TEXT = 1;
export const BINARY = 2;
export const CLOSE = 8;
export const PING = 9;
export const PONG = 10;
export const CONT = 0;

/** Deterministic entropy (xorshift32) so failures reproduce. */
export function seededRandom(seed = 0x12345678): (into: Uint8Array) => void {
  let s = seed >>> 0 || 1;
  return (into) => {
    for (let i = 0; i < into.length; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      into[i] = s & 0xff;
    }
  };
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const bytes = (...a: number[]): Uint8Array => Uint8Array.from(a);

export interface RawFrame {
  op: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  /** the three RSV bits as one number, RSV1 = 4, RSV2 = 2, RSV3 = 1 (Autobahn's numbering) */
  rsv?: number;
  /** mask with this key; default: masked when the receiver is a server */
  mask?: Uint8Array | null;
  /** force the 16- or 64-bit length form */
  lengthForm?: 7 | 16 | 64;
  /** override the 64-bit length's top byte (to set its MSB) */
  len64TopByte?: number;
}

const KEY = bytes(0x37, 0xfa, 0x21, 0x3d);

/** A frame as a peer would send it: masked iff sent to a server unless `mask` says otherwise. */
export function rawFrame(f: RawFrame, toRole: WsRole): Uint8Array {
  const p = typeof f.payload === 'string' ? enc(f.payload) : (f.payload ?? new Uint8Array(0));
  const mask = f.mask === undefined ? (toRole === 'server' ? KEY : null) : f.mask;
  const n = p.length;
  const form = f.lengthForm ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | f.op];
  const m = mask ? 0x80 : 0;
  if (form === 7) head.push(m | n);
  else if (form === 16) head.push(m | 126, n >> 8, n & 0xff);
  else {
    const hi = Math.floor(n / 2 ** 32);
    head.push(m | 127, f.len64TopByte ?? hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff);
    head.push(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  if (mask) head.push(...mask);
  const out = new Uint8Array(head.length + n);
  out.set(head);
  for (let i = 0; i < n; i++) out[head.length + i] = (p[i] as number) ^ (mask ? (mask[i & 3] as number) : 0);
  return out;
}

export interface DecodedFrame {
  op: number;
  fin: boolean;
  rsv: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Decodes a complete stream of frames (what a machine queued), unmasking. */
export function decodeFrames(chunks: readonly Uint8Array[]): DecodedFrame[] {
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const b = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    b.set(c, o);
    o += c.length;
  }
  const out: DecodedFrame[] = [];
  let i = 0;
  while (i < b.length) {
    const b0 = b[i] as number;
    const b1 = b[i + 1] as number;
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) {
      len = ((b[p] as number) << 8) | (b[p + 1] as number);
      p += 2;
    } else if (len === 127) {
      len = 0;
      for (let k = 0; k < 8; k++) len = len * 256 + (b[p + k] as number);
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? b.slice(p, p + 4) : undefined;
    if (masked) p += 4;
    const payload = b.slice(p, p + len);
    if (key) for (let k = 0; k < len; k++) payload[k] = (payload[k] as number) ^ (key[k & 3] as number);
    out.push({ op: b0 & 0x0f, fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, masked, payload });
    i = p + len;
    if (p + len > b.length) throw new Error('truncated frame in output');
  }
  return out;
}

/**
 * Bytes made comparable with toEqual: short ones as an array (readable diffs), long ones as
 * length and digest (Jest's deep equality over millions of elements takes minutes).
 */
export function show(b: Uint8Array | string): unknown {
  if (typeof b === 'string') return b.length <= 256 ? b : `${b.length} chars ${createHash('sha1').update(b).digest('hex')}`;
  return b.length <= 256 ? Array.from(b) : `${b.length} bytes ${createHash('sha1').update(b).digest('hex')}`;
}

/** Events made comparable with toEqual: errors become their code and close code. */
export function norm(events: readonly WsEvent[]): unknown[] {
  return events.map((e) => {
    if (e.type === 'error') return { type: 'error', code: e.error.code, closeCode: e.error.closeCode };
    if ('data' in e) return { ...e, data: show(e.data) };
    return e;
  });
}

export interface EchoRun {
  events: WsEvent[];
  /** everything the machine under test sent, decoded */
  frames: DecodedFrame[];
  machine: WsConnection;
}

/**
 * Runs a machine of `role` as Autobahn's echo peer: every whole message received is sent back
 * (while open), Pings are answered by autoPong. `chunks` are the receive() calls.
 */
export function echoRun(role: WsRole, chunks: readonly Uint8Array[], opts: Partial<WsConnectionOptions> = {}): EchoRun {
  const m = new WsConnection({ role, random: seededRandom(7), ...opts });
  const events: WsEvent[] = [];
  const out: Uint8Array[] = [];
  m.open(0);
  let t = 1;
  for (const c of chunks) {
    for (const e of m.receive(c, t++)) {
      events.push(e);
      if (e.type === 'message' && m.state === 'open') {
        if (e.first && e.final) m.send(e.data);
      }
    }
    out.push(...m.pendingOutput());
  }
  const frames = decodeFrames(out);
  for (const f of frames) if (f.masked !== (role === 'client')) throw new Error(`a ${role} sent a frame with the wrong masking`);
  return { events, frames, machine: m };
}

export type Chop = 'whole' | 'frames' | 'octets';

/** The receive() calls for frames delivered all at once, one frame per call, or one byte per call. */
export function chop(frames: readonly Uint8Array[], how: Chop): Uint8Array[] {
  if (how === 'frames') return [...frames];
  const all = concat(frames);
  if (how === 'whole') return [all];
  return Array.from(all, (x) => Uint8Array.of(x));
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A pair of our own machines, client and server, opened, with a pump between them. */
export function machinePair(clientOpts: Partial<WsConnectionOptions> = {}, serverOpts: Partial<WsConnectionOptions> = {}) {
  const client = new WsConnection({ role: 'client', random: seededRandom(1), ...clientOpts });
  const server = new WsConnection({ role: 'server', ...serverOpts });
  client.open(0);
  server.open(0);
  /** moves every queued byte both ways until quiet; returns the events each side saw */
  const pump = (t = 1): { client: WsEvent[]; server: WsEvent[] } => {
    const seen = { client: [] as WsEvent[], server: [] as WsEvent[] };
    for (let round = 0; round < 100; round++) {
      const c = client.pendingOutput();
      const s = server.pendingOutput();
      if (!c.length && !s.length) break;
      for (const b of c) seen.server.push(...server.receive(b, t));
      for (const b of s) seen.client.push(...client.receive(b, t));
    }
    return seen;
  };
  return { client, server, pump };
}
