/**
 * The WebSocket connection machine (RFC 6455 §5-7), for both roles, after the opening
 * handshake. Sans-IO: `receive(bytes, nowUs)` returns events, sends queue frames that
 * `pendingOutput()` drains, and the only timer (the close handshake's) is driven through
 * `nextDeadlineUs()`/`onTimer(nowUs)`.
 *
 * A peer's protocol violation never throws: it comes out as an 'error' event (the typed
 * WsProtocolError) followed by 'close', with our Close frame carrying its code already queued
 * ("Fail the WebSocket Connection", §7.1.7); the caller then flushes and closes the transport.
 * Misuse by our own user (sending after close) throws UsageError.
 *
 * Buffering is bounded: a header (14 bytes), one control frame (125), and one message up to
 * maxMessageSize (or, when streaming fragments, one frame up to maxFrameSize). The output
 * queue grows only with what the user sends and with one Pong or Close per received control
 * frame, so it is bounded by the input of one `receive` when the caller drains after each.
 */
import { UsageError } from '../../util/errors.js';
import { Utf8Validator, utf8Decode, utf8Encode } from '../../util/utf8.js';
import { encodeCloseBody, parseCloseBody } from './close.js';
import type { MessageDeflater } from './deflater.js';
import {
  CLOSE_ABNORMAL,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_NO_STATUS,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TOO_BIG,
  WsProtocolError,
} from './errors.js';
import {
  encodeFrame,
  FrameHeaderReader,
  maskCopy,
  MAX_CONTROL_PAYLOAD,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
} from './frame.js';

export type WsRole = 'client' | 'server';
/**
 * connecting: built, not yet opened; closing: our Close sent and theirs awaited, or theirs
 * received and ours queued with the next pendingOutput() (sends are still allowed until then)
 */
export type WsState = 'connecting' | 'open' | 'closing' | 'closed';

export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;
export const DEFAULT_CLOSE_TIMEOUT_US = 5_000_000;
export const DEFAULT_COMPRESS_THRESHOLD = 128;

export interface WsConnectionOptions {
  role: WsRole;
  /** the host's entropy; required for a client, which masks every frame with a fresh key */
  random?: (into: Uint8Array) => void;
  /** the negotiated subprotocol and extensions header, echoed in the 'open' event */
  protocol?: string;
  extensions?: string;
  /** present when permessage-deflate was negotiated: RSV1 is then allowed on a message's first frame */
  deflater?: MessageDeflater;
  /** largest message accepted (after inflation), 1009 beyond; default 1 MiB */
  maxMessageSize?: number;
  /** largest single frame accepted, 1009 beyond; default maxMessageSize */
  maxFrameSize?: number;
  /** deliver each data frame as its own 'message' event (first/final flags) instead of whole messages */
  streamFragments?: boolean;
  /** answer each Ping with a Pong by itself; default true ('ping' events are emitted either way) */
  autoPong?: boolean;
  /** how long to wait for the peer's Close after sending ours; default 5 s */
  closeTimeoutUs?: number;
  /** messages shorter than this are sent uncompressed even with a deflater; default 128 bytes */
  compressThreshold?: number;
  /**
   * Sends each message as frames of at most this many payload bytes (counted after
   * compression), as Autobahn's autoFragmentSize; default: one frame per message or fragment.
   */
  fragmentSize?: number;
}

/**
 * A message, whole or (streamFragments) one frame of it. A whole text message is a string;
 * everything else is bytes (a streamed text fragment is valid UTF-8 so far, but may end inside
 * a character that the next fragment completes).
 */
export type WsMessageEvent =
  | { type: 'message'; binary: false; data: string; first: true; final: true }
  | { type: 'message'; binary: boolean; data: Uint8Array; first: boolean; final: boolean };

export type WsEvent =
  | { type: 'open'; protocol: string | undefined; extensions: string | undefined }
  | WsMessageEvent
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  /** the connection is over: `wasClean` when both Close frames were exchanged */
  | { type: 'close'; code: number; reason: string; wasClean: boolean }
  | { type: 'error'; error: WsProtocolError };

const EMPTY = new Uint8Array(0);

export class WsConnection {
  private stateNow: WsState = 'connecting';
  private readonly role: WsRole;
  private readonly random: ((into: Uint8Array) => void) | undefined;
  private readonly deflater: MessageDeflater | undefined;
  private readonly maxMessageSize: number;
  private readonly streamFragments: boolean;
  private readonly autoPong: boolean;
  private readonly closeTimeoutUs: number;
  private readonly compressThreshold: number;
  private readonly fragmentSize: number;
  private readonly protocol: string | undefined;
  private readonly extensions: string | undefined;

  private readonly reader: FrameHeaderReader;
  /** payload of the frame being read, and how much of it has arrived */
  private frameBuf: Uint8Array = EMPTY;
  private framePos = 0;
  /** validate the current frame's bytes as they arrive (uncompressed text) */
  private checkUtf8 = false;
  /** opcode of the data message in progress, OP_CONTINUATION (0) when none */
  private msgOpcode = OP_CONTINUATION;
  private msgCompressed = false;
  private msgSize = 0;
  private msgFirst = true;
  private parts: Uint8Array[] = [];
  private readonly utf8 = new Utf8Validator();
  /** nothing more is read: the peer's Close arrived, or we failed the connection */
  private inputDone = false;

  private out: Uint8Array[] = [];
  private readonly maskKey = new Uint8Array(4);
  private closeSent = false;
  /**
   * The peer's Close arrived (or we failed the connection) and our Close goes out with the next
   * pendingOutput(): until then the user may still send (§5.5.1 lets an endpoint finish what it
   * is sending first), so answering a message that came in the same read as the Close does not
   * depend on how the bytes were split.
   */
  private closeReply: Uint8Array | undefined;
  private closeDeadline: number | undefined;
  /** opcode of the fragmented message we are sending, 0 when none */
  private sendingOpcode = 0;
  /** whether that message is being compressed (decided on its first fragment) */
  private sendingCompressed = false;

  constructor(opts: WsConnectionOptions) {
    this.role = opts.role;
    if (opts.role === 'client' && !opts.random) throw new UsageError('ERR_WS_OPTION', 'a client needs random() to mask frames');
    this.random = opts.random;
    this.deflater = opts.deflater;
    this.maxMessageSize = positive('maxMessageSize', opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
    const maxFrameSize = positive('maxFrameSize', opts.maxFrameSize ?? this.maxMessageSize);
    this.streamFragments = opts.streamFragments ?? false;
    this.autoPong = opts.autoPong ?? true;
    this.closeTimeoutUs = positive('closeTimeoutUs', opts.closeTimeoutUs ?? DEFAULT_CLOSE_TIMEOUT_US);
    this.compressThreshold = opts.compressThreshold ?? DEFAULT_COMPRESS_THRESHOLD;
    if (opts.fragmentSize !== undefined && !Number.isInteger(opts.fragmentSize)) {
      throw new UsageError('ERR_WS_OPTION', 'fragmentSize must be a whole number of bytes', { fragmentSize: opts.fragmentSize });
    }
    this.fragmentSize = opts.fragmentSize === undefined ? Infinity : positive('fragmentSize', opts.fragmentSize);
    this.protocol = opts.protocol;
    this.extensions = opts.extensions;
    this.reader = new FrameHeaderReader({
      expectMasked: opts.role === 'server',
      allowRsv1: opts.deflater !== undefined,
      maxFrameSize,
    });
  }

  get state(): WsState {
    return this.stateNow;
  }

  /** Whether send(), sendFragment(), ping() and pong() may be called now. */
  get canSend(): boolean {
    return this.stateNow === 'open' || this.closeReply !== undefined;
  }

  /** Starts the connection once the handshake succeeded; returns the 'open' event. */
  open(_nowUs: number): WsEvent[] {
    if (this.stateNow !== 'connecting') throw new UsageError('ERR_WS_STATE', `open() in state ${this.stateNow}`);
    this.stateNow = 'open';
    return [{ type: 'open', protocol: this.protocol, extensions: this.extensions }];
  }

  /** Feeds bytes from the transport. After the connection closed, further bytes are ignored. */
  receive(bytes: Uint8Array, _nowUs: number): WsEvent[] {
    if (this.stateNow === 'connecting') throw new UsageError('ERR_WS_STATE', 'receive() before open()');
    const ev: WsEvent[] = [];
    if (this.inputDone) return ev;
    try {
      this.consume(bytes, ev);
    } catch (e) {
      if (!(e instanceof WsProtocolError)) throw e;
      this.fail(e, ev);
    }
    return ev;
  }

  /** Frames to write, in order; the queue is emptied. */
  pendingOutput(): Uint8Array[] {
    if (this.closeReply !== undefined) {
      this.queue(OP_CLOSE, this.closeReply, true, false);
      this.closeReply = undefined;
      this.closeSent = true;
      this.stateNow = 'closed';
    }
    const o = this.out;
    if (o.length) this.out = [];
    return o;
  }

  nextDeadlineUs(): number | undefined {
    return this.closeDeadline;
  }

  /** The close handshake timed out: report 1006 (nothing more is sent). */
  onTimer(nowUs: number): WsEvent[] {
    const ev: WsEvent[] = [];
    if (this.closeDeadline !== undefined && nowUs >= this.closeDeadline) {
      this.closeDeadline = undefined;
      this.inputDone = true;
      this.stateNow = 'closed';
      ev.push({
        type: 'error',
        error: new WsProtocolError('ERR_WS_CLOSE_TIMEOUT', `no Close from the peer within ${this.closeTimeoutUs} µs`, CLOSE_ABNORMAL),
      });
      ev.push({ type: 'close', code: CLOSE_ABNORMAL, reason: '', wasClean: false });
    }
    return ev;
  }

  // ---- sending

  /** Sends a whole message: a string as text, bytes as binary. */
  send(data: string | Uint8Array): void {
    if (typeof data === 'string') this.sendMessage(OP_TEXT, utf8Encode(data));
    else this.sendMessage(OP_BINARY, data);
  }

  sendText(text: string): void {
    this.sendMessage(OP_TEXT, utf8Encode(text));
  }

  sendBinary(data: Uint8Array): void {
    this.sendMessage(OP_BINARY, data);
  }

  /**
   * Sends one fragment of a message; the first fragment's type (string: text) sets the
   * message's. With a deflater the message is compressed as it streams (each fragment is
   * flushed so it can go out at once; RSV1 marks the first frame only), unless its first
   * fragment is also its last and shorter than compressThreshold. Control frames may go out
   * in between; other messages may not until the final fragment.
   */
  sendFragment(data: string | Uint8Array, final: boolean): void {
    this.checkCanSend();
    const bytes = typeof data === 'string' ? utf8Encode(data) : data;
    const first = this.sendingOpcode === 0;
    if (first) {
      this.sendingOpcode = typeof data === 'string' ? OP_TEXT : OP_BINARY;
      this.sendingCompressed = this.deflater !== undefined && !(final && bytes.length < this.compressThreshold);
    }
    const body = this.sendingCompressed ? (this.deflater as MessageDeflater).compress(bytes, final) : bytes;
    this.queueData(first ? this.sendingOpcode : OP_CONTINUATION, body, final, first && this.sendingCompressed);
    if (final) this.sendingOpcode = 0;
  }

  ping(data: string | Uint8Array = EMPTY): void {
    this.checkCanSend();
    this.queue(OP_PING, controlPayload(data), true, false);
  }

  /** An unsolicited Pong (a heartbeat that needs no answer), or a manual answer with autoPong off. */
  pong(data: string | Uint8Array = EMPTY): void {
    this.checkCanSend();
    this.queue(OP_PONG, controlPayload(data), true, false);
  }

  /**
   * Starts the close handshake: sends Close (no code means an empty body, reported to the peer
   * as 1005) and waits closeTimeoutUs from `nowUs` for the peer's. Ignored once closing.
   */
  close(nowUs: number, code?: number, reason = ''): void {
    if (this.stateNow === 'connecting') throw new UsageError('ERR_WS_STATE', 'close() before open()');
    if (this.closeSent || this.closeReply !== undefined || this.stateNow === 'closed') return;
    this.queue(OP_CLOSE, encodeCloseBody(code, reason), true, false);
    this.closeSent = true;
    this.stateNow = 'closing';
    this.closeDeadline = nowUs + this.closeTimeoutUs;
  }

  private sendMessage(op: number, payload: Uint8Array): void {
    this.checkCanSend();
    if (this.sendingOpcode !== 0) {
      throw new UsageError('ERR_WS_FRAGMENT_IN_PROGRESS', 'a fragmented message is being sent; finish it first');
    }
    if (this.deflater && payload.length >= this.compressThreshold) {
      this.queueData(op, this.deflater.compress(payload, true), true, true);
    } else this.queueData(op, payload, true, false);
  }

  /** Data frames for `body`, cut at fragmentSize: `op` and `rsv1` on the first, `fin` on the last. */
  private queueData(op: number, body: Uint8Array, fin: boolean, rsv1: boolean): void {
    const max = this.fragmentSize;
    if (body.length <= max) {
      this.queue(op, body, fin, rsv1);
      return;
    }
    for (let off = 0; off < body.length; off += max) {
      const last = off + max >= body.length;
      this.queue(off === 0 ? op : OP_CONTINUATION, body.subarray(off, off + max), fin && last, off === 0 && rsv1);
    }
  }

  private checkCanSend(): void {
    if (!this.canSend) {
      throw new UsageError('ERR_WS_STATE', `cannot send in state ${this.stateNow}`, { state: this.stateNow });
    }
  }

  private queue(op: number, payload: Uint8Array, fin: boolean, rsv1: boolean): void {
    let mask: Uint8Array | undefined;
    if (this.role === 'client') {
      (this.random as (into: Uint8Array) => void)(this.maskKey);
      mask = this.maskKey;
    }
    this.out.push(encodeFrame(op, payload, fin, rsv1, mask));
  }

  // ---- receiving

  private consume(bytes: Uint8Array, ev: WsEvent[]): void {
    const r = this.reader;
    const n = bytes.length;
    let off = 0;
    while (off < n) {
      if (!r.complete) {
        off = r.read(bytes, off);
        if (!r.complete) return;
        this.beginFrame();
        if (r.length === 0) {
          this.endFrame(ev);
          if (this.inputDone) return;
          continue;
        }
      }
      const pos = this.framePos;
      const take = Math.min(n - off, r.length - pos);
      maskCopy(bytes, off, this.frameBuf, pos, take, r.masked ? r.mask : undefined, pos);
      if (this.checkUtf8) {
        const bad = this.utf8.push(this.frameBuf.subarray(pos, pos + take));
        if (bad >= 0) throw utf8Error(bad);
      }
      off += take;
      this.framePos = pos + take;
      if (this.framePos === r.length) {
        this.endFrame(ev);
        if (this.inputDone) return;
      }
    }
  }

  /** Sequencing rules across frames (§5.4), checked before any payload is read. */
  private beginFrame(): void {
    const r = this.reader;
    const op = r.opcode;
    this.framePos = 0;
    if (op >= OP_CLOSE) {
      this.checkUtf8 = false;
      this.frameBuf = r.length ? new Uint8Array(r.length) : EMPTY;
      return;
    }
    if (op === OP_CONTINUATION) {
      if (this.msgOpcode === OP_CONTINUATION) {
        throw new WsProtocolError('ERR_WS_UNEXPECTED_CONTINUATION', 'continuation frame with no message in progress', CLOSE_PROTOCOL_ERROR, {
          field: 'opcode',
        });
      }
      // RFC 7692 §6.1: RSV1 marks a compressed message on its first frame only
      if (r.rsv1) throw new WsProtocolError('ERR_WS_RSV', 'RSV1 on a continuation frame', CLOSE_PROTOCOL_ERROR, { field: 'rsv' });
    } else {
      if (this.msgOpcode !== OP_CONTINUATION) {
        throw new WsProtocolError('ERR_WS_EXPECTED_CONTINUATION', `opcode ${op} inside a fragmented message`, CLOSE_PROTOCOL_ERROR, {
          field: 'opcode',
          opcode: op,
        });
      }
      this.msgOpcode = op;
      this.msgCompressed = r.rsv1;
      this.msgSize = 0;
      this.msgFirst = true;
      this.utf8.reset();
    }
    if (!this.msgCompressed && this.msgSize + r.length > this.maxMessageSize) {
      throw tooBig(this.msgSize + r.length, this.maxMessageSize);
    }
    this.checkUtf8 = this.msgOpcode === OP_TEXT && !this.msgCompressed;
    this.frameBuf = r.length ? new Uint8Array(r.length) : EMPTY;
  }

  private endFrame(ev: WsEvent[]): void {
    const r = this.reader;
    const op = r.opcode;
    const fin = r.fin;
    const payload = this.frameBuf;
    r.reset();
    this.frameBuf = EMPTY;
    if (op >= OP_CLOSE) {
      this.control(op, payload, ev);
      return;
    }
    let data = payload;
    if (this.msgCompressed) {
      data = this.inflate(payload, fin);
      if (this.msgOpcode === OP_TEXT) {
        const bad = this.utf8.push(data);
        if (bad >= 0) throw utf8Error(bad);
      }
    }
    this.msgSize += data.length;
    if (fin && this.msgOpcode === OP_TEXT && !this.utf8.end()) {
      throw new WsProtocolError('ERR_WS_UTF8', 'text message ends inside a character', CLOSE_INVALID_PAYLOAD, {
        field: 'payload',
        offset: this.msgSize,
      });
    }
    const binary = this.msgOpcode === OP_BINARY;
    if (this.streamFragments) {
      ev.push({ type: 'message', binary, data, first: this.msgFirst, final: fin });
      this.msgFirst = false;
    } else if (fin) {
      const parts = this.parts;
      let whole = data;
      if (parts.length) {
        parts.push(data);
        whole = concat(parts, this.msgSize);
        this.parts = [];
      }
      if (binary) ev.push({ type: 'message', binary: true, data: whole, first: true, final: true });
      else ev.push({ type: 'message', binary: false, data: utf8Decode(whole), first: true, final: true });
    } else if (data.length) this.parts.push(data);
    if (fin) this.msgOpcode = OP_CONTINUATION;
  }

  private inflate(payload: Uint8Array, fin: boolean): Uint8Array {
    const room = this.maxMessageSize - this.msgSize;
    let out: Uint8Array | undefined;
    try {
      out = (this.deflater as MessageDeflater).decompress(payload, fin, room);
    } catch (e) {
      throw new WsProtocolError('ERR_WS_INFLATE', 'compressed message does not inflate', CLOSE_INVALID_PAYLOAD, { field: 'payload' }, e);
    }
    if (out === undefined || out.length > room) throw tooBig(this.msgSize + (out ? out.length : room + 1), this.maxMessageSize);
    return out;
  }

  private control(op: number, payload: Uint8Array, ev: WsEvent[]): void {
    if (op === OP_PING) {
      ev.push({ type: 'ping', data: payload });
      if (this.autoPong && !this.closeSent) this.queue(OP_PONG, payload, true, false);
      return;
    }
    if (op === OP_PONG) {
      ev.push({ type: 'pong', data: payload });
      return;
    }
    const { code, reason } = parseCloseBody(payload);
    this.inputDone = true;
    this.closeDeadline = undefined;
    if (!this.closeSent) {
      // §5.5.1: answer with a Close, echoing the status code (none for none), once drained
      this.closeReply = code === CLOSE_NO_STATUS ? EMPTY : payload.subarray(0, 2);
      this.stateNow = 'closing';
    } else this.stateNow = 'closed';
    ev.push({ type: 'close', code, reason, wasClean: true });
  }

  private fail(err: WsProtocolError, ev: WsEvent[]): void {
    ev.push({ type: 'error', error: err });
    this.inputDone = true;
    this.closeDeadline = undefined;
    if (!this.closeSent) {
      // our Close goes out with the next pendingOutput(), as an answer to the peer's does: the
      // messages that came before the bad frame in the same read can still be answered first
      // (Autobahn expects their echoes), whichever way the bytes were split
      this.closeReply = encodeCloseBody(err.closeCode, '');
      this.stateNow = 'closing';
    } else this.stateNow = 'closed';
    ev.push({ type: 'close', code: err.closeCode, reason: '', wasClean: false });
  }
}

function positive(name: string, v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) throw new UsageError('ERR_WS_OPTION', `${name} must be a positive number`, { [name]: v });
  return v;
}

function controlPayload(data: string | Uint8Array): Uint8Array {
  const b = typeof data === 'string' ? utf8Encode(data) : data;
  if (b.length > MAX_CONTROL_PAYLOAD) {
    throw new UsageError('ERR_WS_CONTROL_LENGTH', `control payload of ${b.length} bytes over 125`, { length: b.length });
  }
  return b;
}

function utf8Error(offset: number): WsProtocolError {
  return new WsProtocolError('ERR_WS_UTF8', `text message is not UTF-8 at byte ${offset}`, CLOSE_INVALID_PAYLOAD, {
    field: 'payload',
    offset,
  });
}

function tooBig(size: number, limit: number): WsProtocolError {
  return new WsProtocolError('ERR_WS_MESSAGE_TOO_BIG', `message of ${size} bytes over the ${limit}-byte limit`, CLOSE_TOO_BIG, {
    field: 'length',
    length: size,
    limit,
  });
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
