/**
 * The XS host's stream logic (hosts/xs/stream.ts) against a fake native socket that behaves as
 * Moddable's lwIP TCP does: write() throws "would block" past its room and returns the room
 * left, read(n) throws past what it holds, callbacks arrive when the test delivers them.
 * (The rest of hosts/xs needs Moddable's modules and is only type-checked here.)
 */
import { XsStream } from '../../hosts/xs/stream.js';
import type { NativeCallbacks } from '../../hosts/xs/stream.js';
import type { NativeStream } from '../../hosts/xs/native.js';
import type { LwsxError } from '../../src/util/errors.js';

class FakeNative implements NativeStream {
  room = 0;
  readonly sent: number[] = [];
  readonly writes: number[] = [];
  inbox: number[] = [];
  closed = false;
  throwNext = false;
  readonly remoteAddress = '192.0.2.7';
  readonly remotePort = 443;

  read(n?: number): ArrayBuffer | undefined {
    if (this.inbox.length === 0) return undefined;
    const k = n ?? this.inbox.length;
    if (k <= 0 || k > this.inbox.length) throw new Error('invalid');
    return new Uint8Array(this.inbox.splice(0, k)).buffer;
  }

  write(buffer: ArrayBuffer): number {
    if (this.throwNext || buffer.byteLength > this.room) {
      this.throwNext = false;
      throw new Error('would block');
    }
    this.room -= buffer.byteLength;
    this.writes.push(buffer.byteLength);
    this.sent.push(...new Uint8Array(buffer));
    return this.room;
  }

  close(): void {
    this.closed = true;
  }
}

interface Rig { s: XsStream; n: FakeNative; cb: NativeCallbacks; log: string[]; err: LwsxError | undefined }

function rig(tls = false): Rig {
  const r = { log: [] as string[], err: undefined as LwsxError | undefined } as Rig;
  r.s = new XsStream({
    onReadable: (c) => r.log.push(`readable ${c}`),
    onWritable: (c) => r.log.push(`writable ${c}`),
    onError: (e) => { r.err = e as LwsxError; r.log.push(`error ${(e as LwsxError).code}`); },
  }, tls);
  r.n = new FakeNative();
  r.cb = r.s.nativeCallbacks();
  r.s.attach(r.n);
  return r;
}

const seq = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

test('writes before the connection is up wait, then go out once it reports room', () => {
  const r = rig();
  expect(r.s.write(seq(10))).toBe(-10);
  expect(r.n.sent).toEqual([]);
  r.n.room = 100;
  r.cb.onWritable(100);
  expect(r.n.sent).toEqual([...seq(10)]);
  expect(r.log).toEqual(['writable 90']);
});

test('a write larger than the native room is split; onWritable once all of it is out', () => {
  const r = rig();
  r.n.room = 50;
  r.cb.onWritable(50);
  expect(r.log).toEqual(['writable 50']);
  expect(r.s.write(seq(120))).toBe(-70);
  expect(r.n.writes).toEqual([50]);
  r.n.room = 40;
  r.cb.onWritable(40);
  expect(r.n.writes).toEqual([50, 40]);
  expect(r.log).toEqual(['writable 50']);
  r.n.room = 100;
  r.cb.onWritable(100);
  expect(r.n.writes).toEqual([50, 40, 30]);
  expect(r.n.sent).toEqual([...seq(120)]);
  expect(r.log).toEqual(['writable 50', 'writable 70']);
  // room reported while nobody waits is not forwarded
  r.cb.onWritable(100);
  expect(r.log).toHaveLength(2);
});

test('"would block" from the stack keeps the bytes for the next onWritable', () => {
  const r = rig();
  r.n.room = 100;
  r.cb.onWritable(100);
  r.n.throwNext = true;
  expect(r.s.write(seq(30))).toBe(-30);
  expect(r.n.sent).toEqual([]);
  r.cb.onWritable(100);
  expect(r.n.sent).toEqual([...seq(30)]);
});

test('the caller may reuse its buffer as soon as write returns', () => {
  const r = rig();
  const b = seq(8);
  r.s.write(b);
  b.fill(0);
  r.n.room = 100;
  r.cb.onWritable(100);
  expect(r.n.sent).toEqual([...seq(8)]);
});

test('TLS writes are cut at 16 KiB records', () => {
  const r = rig(true);
  r.n.room = 40000;
  r.cb.onWritable(40000);
  r.s.write(seq(35000));
  expect(r.n.writes).toEqual([16384, 16384, 2232]);
});

test('read never asks the native socket for more than it reported', () => {
  const r = rig();
  r.n.inbox = [...seq(5)];
  r.cb.onReadable(5);
  expect(r.log).toEqual(['readable 5']);
  expect([...new Uint8Array(r.s.read(3) as ArrayBuffer)]).toEqual([0, 1, 2]);
  expect([...new Uint8Array(r.s.read(100) as ArrayBuffer)]).toEqual([3, 4]);
  expect(r.s.read()).toBeUndefined();
  expect(() => r.s.read(-1)).toThrow(expect.objectContaining({ code: 'ERR_TCP_READ' }));
});

test.each([
  [false, false, 'ERR_TCP_CONNECT'],
  [true, false, 'ERR_TLS_HANDSHAKE'],
  [false, true, 'ERR_TCP_CLOSED'],
  [true, true, 'ERR_TCP_CLOSED'],
])('onError (tls %s, connected %s) is %s; the native socket is released', (tls, connected, code) => {
  const r = rig(tls);
  if (connected) { r.n.room = 10; r.cb.onWritable(10); }
  r.cb.onError();
  expect(r.err?.code).toBe(code);
  expect(r.err?.detail).toEqual({ address: '192.0.2.7', port: 443 });
  expect(r.n.closed).toBe(true);
  expect(() => r.s.write(seq(1))).toThrow(expect.objectContaining({ code }));
  r.cb.onError();
  expect(r.log.filter((l) => l.startsWith('error'))).toHaveLength(1);
});

test('close() sends what is queued first, then closes, silently', () => {
  const r = rig();
  r.n.room = 10;
  r.cb.onWritable(10);
  r.s.write(seq(25));
  r.s.close();
  expect(r.n.closed).toBe(false);
  expect(() => r.s.write(seq(1))).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
  r.n.room = 10;
  r.cb.onWritable(10);
  r.n.inbox = [1];
  r.cb.onReadable(1);
  expect(r.n.closed).toBe(false);
  r.n.room = 10;
  r.cb.onWritable(10);
  expect(r.n.sent).toEqual([...seq(25)]);
  expect(r.n.closed).toBe(true);
  expect(r.log).toEqual(['writable 10']);
});

test('close() with nothing queued closes at once', () => {
  const r = rig();
  r.s.close();
  expect(r.n.closed).toBe(true);
  r.cb.onWritable(10);
  r.cb.onError();
  expect(r.log).toEqual([]);
});
