/**
 * permessage-deflate inside Moddable's XS engine: the hosts' deflater (hosts/common/ws-deflater)
 * bundled and run in xsnap, checked against node:zlib both ways. zlib compresses messages (one
 * context-takeover stream, sync-flushed per message, as `ws` does) that XS inflates; XS
 * compresses messages under several negotiated parameter sets that zlib inflates, keeping only
 * the negotiated window (64-byte output chunks make zlib refuse a distance beyond it).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zc, createDeflateRaw, inflateRawSync } from 'node:zlib';
import { repoRoot } from '../helpers/bundle.js';
import type { DeflateParams } from '../../src/protocols/ws/extensions.js';

const runner = join(repoRoot, 'test/xs/run-in-xs.mjs');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Deterministic messages: JSON-ish text, a repetitive binary record, noise, an empty one. */
function messages(): Buffer[] {
  let s = 0x1234567;
  const r = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const out: Buffer[] = [];
  for (let i = 0; i < 6; i++) {
    out.push(Buffer.from(JSON.stringify(Array.from({ length: 20 + i * 15 }, (_, k) => ({ id: k, t: 20 + (r() % 50) / 10, unit: 'celsius', ok: r() % 2 === 0 })))));
  }
  out.push(Buffer.from(Array.from({ length: 3000 }, (_, i) => (i % 64 < 40 ? i & 7 : r() & 0xff))));
  out.push(Buffer.from(Array.from({ length: 2000 }, () => r() & 0xff)));
  out.push(Buffer.alloc(0));
  out.push(Buffer.from('the end, the end, the end'));
  return out;
}

/** zlib, one stream across messages, sync-flushed after each (what ws sends), tails removed. */
async function zlibMessages(msgs: Buffer[]): Promise<Buffer[]> {
  const z = createDeflateRaw();
  let got: Buffer[] = [];
  z.on('data', (c: Buffer) => got.push(c));
  const out: Buffer[] = [];
  for (const m of msgs) {
    const c = await new Promise<Buffer>((resolve) => {
      z.write(m);
      z.flush(zc.Z_SYNC_FLUSH, () => {
        resolve(Buffer.concat(got));
        got = [];
      });
    });
    out.push(c.subarray(0, c.length - 4));
  }
  z.close();
  return out;
}

const PARAMS: Array<[string, DeflateParams]> = [
  ['window 15, context takeover', { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }],
  ['window 9, no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 }],
  ['window 8, context takeover', { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
];

test('XS inflates what zlib compressed, and zlib inflates what XS compressed, within the negotiated window', async () => {
  const msgs = messages();
  const fromZlib = await zlibMessages(msgs);
  const dir = join(repoRoot, '.lwsx-run');
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, 'ws-deflate-xs.entry.ts');
  writeFileSync(
    entry,
    `import { wsDeflater } from '${join(repoRoot, 'hosts/common/ws-deflater.js')}';
import { reportToHost } from '${join(repoRoot, 'test/xs/report.js')}';
const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const MESSAGES: string[] = ${JSON.stringify(msgs.map(hex))};
const FROM_ZLIB: string[] = ${JSON.stringify(fromZlib.map(hex))};
const PARAMS = ${JSON.stringify(PARAMS.map(([, p]) => p))};
reportToHost(() => {
  const takeover = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const rx = wsDeflater(takeover, 'client');
  const inflated = FROM_ZLIB.map((m) => hex(rx.decompress(unhex(m), true, 1 << 20) as Uint8Array));
  const compressed = PARAMS.map((p) => {
    const tx = wsDeflater(p, 'client');
    return MESSAGES.map((m) => hex(tx.compress(unhex(m), true)));
  });
  return { inflated, compressed, engine: typeof issueCommand };
});
declare const issueCommand: unknown;
`,
  );
  const out = execFileSync(process.execPath, [runner, entry], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  const { result, meter } = JSON.parse(out.trim().split('\n').pop() as string) as {
    result: { inflated: string[]; compressed: string[][]; engine: string; error?: string };
    meter: { compute: number };
  };
  expect(result.error).toBeUndefined();
  expect(result.engine).toBe('function'); // it ran inside xsnap, which provides issueCommand
  expect(meter.compute).toBeGreaterThan(0);
  // zlib → XS
  expect(result.inflated).toEqual(msgs.map(hex));
  // XS → zlib, per parameter set: one stream with context takeover, one stream per message without
  PARAMS.forEach(([name, p], i) => {
    const bits = p.clientMaxWindowBits;
    const wire = (result.compressed[i] as string[]).map((h) => Buffer.from(h, 'hex'));
    const tail = Buffer.from([0, 0, 0xff, 0xff]);
    const opts = { windowBits: Math.max(9, bits), chunkSize: 64, finishFlush: zc.Z_SYNC_FLUSH };
    if (p.clientNoContextTakeover) {
      wire.forEach((w, k) => expect([name, inflateRawSync(Buffer.concat([w, tail]), opts).equals(msgs[k] as Buffer)]).toEqual([name, true]));
    } else {
      const stream = Buffer.concat(wire.flatMap((w) => [w, tail]));
      expect([name, inflateRawSync(stream, opts).equals(Buffer.concat(msgs))]).toEqual([name, true]);
    }
  });
});
