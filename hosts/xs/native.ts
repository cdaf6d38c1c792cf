/**
 * What Moddable's ECMA-419 sockets do at run time, where @moddable/typings 5.6 says otherwise.
 * Checked against Moddable's sources (modules/io/socket/lwip/{tcp,udp}.c, listener.js) and its
 * own tests (tests/modules/io/socket/udp/write.js):
 *  - UDP write takes (address, port, buffer), not (buffer, address, port) as typed;
 *  - UDP and Listener have close(), which the typings leave out;
 *  - read() returns undefined when nothing is waiting, and TCP read(n) throws if n is more than
 *    is waiting, so callers track the count onReadable reported;
 *  - TCP write() throws "would block" past the send buffer and returns the room left.
 * The host converts each native object to these shapes in one place (a cast through unknown).
 * Nothing here imports a Moddable module, so the stream logic built on it also runs under Node
 * (test/unit/xs-stream.test.ts drives it with a fake native socket).
 */
export interface NativeStream {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  read(byteLength?: number): ArrayBuffer | number | undefined;
  write(buffer: ArrayBuffer): number | undefined;
  close(): void;
}

export type NativeDatagram = ArrayBuffer & { address: string; port: number };

export interface NativeUdp {
  read(): NativeDatagram | undefined;
  write(address: string, port: number, buffer: ArrayBuffer | ArrayBufferView): void;
  close(): void;
}

/** A dotted-quad IPv4 or a colon IPv6 literal: what Moddable's sockets accept as an address. */
export function isIpLiteral(s: string): boolean {
  if (s.includes(':')) return /^[0-9a-fA-F:.]+$/.test(s);
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** An ArrayBuffer holding exactly these bytes (the caller's own when it already is one). */
export function exactArrayBuffer(data: ArrayBuffer | ArrayBufferView): ArrayBuffer {
  if (data instanceof ArrayBuffer) return data;
  const out = new ArrayBuffer(data.byteLength);
  new Uint8Array(out).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}
