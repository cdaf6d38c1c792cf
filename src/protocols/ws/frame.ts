/**
 * RFC 6455 §5.2 frame codec: an incremental header reader, the masking copy, and the frame
 * encoder. Payload lengths are Numbers: a 64-bit length is refused when its top bit is set
 * (the RFC requires it clear) and otherwise checked against maxFrameSize, far below 2^53, so
 * the float never loses precision for a length that is accepted.
 *
 * Non-minimal length encodings (a 16-bit length field holding 5) are accepted: the RFC asks
 * senders to be minimal but gives receivers no status code for it, and refusing buys nothing.
 */
import { CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, WsProtocolError } from './errors.js';

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** Control frames carry at most this many payload bytes (§5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

const TWO32 = 4294967296;

export interface FrameReaderOptions {
  /** true on the server (clients must mask), false on the client (servers must not) */
  expectMasked: boolean;
  /** RSV1 may be set: permessage-deflate was negotiated (where it may appear is the connection's business) */
  allowRsv1: boolean;
  /** longest payload accepted in one frame, refused with 1009 as soon as the length is read */
  maxFrameSize: number;
}

/**
 * Reads one frame header at a time from bytes split anywhere. The first two bytes are checked
 * as soon as they arrive (reserved bits, opcode, masking, control-frame rules), so a bad frame
 * fails before its length or payload. After `complete` turns true the fields describe the
 * frame; `reset()` readies the reader for the next one.
 */
export class FrameHeaderReader {
  fin = false;
  rsv1 = false;
  opcode = 0;
  masked = false;
  /** payload length */
  length = 0;
  readonly mask = new Uint8Array(4);
  complete = false;

  private readonly opts: FrameReaderOptions;
  /** header bytes gathered when a header straddles reads */
  private readonly buf = new Uint8Array(14);
  private have = 0;
  /** header length, known once the first two bytes are in */
  private need = 2;
  private firstDone = false;
  private len7 = 0;

  constructor(opts: FrameReaderOptions) {
    this.opts = opts;
  }

  /** Consumes header bytes from b[off..]; returns the offset just past them. */
  read(b: Uint8Array, off: number): number {
    const n = b.length;
    if (this.have === 0 && n - off >= 2) {
      // common case: the whole header is in this read, parse it in place
      this.first(b[off] as number, b[off + 1] as number);
      if (n - off >= this.need) {
        this.rest(b, off);
        return off + this.need;
      }
    }
    while (off < n && this.have < this.need) {
      this.buf[this.have++] = b[off++] as number;
      if (this.have === 2 && !this.firstDone) this.first(this.buf[0] as number, this.buf[1] as number);
    }
    if (this.firstDone && this.have === this.need) this.rest(this.buf, 0);
    return off;
  }

  reset(): void {
    this.complete = false;
    this.have = 0;
    this.need = 2;
    this.firstDone = false;
  }

  private first(b0: number, b1: number): void {
    this.firstDone = true;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    if ((b0 & 0x30) !== 0 || (rsv1 && !this.opts.allowRsv1)) {
      throw new WsProtocolError('ERR_WS_RSV', `reserved bits 0x${(b0 & 0x70).toString(16)} set`, CLOSE_PROTOCOL_ERROR, {
        field: 'rsv',
        byte: b0,
      });
    }
    if ((opcode > OP_BINARY && opcode < OP_CLOSE) || opcode > OP_PONG) {
      throw new WsProtocolError('ERR_WS_OPCODE', `reserved opcode ${opcode}`, CLOSE_PROTOCOL_ERROR, {
        field: 'opcode',
        opcode,
      });
    }
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    if (opcode >= OP_CLOSE) {
      if (!fin) {
        throw new WsProtocolError('ERR_WS_CONTROL_FRAGMENTED', `control frame ${opcode} without FIN`, CLOSE_PROTOCOL_ERROR, {
          field: 'fin',
          opcode,
        });
      }
      if (len7 > MAX_CONTROL_PAYLOAD) {
        throw new WsProtocolError('ERR_WS_CONTROL_LENGTH', `control frame ${opcode} longer than 125 bytes`, CLOSE_PROTOCOL_ERROR, {
          field: 'length',
          opcode,
        });
      }
      if (rsv1) {
        throw new WsProtocolError('ERR_WS_RSV', `RSV1 on control frame ${opcode}`, CLOSE_PROTOCOL_ERROR, {
          field: 'rsv',
          byte: b0,
        });
      }
    }
    if (masked !== this.opts.expectMasked) {
      throw masked
        ? new WsProtocolError('ERR_WS_MASKED', 'masked frame from a server', CLOSE_PROTOCOL_ERROR, { field: 'mask' })
        : new WsProtocolError('ERR_WS_UNMASKED', 'unmasked frame from a client', CLOSE_PROTOCOL_ERROR, { field: 'mask' });
    }
    this.fin = fin;
    this.rsv1 = rsv1;
    this.opcode = opcode;
    this.masked = masked;
    this.len7 = len7;
    this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  private rest(a: Uint8Array, base: number): void {
    let p = base + 2;
    let len = this.len7;
    if (len === 126) {
      len = ((a[p] as number) << 8) | (a[p + 1] as number);
      p += 2;
    } else if (len === 127) {
      const hi = ((a[p] as number) << 24) | ((a[p + 1] as number) << 16) | ((a[p + 2] as number) << 8) | (a[p + 3] as number);
      if (hi < 0) {
        throw new WsProtocolError('ERR_WS_LENGTH', '64-bit payload length with its top bit set', CLOSE_PROTOCOL_ERROR, {
          field: 'length',
        });
      }
      const lo =
        ((a[p + 4] as number) * 0x1000000) +
        (((a[p + 5] as number) << 16) | ((a[p + 6] as number) << 8) | (a[p + 7] as number));
      len = hi * TWO32 + lo;
      p += 8;
    }
    if (len > this.opts.maxFrameSize) {
      throw new WsProtocolError('ERR_WS_FRAME_TOO_BIG', `frame of ${len} bytes over the ${this.opts.maxFrameSize}-byte limit`, CLOSE_TOO_BIG, {
        field: 'length',
        length: len,
        limit: this.opts.maxFrameSize,
      });
    }
    if (this.masked) {
      const m = this.mask;
      m[0] = a[p] as number;
      m[1] = a[p + 1] as number;
      m[2] = a[p + 2] as number;
      m[3] = a[p + 3] as number;
    }
    this.length = len;
    this.complete = true;
  }
}

/** from this many bytes, maskCopy copies natively and then XORs 32-bit words in place */
const MASK_WORDS_FROM = 128;
const maskWord8 = new Uint8Array(4);
const maskWord32 = new Uint32Array(maskWord8.buffer);

/** XORs b[off, off + len) with `mask` from mask byte `phase`, a word at a time where aligned. */
function xorMaskWords(b: Uint8Array, off: number, len: number, mask: Uint8Array, phase: number): void {
  let i = 0;
  let ph = phase & 3;
  const base = b.byteOffset + off;
  for (; i < len && ((base + i) & 3) !== 0; i++, ph = (ph + 1) & 3) b[off + i] = (b[off + i] as number) ^ (mask[ph] as number);
  // the mask as a word in the platform's byte order, rotated to the phase at the aligned start
  maskWord8[0] = mask[ph] as number;
  maskWord8[1] = mask[(ph + 1) & 3] as number;
  maskWord8[2] = mask[(ph + 2) & 3] as number;
  maskWord8[3] = mask[(ph + 3) & 3] as number;
  const m = maskWord32[0] as number;
  const words = (len - i) >>> 2;
  const w = new Uint32Array(b.buffer, base + i, words);
  for (let k = 0; k < words; k++) w[k] = (w[k] as number) ^ m;
  // whole words keep the phase
  for (i += words * 4; i < len; i++, ph = (ph + 1) & 3) b[off + i] = (b[off + i] as number) ^ (mask[ph] as number);
}

/**
 * Copies src[srcOff, srcOff + len) to dst[dstOff..], XORed with `mask` starting at mask byte
 * `phase` (the payload offset of the first byte, mod 4): a payload that arrives in pieces
 * unmasks piece by piece. With no mask it is a plain copy. Long runs are copied natively and
 * unmasked a word at a time (small arrays are left alone: their `.buffer` would move them off
 * V8's heap).
 */
export function maskCopy(
  src: Uint8Array,
  srcOff: number,
  dst: Uint8Array,
  dstOff: number,
  len: number,
  mask: Uint8Array | undefined,
  phase: number,
): void {
  if (mask === undefined) {
    // subarray() of a small on-heap array makes V8 move it off the heap: skip it when whole
    dst.set(srcOff === 0 && len === src.length ? src : src.subarray(srcOff, srcOff + len), dstOff);
    return;
  }
  if (len >= MASK_WORDS_FROM) {
    dst.set(srcOff === 0 && len === src.length ? src : src.subarray(srcOff, srcOff + len), dstOff);
    xorMaskWords(dst, dstOff, len, mask, phase);
    return;
  }
  let i = 0;
  let ph = phase & 3;
  while (i < len && ph !== 0) {
    dst[dstOff + i] = (src[srcOff + i] as number) ^ (mask[ph] as number);
    i++;
    ph = (ph + 1) & 3;
  }
  const m0 = mask[0] as number;
  const m1 = mask[1] as number;
  const m2 = mask[2] as number;
  const m3 = mask[3] as number;
  const end4 = len - ((len - i) & 3);
  for (; i < end4; i += 4) {
    const s = srcOff + i;
    const d = dstOff + i;
    dst[d] = (src[s] as number) ^ m0;
    dst[d + 1] = (src[s + 1] as number) ^ m1;
    dst[d + 2] = (src[s + 2] as number) ^ m2;
    dst[d + 3] = (src[s + 3] as number) ^ m3;
  }
  for (let k = 0; i < len; i++, k++) dst[dstOff + i] = (src[srcOff + i] as number) ^ (mask[k] as number);
}

/**
 * One whole frame, header and payload in a single buffer (one allocation, one copy: the
 * payload is masked while it is copied). `mask` is the 4-byte key for a client, undefined for
 * a server.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  fin: boolean,
  rsv1: boolean,
  mask: Uint8Array | undefined,
): Uint8Array {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = 2 + ext + (mask ? 4 : 0);
  const out = new Uint8Array(head + len);
  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const mbit = mask ? 0x80 : 0;
  let p = 2;
  if (ext === 0) out[1] = mbit | len;
  else if (ext === 2) {
    out[1] = mbit | 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
    p = 4;
  } else {
    out[1] = mbit | 127;
    const hi = Math.floor(len / TWO32);
    const lo = len >>> 0;
    out[2] = hi >>> 24;
    out[3] = hi >>> 16;
    out[4] = hi >>> 8;
    out[5] = hi;
    out[6] = lo >>> 24;
    out[7] = lo >>> 16;
    out[8] = lo >>> 8;
    out[9] = lo;
    p = 10;
  }
  if (mask) {
    out[p] = mask[0] as number;
    out[p + 1] = mask[1] as number;
    out[p + 2] = mask[2] as number;
    out[p + 3] = mask[3] as number;
    p += 4;
  }
  maskCopy(payload, 0, out, p, len, mask, 0);
  return out;
}
