/**
 * Oversized input is refused with the right code, for WebSockets with permessage-deflate and at
 * the handshake: frames over maxFrameSize and messages over maxMessageSize (1009), messages that
 * only pass the limit once inflated (1009, stopped at the limit: a decompression bomb is never
 * inflated whole), and an upgrade whose head is too large (431 from our server; a typed error
 * for our client). The uncompressed frame and message limits are in ws-connection.test.ts.
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { wsDeflater } from '../../hosts/common/ws-deflater.js';
import { RawInflate } from '../../hosts/common/raw-inflate.js';
import { NodeHost } from '../../hosts/node/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import type { DeflateParams } from '../../src/protocols/ws/extensions.js';
import { wsConnect } from '../../src/protocols/ws/ws-client.js';
import { DecodeError, type LwsxError } from '../../src/util/errors.js';
import { waitFor } from '../helpers/wait.js';
import { BINARY, CONT, echoRun, rawFrame, TEXT } from './ws-harness.js';

const params: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const MiB = 1024 * 1024;

/** LSB-first bit writer for hand-made DEFLATE streams. */
class Bits {
  private buf: Uint8Array;
  private n = 0;
  private acc = 0;
  private cnt = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  put(v: number, k: number): void {
    this.acc |= v << this.cnt;
    this.cnt += k;
    while (this.cnt >= 8) {
      this.buf[this.n++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.cnt -= 8;
    }
  }
  /** a fixed-Huffman code, given MSB-first as the RFC lists it */
  code(c: number, k: number): void {
    let r = 0;
    for (let i = 0; i < k; i++) r = (r << 1) | ((c >> i) & 1);
    this.put(r, k);
  }
  done(): Uint8Array {
    if (this.cnt) this.put(0, 8 - this.cnt);
    return this.buf.subarray(0, this.n);
  }
}

/**
 * A DEFLATE bomb: one fixed-Huffman block of a zero byte then `reps` matches of 258 bytes at
 * distance 1 (13 bits each, so about 160 000:1), then, when `poison`, an invalid block type: an
 * inflater that inflated it whole would reach that and fail with 1007 rather than 1009.
 */
function bomb(reps: number, poison: boolean): Uint8Array {
  const b = new Bits(Math.ceil((reps * 13) / 8) + 16);
  b.put(2, 3); // BFINAL 0, fixed Huffman
  b.code(0x30, 8); // literal 0
  for (let i = 0; i < reps; i++) {
    b.code(0xc5, 8); // length 258 (symbol 285)
    b.put(0, 5); // distance 1
  }
  b.put(0, 7); // end of block
  if (poison) b.put(6, 3); // BFINAL 0, BTYPE 11: reserved
  return b.done();
}

describe('compressed messages over the limit', () => {
  const GiB_REPS = Math.ceil((1024 * MiB) / 258);

  test('a 1 GiB bomb in one frame is refused with 1009 at the limit, before the rest of it is read', () => {
    const z = bomb(GiB_REPS, true);
    expect(z.length).toBeLessThan(7 * MiB);
    const r = echoRun('server', [rawFrame({ op: BINARY, payload: z, rsv: 4 }, 'server')], { deflater: wsDeflater(params, 'server'), maxMessageSize: MiB, maxFrameSize: 8 * MiB });
    expect(r.events.map((e) => e.type)).toEqual(['error', 'close']);
    expect(r.events[0]).toMatchObject({ error: { code: 'ERR_WS_MESSAGE_TOO_BIG', closeCode: 1009 } });
    expect(r.frames.map((f) => [f.op, Array.from(f.payload)])).toEqual([[8, [0x03, 0xf1]]]);
  });

  test.each([false, true])('the same bomb cut into 64 KiB frames (streamFragments %s): 1009 on the frame that passes the limit', (streamFragments) => {
    const z = bomb(GiB_REPS, true);
    const frames: Uint8Array[] = [];
    for (let off = 0; off < z.length; off += 65536) {
      frames.push(rawFrame({ op: off === 0 ? TEXT : CONT, payload: z.subarray(off, off + 65536), rsv: off === 0 ? 4 : 0, fin: off + 65536 >= z.length }, 'server'));
    }
    const r = echoRun('server', frames, { deflater: wsDeflater(params, 'server'), maxMessageSize: MiB, streamFragments });
    const err = r.events.findIndex((e) => e.type === 'error');
    expect(r.events[err]).toMatchObject({ error: { code: 'ERR_WS_MESSAGE_TOO_BIG', closeCode: 1009 } });
    expect(r.events.at(-1)).toEqual({ type: 'close', code: 1009, reason: '', wasClean: false });
    // 1 MiB comes out of the first frame's 64 KiB (10 MiB of output): the first frame already fails
    expect(r.events.filter((e) => e.type === 'message')).toEqual([]);
  });

  test('exactly at the limit is accepted; one byte more is not', () => {
    const msg = new Uint8Array(100_000).fill(0x61);
    const z = wsDeflater(params, 'client').compress(msg, true);
    const at = echoRun('server', [rawFrame({ op: BINARY, payload: z, rsv: 4 }, 'server')], { deflater: wsDeflater(params, 'server'), maxMessageSize: 100_000 });
    expect(at.events.map((e) => e.type)).toEqual(['message']);
    const over = echoRun('server', [rawFrame({ op: BINARY, payload: z, rsv: 4 }, 'server')], { deflater: wsDeflater(params, 'server'), maxMessageSize: 99_999 });
    expect(over.events[0]).toMatchObject({ error: { code: 'ERR_WS_MESSAGE_TOO_BIG', closeCode: 1009 } });
  });

  test('a compressed frame over maxFrameSize is refused from its header, whatever it would inflate to', () => {
    const wire = rawFrame({ op: BINARY, payload: new Uint8Array(70_000), rsv: 4 }, 'server');
    const r = echoRun('server', [wire.subarray(0, 14)], { deflater: wsDeflater(params, 'server'), maxFrameSize: 65_536 });
    expect(r.events[0]).toMatchObject({ error: { code: 'ERR_WS_FRAME_TOO_BIG', closeCode: 1009 } });
  });

  test('RawInflate itself: output stops at the limit (undefined), never past it', () => {
    const inf = new RawInflate(15);
    expect(inf.push(bomb(GiB_REPS, true), 64 * 1024)).toBeUndefined();
    // below the limit the same kind of stream inflates, and the poison is then reported
    const small = new RawInflate(15);
    expect(() => small.push(bomb(10, true), MiB)).toThrow(DecodeError);
    const out = new RawInflate(15).push(bomb(10, false), MiB);
    expect(out?.length).toBe(1 + 2580);
    expect(out?.every((b) => b === 0)).toBe(true);
  });
});

describe('the opening handshake over the limit', () => {
  const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
  let ctx: Context;
  beforeAll(async () => {
    ctx = new Context({ host: await NodeHost.open(), board });
  });
  afterAll(() => ctx.destroy());

  test('our server answers an upgrade request with oversized headers with 431, and one too large in total likewise', async () => {
    const srv = new HttpServer(ctx, { listen: { address: '127.0.0.1', port: 0 }, mounts: [{ kind: 'ws', prefix: '/', deflate: {}, handlers: () => ({}) }] });
    await (srv.listener as unknown as { bound(): Promise<number> }).bound();
    const ask = (head: string): Promise<string> =>
      new Promise((resolve) => {
        const s: Socket = netConnect(srv.port, '127.0.0.1', () => s.write(head));
        let got = '';
        s.on('data', (d) => (got += d.toString('latin1')));
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
      });
    const base = 'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    expect(await ask(`${base}Sec-WebSocket-Extensions: permessage-deflate; ${'x'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await ask(`${base}${'X-Pad: y\r\n'.repeat(300)}\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    srv.close();
  });

  test('our client refuses a 101 whose head is too large: onClose(1006) with a typed error', async () => {
    const server = createServer((c) => {
      c.once('data', () => c.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Pad: ${'p'.repeat(40_000)}\r\n\r\n`));
      c.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    let closed: { code: number; err: LwsxError | undefined } | undefined;
    wsConnect(ctx, { host: '127.0.0.1', port: (server.address() as { port: number }).port, deflate: {} }, { onClose: (_ws, code, _r, err) => (closed = { code, err }) });
    await waitFor('close', () => closed !== undefined);
    expect(closed?.code).toBe(1006);
    expect(closed?.err?.code).toBe('ERR_H1_HEAD_TOO_LARGE');
    await new Promise((r) => server.close(r));
  });
});
