/**
 * lws_system blobs: small identity and credential values (serial, firmware version, client
 * cert, MQTT credentials...) that the board provides and protocol code reads by slot.
 *
 * As lws_system_blob_t, a blob is either a direct view on the board's bytes (no copy: flash
 * constants, a preloaded module's data) or an appendable list of copied chunks (the "heap"
 * buflist, for values assembled at run time). Readers never need to know which.
 */
import { UsageError } from '../util/errors.js';
import { utf8Decode } from '../util/utf8.js';

/**
 * lws_system_blob_item_t, same values. AUTH has two slots (indexes 0 and 1), which is why
 * CLIENT_CERT_DER is 2. lws's optional SigV4 EXT_AUTH slots are not carried.
 */
export const BlobType = Object.freeze({
  AUTH: 0,
  CLIENT_CERT_DER: 2,
  CLIENT_KEY_DER: 3,
  DEVICE_SERIAL: 4,
  DEVICE_FW_VERSION: 5,
  DEVICE_TYPE: 6,
  NTP_SERVER: 7,
  MQTT_CLIENT_ID: 8,
  MQTT_USERNAME: 9,
  MQTT_PASSWORD: 10,
} as const);

export type BlobType = (typeof BlobType)[keyof typeof BlobType];

/** LWS_SYSBLOB_TYPE_COUNT: the number of slots */
export const BLOB_SLOT_COUNT = 11;

const EMPTY = new Uint8Array(0);

export class Blob {
  /** the direct view, or undefined when the blob is a chunk list */
  private direct: Uint8Array | undefined;
  private chunks: Uint8Array[] = [];
  private total = 0;

  /** Points the blob at `bytes` without copying (lws_system_blob_direct_set). */
  setDirect(bytes: Uint8Array): void {
    this.chunks = [];
    this.direct = bytes;
    this.total = bytes.length;
  }

  /**
   * Appends a copy of `chunk` (lws_system_blob_heap_append). A direct blob cannot grow (lws
   * asserts): reset() it first.
   */
  append(chunk: Uint8Array): void {
    if (this.direct) {
      throw new UsageError('ERR_BLOB_DIRECT', 'cannot append to a blob set with setDirect(); reset() it first');
    }
    if (chunk.length === 0) return;
    this.chunks.push(chunk.slice());
    this.total += chunk.length;
  }

  get size(): number {
    return this.total;
  }

  /**
   * The whole content as one contiguous view. A chunk list is joined once and kept joined, so
   * repeated reads cost nothing. The view is the blob's own storage: do not modify it.
   */
  get(): Uint8Array {
    if (this.direct) return this.direct;
    if (this.chunks.length === 0) return EMPTY;
    if (this.chunks.length > 1) {
      const joined = new Uint8Array(this.total);
      let o = 0;
      for (const c of this.chunks) {
        joined.set(c, o);
        o += c.length;
      }
      this.chunks = [joined];
    }
    return this.chunks[0] as Uint8Array;
  }

  /**
   * Copies from `offset` into `into`, as much as fits (lws_system_blob_get). Returns the number
   * of bytes copied; offset == size copies nothing, offset > size is 'ERR_BLOB_RANGE'.
   */
  copyOut(into: Uint8Array, offset = 0): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.total) {
      throw new UsageError('ERR_BLOB_RANGE', `blob offset ${offset} is outside 0..${this.total}`, {
        offset,
        size: this.total,
      });
    }
    const n = Math.min(into.length, this.total - offset);
    if (n === 0) return 0;
    if (this.direct) {
      into.set(this.direct.subarray(offset, offset + n));
      return n;
    }
    // walk the chunks rather than joining: a partial read should not allocate
    let skip = offset;
    let o = 0;
    for (const c of this.chunks) {
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      const take = Math.min(c.length - skip, n - o);
      into.set(c.subarray(skip, skip + take), o);
      o += take;
      skip = 0;
      if (o === n) break;
    }
    return n;
  }

  /** Empties the blob; it becomes an (empty) chunk list again (lws_system_blob_heap_empty). */
  reset(): void {
    this.direct = undefined;
    this.chunks = [];
    this.total = 0;
  }

  /** The content as UTF-8 text (strict: DecodeError 'ERR_UTF8' if it is not). */
  text(): string {
    return utf8Decode(this.get());
  }
}

/** Every blob slot of a system (the context's system_blobs[]). */
export class Blobs {
  private readonly slots: Blob[] = [];

  constructor() {
    for (let i = 0; i < BLOB_SLOT_COUNT; i++) this.slots.push(new Blob());
  }

  /** The blob for `type`; `index` selects the AUTH slot (0 or 1) and must be 0 otherwise. */
  get(type: BlobType, index = 0): Blob {
    const slots = type === BlobType.AUTH ? 2 : 1;
    const known = Number.isInteger(type) && type >= 0 && type < BLOB_SLOT_COUNT && type !== BlobType.AUTH + 1;
    if (!known || !Number.isInteger(index) || index < 0 || index >= slots) {
      throw new UsageError('ERR_BLOB_TYPE', `no blob slot for type ${String(type)} index ${String(index)}`, { type, index });
    }
    return this.slots[type + index] as Blob;
  }
}
