/**
 * The attach mailbox: order, bounds, refusal counting, the typed error, and several
 * worker_threads posting into one ring while the main thread drains it.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AttachClient, AttachFullError, AttachMailbox } from '../../src/system/attach.js';
import { bundleWorker } from '../fixtures/bundle-worker.js';
import type { BundledWorker } from '../fixtures/bundle-worker.js';

type Rec = [number, number, number];

function drainAll(box: AttachMailbox): Rec[] {
  const out: Rec[] = [];
  box.drain((c, s, a) => out.push([c, s, a]));
  return out;
}

describe('AttachMailbox', () => {
  test('drains in posting order, exactly once', () => {
    const box = AttachMailbox.create(8);
    expect(box.post(1, 10, 100)).toBe(true);
    expect(box.post(2, 20, -200)).toBe(true);
    expect(box.post(0xffffffff, 0xfffffffe, -0x80000000)).toBe(true);
    expect(box.pending).toBe(3);
    expect(drainAll(box)).toEqual([[1, 10, 100], [2, 20, -200], [0xffffffff, 0xfffffffe, -0x80000000]]);
    expect(box.pending).toBe(0);
    expect(drainAll(box)).toEqual([]);
  });

  test('capacity rounds up to a power of two; a full ring refuses and counts', () => {
    const box = AttachMailbox.create(3);
    expect(box.capacity).toBe(4);
    for (let i = 0; i < 4; i++) expect(box.post(7, i, i)).toBe(true);
    expect(box.post(7, 4, 4)).toBe(false);
    expect(box.post(7, 5, 5)).toBe(false);
    expect(box.dropped).toBe(2);
    expect(drainAll(box).map((r) => r[1])).toEqual([0, 1, 2, 3]);
    expect(box.post(7, 6, 6)).toBe(true);
    expect(drainAll(box)).toEqual([[7, 6, 6]]);
  });

  test('keeps order across many wraps of the ring', () => {
    const box = AttachMailbox.create(4);
    const got: number[] = [];
    let next = 0;
    for (let round = 0; round < 1000; round++) {
      const n = 1 + (round % 4);
      for (let i = 0; i < n; i++) expect(box.post(1, next++, 0)).toBe(true);
      box.drain((_c, s) => got.push(s));
    }
    expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  test('keeps working when the u32 head/tail counters wrap past 2^32', () => {
    const box = AttachMailbox.create(4);
    // the documented layout: words 1 and 2 are head and tail; start both 3 records before wrap
    const w = new Int32Array(box.buffer);
    w[1] = -3;
    w[2] = -3;
    const got: number[] = [];
    for (let i = 0; i < 12; i++) {
      expect(box.post(1, i, 0)).toBe(true);
      if (i % 3 === 2) box.drain((_c, s) => got.push(s));
    }
    expect(box.post(1, 12, 0) && box.post(1, 13, 0) && box.post(1, 14, 0) && box.post(1, 15, 0)).toBe(true);
    expect(box.post(1, 16, 0)).toBe(false);
    expect(box.pending).toBe(4);
    box.drain((_c, s) => got.push(s));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(w[2]).toBe(13);
  });

  test('a throwing handler loses neither that record (it was delivered) nor the ones behind it', () => {
    const box = AttachMailbox.create(4);
    box.post(1, 1, 1);
    box.post(1, 2, 2);
    box.post(1, 3, 3);
    const seen: number[] = [];
    expect(() => box.drain((_c, s) => { seen.push(s); if (s === 2) throw new Error('handler failed'); })).toThrow('handler failed');
    expect(seen).toEqual([1, 2]);
    expect(drainAll(box).map((r) => r[1])).toEqual([3]);
  });

  test('another view on the same buffer shares the ring', () => {
    const box = AttachMailbox.create(4);
    const other = new AttachMailbox(box.buffer);
    expect(other.capacity).toBe(4);
    other.post(9, 8, 7);
    expect(drainAll(box)).toEqual([[9, 8, 7]]);
  });

  test('bad records, capacities and buffers are usage errors', () => {
    const box = AttachMailbox.create(2);
    for (const [c, s, a] of [[-1, 0, 0], [0, 2 ** 32, 0], [0, 0, 2 ** 31], [0.5, 0, 0], [0, 0, Number.NaN]] as Rec[]) {
      expect(() => box.post(c, s, a)).toThrow(expect.objectContaining({ code: 'ERR_ATTACH_RECORD' }));
    }
    for (const cap of [0, -1, 1.5, 1 << 20]) {
      expect(() => AttachMailbox.create(cap)).toThrow(expect.objectContaining({ code: 'ERR_ATTACH_CAPACITY' }));
    }
    expect(() => new AttachMailbox(new SharedArrayBuffer(64))).toThrow(expect.objectContaining({ code: 'ERR_ATTACH_BUFFER' }));
    expect(() => new AttachMailbox(new ArrayBuffer(64) as unknown as SharedArrayBuffer)).toThrow(expect.objectContaining({ code: 'ERR_ATTACH_BUFFER' }));
  });
});

describe('AttachClient', () => {
  test('posts then wakes; a full ring throws ERR_ATTACH_FULL and still wakes', () => {
    const box = AttachMailbox.create(1);
    let wakes = 0;
    const client = new AttachClient(box.buffer, () => wakes++);
    client.request(3, 4, 5);
    expect(wakes).toBe(1);
    let err: unknown;
    try {
      client.request(3, 4, 6);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AttachFullError);
    expect(err).toMatchObject({ code: 'ERR_ATTACH_FULL', detail: { channel: 3, targetState: 4, arg: 6, capacity: 1, dropped: 1 } });
    expect(wakes).toBe(2);
    expect(drainAll(box)).toEqual([[3, 4, 5]]);
  });
});

describe('many producers, one consumer', () => {
  let bundle: BundledWorker;
  beforeAll(() => {
    bundle = bundleWorker(fileURLToPath(new URL('../fixtures/attach-producer.ts', import.meta.url)));
  });
  afterAll(() => bundle.dispose());

  test.each([2, 4])('%i workers x 20000 records through a 64-record ring: each drained exactly once, in order per worker', async (k) => {
    const N = 20_000;
    const box = AttachMailbox.create(64);
    const go = new SharedArrayBuffer(4);
    const workers = Array.from({ length: k }, (_, id) => new Worker(bundle.file, { workerData: { mode: 'stress', sab: box.buffer, id, count: N, go } }));
    const refused: number[] = [];
    const done = workers.map((w) => new Promise<void>((resolve, reject) => {
      w.on('message', (m: { refused: number }) => refused.push(m.refused));
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
    }));
    await new Promise((r) => setTimeout(r, 20));
    const goView = new Int32Array(go);
    Atomics.store(goView, 0, 1);
    Atomics.notify(goView, 0);

    const next = new Array<number>(k).fill(0);
    let total = 0;
    let misordered = 0;
    let wrongArg = 0;
    const take = (c: number, s: number, a: number): void => {
      if (s !== next[c]) misordered++;
      if (a !== -s) wrongArg++;
      next[c] = s + 1;
      total++;
    };
    const until = Date.now() + 30_000;
    while (total < N * k && Date.now() < until) {
      if (box.drain(take) === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(done);
    box.drain(take);
    expect(total).toBe(N * k);
    expect(next).toEqual(new Array<number>(k).fill(N));
    expect(misordered).toBe(0);
    expect(wrongArg).toBe(0);
    expect(box.pending).toBe(0);
    expect(box.dropped).toBe(refused.reduce((a, b) => a + b, 0));
  });
});
