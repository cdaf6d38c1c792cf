/**
 * The Node host's client stream (host.tcp), which reads through Node's `onread` into one shared
 * buffer and copies each read out: flow control still holds the read limit while nobody reads,
 * every byte arrives intact and in order across many connections sharing that buffer, and the
 * peer's FIN is reported after the last byte. Writes copy: the caller may reuse its buffer as
 * soon as write() returns.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { NodeHost } from '../../hosts/node/host.js';
import type { TCP } from '../../src/net/host.js';
import type { LwsxError } from '../../src/util/errors.js';
import { sleep, waitFor } from '../helpers/wait.js';

const READ_LIMIT = 16 * 1024;
let host: NodeHost;
let srv: Server;
const peers: Socket[] = [];
const clients: TCP[] = [];

beforeEach(async () => {
  host = await NodeHost.open({ readLimit: READ_LIMIT });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of peers.splice(0)) p.destroy();
  host.close();
  await new Promise((r) => srv.close(r));
});

async function serve(onConn: (s: Socket) => void): Promise<number> {
  srv = createServer((s) => {
    peers.push(s);
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as { port: number }).port;
}

const pattern = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
};

test('unread bytes stop at the read limit (plus one read); then all 4 MiB arrive intact, then the FIN', async () => {
  const TOTAL = 4 * 1024 * 1024;
  const sent = pattern(TOTAL, 1);
  const port = await serve((s) => s.end(sent));
  let err: LwsxError | undefined;
  let connected = false;
  const c = host.tcp({ address: '127.0.0.1', port, onWritable: () => { connected = true; }, onError: (e) => { err = e as LwsxError; } });
  clients.push(c);
  await waitFor('connect', () => connected);
  const readable = (): number => c.readable;
  await waitFor('the read limit', () => readable() >= READ_LIMIT);
  await sleep(50);
  // Node stopped reading: at most the limit plus one read's worth is held here
  expect(readable()).toBeLessThanOrEqual(READ_LIMIT + 64 * 1024);
  expect(err).toBeUndefined();
  const got: Buffer[] = [];
  let n = 0;
  await waitFor('everything', () => {
    for (let b = c.read(); b; b = c.read()) {
      got.push(Buffer.from(b));
      n += b.byteLength;
    }
    return n === TOTAL;
  }, 20_000);
  expect(Buffer.concat(got).equals(sent)).toBe(true);
  await waitFor('the FIN', () => err !== undefined);
  expect(err?.code).toBe('ERR_TCP_CLOSED');
});

test('connections read side by side (one shared read buffer) each get their own bytes', async () => {
  const SIZE = 256 * 1024;
  let seed = 0;
  const port = await serve((s) => {
    // the peer names the stream it wants in its first byte
    s.once('data', (d) => {
      const b = pattern(SIZE, d[0] as number);
      for (let off = 0; off < SIZE; off += 1000) s.write(b.subarray(off, off + 1000));
      s.end();
    });
  });
  const streams = [0, 1, 2, 3].map(() => {
    const me = ++seed;
    const got: Buffer[] = [];
    let ended = false;
    const c: TCP = host.tcp({
      address: '127.0.0.1',
      port,
      onWritable: () => { if (got.length === 0) c.write(Uint8Array.of(me)); },
      onReadable: () => { for (let b = c.read(); b; b = c.read()) got.push(Buffer.from(b)); },
      onError: () => { ended = true; },
    });
    clients.push(c);
    return { me, got, done: () => ended };
  });
  await waitFor('every stream', () => streams.every((s) => s.done()), 20_000);
  for (const s of streams) expect(Buffer.concat(s.got).equals(pattern(SIZE, s.me))).toBe(true);
});

test('write() copies: the caller reuses its buffer at once, the peer gets what was written', async () => {
  let got = '';
  const port = await serve((s) => s.on('data', (d) => { got += d.toString('latin1'); }));
  let connected = false;
  const c = host.tcp({ address: '127.0.0.1', port, onWritable: () => { connected = true; } });
  clients.push(c);
  await waitFor('connect', () => connected);
  const small = new Uint8Array(Buffer.from('sixteen bytes!!!', 'latin1'));
  c.write(small);
  small.fill(0x2d);
  const view = new Uint8Array(Buffer.from('xxviewxx', 'latin1')).subarray(2, 6);
  c.write(view);
  view.fill(0x2d);
  await waitFor('both', () => got.length === 20);
  expect(got).toBe('sixteen bytes!!!view');
});
