/**
 * WebSocket frame parsing throughput, in process: lwsx's server-side WsConnection.receive (the
 * FrameHeaderReader, unmasking, message events) against the `ws` package's Receiver (what a
 * ws server feeds its socket's bytes to), on the same byte stream of masked binary frames of
 * 16 B, 1 KiB and 64 KiB, handed over in the 64 KiB pieces a socket read gives. Both deliver
 * every message to a callback, which checks its size. MB/s counts wire bytes; ratio = lwsx ÷ ws.
 *
 * ws unmasks in place, in the buffer it was given: fed the same stream again it XORs the
 * payloads back, the same work, so both parse one stream over and over. Only the first pass
 * checks the payload bytes.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WsConnection } from '../src/protocols/ws/connection.js';
import { encodeFrame, OP_BINARY } from '../src/protocols/ws/frame.js';

const STREAM_BYTES = 1 << 20;
const READ_BYTES = 65536;
const BUDGET_MS = 1000;

interface Receiver {
  write(chunk: Buffer): boolean;
  on(event: 'message', fn: (data: Buffer, binary: boolean) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
}
type ReceiverClass = new (opts: { isServer: boolean; maxPayload: number; skipUTF8Validation?: boolean }) => Receiver;

/** About STREAM_BYTES of masked binary frames of `size` payload bytes, cut into socket reads. */
function stream(size: number): { reads: Uint8Array[]; frames: number; wire: number; payload: Uint8Array } {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 7 + 3) & 0xff;
  const mask = new Uint8Array(4);
  const frames: Uint8Array[] = [];
  let wire = 0;
  for (let i = 0; wire < STREAM_BYTES; i++) {
    mask[0] = i;
    mask[1] = i >> 8;
    mask[2] = 0x5a;
    mask[3] = 0xa5;
    const f = encodeFrame(OP_BINARY, payload, true, false, mask);
    frames.push(f);
    wire += f.length;
  }
  const all = new Uint8Array(wire);
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.length;
  }
  const reads: Uint8Array[] = [];
  for (let off = 0; off < wire; off += READ_BYTES) reads.push(all.subarray(off, Math.min(wire, off + READ_BYTES)));
  return { reads, frames: frames.length, wire, payload };
}

/** Runs `pass` (one parse of the whole stream) for BUDGET_MS after a warm-up; MB/s and frames/s. */
function measure(wire: number, frames: number, pass: () => void): { mbps: number; fps: number } {
  for (let i = 0; i < 20; i++) pass();
  let runs = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < BUDGET_MS) {
    pass();
    runs++;
    t = performance.now();
  }
  const s = (t - t0) / 1000;
  return { mbps: (runs * wire) / s / 1e6, fps: (runs * frames) / s };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function lwsx(s: ReturnType<typeof stream>, size: number): () => void {
  const conn = new WsConnection({ role: 'server', maxMessageSize: 1 << 20 });
  conn.open(0);
  let first = true;
  return () => {
    let n = 0;
    for (const r of s.reads) {
      for (const e of conn.receive(r, 0)) {
        if (e.type !== 'message' || !(e.data instanceof Uint8Array) || e.data.length !== size) throw new Error(`lwsx: unexpected ${e.type}`);
        if (first && !same(e.data, s.payload)) throw new Error('lwsx: payload differs');
        n++;
      }
    }
    first = false;
    if (n !== s.frames) throw new Error(`lwsx parsed ${n} of ${s.frames} frames`);
  };
}

function ws(Rx: ReceiverClass, s: ReturnType<typeof stream>, size: number): () => void {
  const rx = new Rx({ isServer: true, maxPayload: 1 << 20 });
  // its own copy, in the same reads (ws unmasks in place)
  const copy = Buffer.alloc(s.wire);
  for (const r of s.reads) copy.set(r, r.byteOffset);
  const own = s.reads.map((r) => copy.subarray(r.byteOffset, r.byteOffset + r.length));
  let n = 0;
  let first = true;
  rx.on('error', (e) => {
    throw e;
  });
  rx.on('message', (data, binary) => {
    if (!binary || data.length !== size) throw new Error('ws: unexpected message');
    if (first && !same(data, s.payload)) throw new Error('ws: payload differs');
    n++;
  });
  return () => {
    n = 0;
    for (const r of own) rx.write(r);
    first = false;
    if (n !== s.frames) throw new Error(`ws parsed ${n} of ${s.frames} frames`);
  };
}

export async function main(): Promise<void> {
  // ws exports its Receiver as WebSocket.Receiver (ws/lib/* is not in its package exports)
  const Rx = (createRequire(import.meta.url)('ws') as { Receiver: ReceiverClass }).Receiver;
  console.log(`\nws frame parsing, masked binary frames (server side), ${STREAM_BYTES >> 20} MiB streams in ${READ_BYTES >> 10} KiB reads, ${BUDGET_MS} ms per figure`);
  console.log(`${'frame payload'.padEnd(14)} ${'lwsx MB/s'.padStart(10)} ${'lwsx frames/s'.padStart(14)} ${'ws MB/s'.padStart(10)} ${'ws frames/s'.padStart(14)} ${'lwsx ÷ ws'.padStart(10)}`);
  for (const [label, size] of [['16 B', 16], ['1 KiB', 1024], ['64 KiB', 65536]] as const) {
    const s = stream(size);
    const ours = measure(s.wire, s.frames, lwsx(s, size));
    const theirs = measure(s.wire, s.frames, ws(Rx, s, size));
    const k = (x: number): string => Math.round(x).toLocaleString('en-US');
    console.log(
      `${label.padEnd(14)} ${ours.mbps.toFixed(0).padStart(10)} ${k(ours.fps).padStart(14)} ${theirs.mbps.toFixed(0).padStart(10)} ${k(theirs.fps).padStart(14)} ${(ours.mbps / theirs.mbps).toFixed(2).padStart(10)}`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
