/**
 * Streaming MQTT decoder: push bytes split anywhere, get whole packets back.
 *
 * The first byte of each packet is checked the moment it arrives (type, flags), the Remaining
 * Length as it completes (at most 4 bytes; the whole packet against maxPacketSize, so an
 * oversized packet is refused before a byte of its body is buffered). A packet that arrived
 * whole in one push is parsed in place and copies only its payload out; one split across
 * pushes is gathered into a buffer of exactly its size, and its payload is a view of that
 * buffer. Nothing else is buffered: at most maxPacketSize bytes are ever held.
 *
 * Any failure throws MqttProtocolError and the decoder stays failed: every later push throws
 * the same error, because the stream cannot be resynchronised and the connection must close.
 * Packets completed earlier in the same push are in the `out` array the caller passed, so a
 * QoS 0 message that arrived whole before the garbage can still be delivered.
 */
import { UsageError } from '../../util/errors.js';
import { MqttProtocolError } from './errors.js';
import type { MqttPacket, MqttVersion } from './packet.js';
import { PACKET_NAMES } from './packet.js';
import { checkFixedHeader, parseBody } from './parse.js';
import { MAX_PACKET_SIZE } from './wire.js';

/**
 * What a decoder holds at most by default. MQTT allows 256 MiB; a device cannot, so a
 * connection advertises what it takes (5.0 Maximum Packet Size) and sets this to match.
 */
export const DEFAULT_MAX_PACKET_SIZE = 256 * 1024;

export interface MqttDecoderOptions {
  /** the protocol version; leave it unset on a server, where the CONNECT decides */
  version?: MqttVersion;
  /** the largest packet accepted, fixed header included (2..268,435,460) */
  maxPacketSize?: number;
}

const EMPTY = new Uint8Array(0);

export class MqttDecoder {
  readonly maxPacketSize: number;
  private v: MqttVersion | undefined;
  /** first byte of the packet in progress, -1 between packets */
  private first = -1;
  private rem = 0;
  private mul = 1;
  private lenBytes = 0;
  /** the body of a packet split across pushes, once its length is known */
  private body: Uint8Array | undefined;
  private have = 0;
  private failure: unknown;
  private failed = false;

  constructor(opts: MqttDecoderOptions = {}) {
    const max = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    if (!Number.isInteger(max) || max < 2 || max > MAX_PACKET_SIZE) {
      throw new UsageError('ERR_MQTT_OPTIONS', `maxPacketSize must be an integer in 2..${MAX_PACKET_SIZE}, not ${String(max)}`, { field: 'maxPacketSize' });
    }
    if (opts.version !== undefined && opts.version !== 4 && opts.version !== 5) {
      throw new UsageError('ERR_MQTT_OPTIONS', `version must be 4 or 5, not ${String(opts.version)}`, { field: 'version' });
    }
    this.maxPacketSize = max;
    this.v = opts.version;
  }

  /** The protocol version packets are read as: the option, or the CONNECT's once one is read. */
  get version(): MqttVersion | undefined {
    return this.v;
  }

  /** Bytes held for a packet still arriving. */
  get buffered(): number {
    return this.body === undefined ? 0 : this.have;
  }

  /** True between packets: nothing of a packet has arrived unfinished. */
  get idle(): boolean {
    return this.first < 0;
  }

  /** Appends the packets `bytes` completes to `out` (a new array by default) and returns it. */
  push(bytes: Uint8Array, out: MqttPacket[] = []): MqttPacket[] {
    if (this.failed) throw this.failure;
    try {
      return this.run(bytes, out);
    } catch (e) {
      this.failed = true;
      this.failure = e;
      this.body = undefined;
      throw e;
    }
  }

  /** The stream ended: refuses a packet left unfinished. */
  end(): void {
    if (this.failed) throw this.failure;
    if (this.first < 0) return;
    const packet = PACKET_NAMES[this.first >> 4] as string;
    const inBody = this.body !== undefined;
    this.failed = true;
    this.body = undefined;
    this.failure = new MqttProtocolError('ERR_MQTT_MALFORMED', `${packet}: the stream ended inside the packet`, {
      packet,
      field: inBody ? 'body' : 'remaining length',
      offset: inBody ? this.have : 0,
    });
    throw this.failure;
  }

  private run(bytes: Uint8Array, out: MqttPacket[]): MqttPacket[] {
    const n = bytes.length;
    let i = 0;
    while (i < n) {
      const body = this.body;
      if (body !== undefined) {
        const take = Math.min(this.rem - this.have, n - i);
        body.set(bytes.subarray(i, i + take), this.have);
        this.have += take;
        i += take;
        if (this.have === this.rem) {
          this.body = undefined;
          out.push(this.finish(body, 0, this.rem, true));
        }
        continue;
      }
      const x = bytes[i++] as number;
      if (this.first < 0) {
        checkFixedHeader(x, this.v);
        this.first = x;
        this.rem = 0;
        this.mul = 1;
        this.lenBytes = 0;
        continue;
      }
      this.rem += (x & 0x7f) * this.mul;
      this.mul *= 128;
      this.lenBytes++;
      if (x & 0x80) {
        if (this.lenBytes === 4) this.headerFail('ERR_MQTT_MALFORMED', 'remaining length is longer than 4 bytes');
        continue;
      }
      const total = 1 + this.lenBytes + this.rem;
      if (total > this.maxPacketSize) this.headerFail('ERR_MQTT_PACKET_TOO_LARGE', `packet of ${total} bytes exceeds the maximum packet size ${this.maxPacketSize}`, total);
      if (this.rem === 0) out.push(this.finish(EMPTY, 0, 0, true));
      else if (n - i >= this.rem) {
        out.push(this.finish(bytes, i, i + this.rem, false));
        i += this.rem;
      } else {
        this.body = new Uint8Array(this.rem);
        this.have = 0;
      }
    }
    return out;
  }

  private finish(b: Uint8Array, start: number, end: number, owned: boolean): MqttPacket {
    const p = parseBody(this.first, b, start, end, this.v, owned);
    this.first = -1;
    this.have = 0;
    if (p.type === 'connect' && this.v === undefined) this.v = p.version;
    return p;
  }

  private headerFail(code: 'ERR_MQTT_MALFORMED' | 'ERR_MQTT_PACKET_TOO_LARGE', message: string, size?: number): never {
    const packet = PACKET_NAMES[this.first >> 4] as string;
    const detail: Record<string, unknown> = { packet, field: 'remaining length' };
    if (size !== undefined) {
      detail['size'] = size;
      detail['limit'] = this.maxPacketSize;
    }
    throw new MqttProtocolError(code, `${packet}: ${message}`, detail);
  }
}

/**
 * Decodes exactly one whole packet (tests, stored packets). Fields are copies: nothing refers
 * back to `bytes`.
 */
export function decodePacket(bytes: Uint8Array, version?: MqttVersion, maxPacketSize: number = MAX_PACKET_SIZE): MqttPacket {
  const d = new MqttDecoder(version === undefined ? { maxPacketSize } : { version, maxPacketSize });
  const packets = d.push(bytes);
  d.end();
  if (packets.length !== 1) {
    throw new MqttProtocolError('ERR_MQTT_MALFORMED', `${packets.length} packets where one was expected`, { field: 'remaining length', packets: packets.length });
  }
  return packets[0] as MqttPacket;
}
