/**
 * Split and fuzz tests for WebSockets with permessage-deflate, through the real glue: the whole
 * exchange a peer sends (the 101 response or the upgrade request, then frames: compressed and
 * not, fragmented, pings, close) is cut at every byte boundary, byte by byte, and at random,
 * and delivered through an in-memory socket to wsConnect (client) or an HttpServer 'ws' mount
 * (server), each running on a wsi with WsSocket. Every chunking must give the same callbacks and
 * the same bytes written back. Then arbitrary and mutated bytes go into the compressed
 * connection machine and into the inflater: only typed errors, and every run ends.
 *
 * The uncompressed WsConnection alone is split and fuzzed in ws-connection.test.ts, and the
 * HTTP/1.1 parser in h1-parser.test.ts.
 */
import fc from 'fast-check';
import { wsDeflater } from '../../hosts/common/ws-deflater.js';
import { RawDeflate } from '../../hosts/common/raw-deflate.js';
import { RawInflate } from '../../hosts/common/raw-inflate.js';
import type { AcceptedTCP, Bytes, Listener, ListenOptions, SocketCallbacks, TCP, TcpOptions } from '../../src/net/host.js';
import { Context } from '../../src/loop/context.js';
import { HttpServer } from '../../src/protocols/h1/http-server.js';
import { WsConnection, type WsEvent } from '../../src/protocols/ws/connection.js';
import type { MessageDeflater } from '../../src/protocols/ws/deflater.js';
import { WsProtocolError } from '../../src/protocols/ws/errors.js';
import type { DeflateOptions, DeflateParams } from '../../src/protocols/ws/extensions.js';
import { acceptHandshake, ClientHandshake } from '../../src/protocols/ws/handshake.js';
import { wsConnect } from '../../src/protocols/ws/ws-client.js';
import { SysState } from '../../src/system/states.js';
import { DecodeError } from '../../src/util/errors.js';
import { VirtualHost } from '../vectors/virtual-host.js';
import { concat, decodeFrames, rawFrame, seededRandom } from './ws-harness.js';

/** An in-memory TCP stream: the test delivers what the peer sends, and reads what we wrote. */
class MemTcp implements TCP {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  private readonly rx: Uint8Array[] = [];
  readonly tx: Uint8Array[] = [];
  closed = false;
  constructor(readonly cbs: SocketCallbacks) {}
  read(max = Infinity): ArrayBuffer | undefined {
    const c = this.rx.shift();
    if (!c) return undefined;
    if (c.length > max) this.rx.unshift(c.subarray(max));
    const part = c.subarray(0, Math.min(max, c.length));
    return part.slice().buffer;
  }
  write(data: Bytes): number {
    const b = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.tx.push(b.slice());
    return 1 << 20;
  }
  close(): void {
    this.closed = true;
  }
  deliver(chunk: Uint8Array): void {
    if (this.closed) return;
    this.rx.push(chunk);
    this.cbs.onReadable?.(chunk.length);
  }
  written(): Uint8Array {
    return concat(this.tx);
  }
}

/** VirtualHost (manual clock, seeded entropy) with in-memory sockets and the hosts' deflater. */
class MemHost extends VirtualHost {
  sockets: MemTcp[] = [];
  private accepting: Array<(cbs: SocketCallbacks) => MemTcp> = [];
  private listenCb: (() => void) | undefined;
  override tcp(opts: TcpOptions): TCP {
    const s = new MemTcp(opts);
    this.sockets.push(s);
    return s;
  }
  override listener(opts: ListenOptions): Listener {
    this.listenCb = () => opts.onReadable(1);
    return {
      port: 8080,
      read: (): AcceptedTCP | undefined => {
        const make = this.accepting.shift();
        return make ? { adopt: (cbs) => make(cbs) } : undefined;
      },
      close: () => {},
    };
  }
  deflater(params: DeflateParams, role: 'client' | 'server'): MessageDeflater {
    return wsDeflater(params, role);
  }
  /** A client connects to the listener: its accepted socket. */
  incoming(): MemTcp {
    let sock: MemTcp | undefined;
    this.accepting.push((cbs) => {
      sock = new MemTcp(cbs);
      this.sockets.push(sock);
      return sock;
    });
    this.listenCb?.();
    return sock as unknown as MemTcp;
  }
}

const board = { description: { board: 't', identity: { serial: 's', firmwareVersion: '1', deviceType: 'd' }, interfaces: 'preconfigured' as const }, ops: {} };
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const OFFER: DeflateOptions = { clientMaxWindowBits: true };

/** What a peer machine says, frame by frame: compressed and plain, fragmented, a ping, a close. */
function script(peer: WsConnection): void {
  peer.send('{"hello":"world","hello again":"world again"}');
  peer.send(new Uint8Array(300).map((_, i) => i % 7));
  peer.sendFragment('streamed in ', false);
  peer.ping('are you there');
  peer.sendFragment('pieces, compressed as they go; '.repeat(4), false);
  peer.sendFragment('end.', true);
  peer.send('short');
  peer.send('the same text again and again, the same text again and again');
  peer.close(0, 1000, 'bye');
}

type Log = Array<string | number>;

/** Client role: the server's whole answer, as bytes, for our client's request. */
function serverAnswer(request: string): Uint8Array {
  const lines = request.split('\r\n');
  const headers = lines.slice(1).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as const);
  const hs = acceptHandshake({ method: 'GET', target: '/', version: 'HTTP/1.1', headers }, { deflate: {} });
  const head = `HTTP/1.1 101 Switching Protocols\r\n${hs.response.headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const peer = new WsConnection({ role: 'server', deflater: wsDeflater(hs.negotiated.deflate as DeflateParams, 'server'), compressThreshold: 16 });
  peer.open(0);
  script(peer);
  return concat([Buffer.from(head, 'latin1'), ...peer.pendingOutput()]);
}

/** Runs our client against `chunks` of the server's bytes; returns the callbacks and what it wrote after the request. */
async function clientRun(chunksOf: (answer: Uint8Array) => Uint8Array[]): Promise<{ log: Log; wrote: string }> {
  const host = new MemHost();
  const ctx = new Context({ host, board, bootTarget: SysState.CONTEXT_CREATED });
  const log: Log = [];
  wsConnect(ctx, { host: '127.0.0.1', port: 80, deflate: OFFER }, {
    onOpen: () => log.push('open'),
    onMessage: (_ws, data, binary) => log.push(`message ${binary} ${typeof data === 'string' ? data : text(data)}`),
    onPing: (_ws, d) => log.push(`ping ${text(d)}`),
    onClose: (_ws, code, reason, err) => log.push(`close ${code} ${reason} ${err?.code ?? ''}`),
  });
  const sock = host.sockets[0] as MemTcp;
  sock.cbs.onWritable?.(1 << 20);
  await settle();
  const request = text(sock.written());
  const sent = sock.tx.length;
  for (const c of chunksOf(serverAnswer(request))) sock.deliver(c);
  const wrote = text(concat(sock.tx.slice(sent)));
  ctx.destroy();
  return { log, wrote };
}

/** Server role: a client's upgrade request and frames, as bytes. */
function clientStream(): Uint8Array {
  const ch = new ClientHandshake({ host: 'lws.test', random: seededRandom(21), deflate: OFFER });
  const req = `GET / HTTP/1.1\r\n${ch.request.headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const hs = acceptHandshake(ch.request, { deflate: {} });
  const peer = new WsConnection({ role: 'client', random: seededRandom(22), deflater: wsDeflater(ch.validateResponse(hs.response).deflate as DeflateParams, 'client'), compressThreshold: 16 });
  peer.open(0);
  script(peer);
  return concat([Buffer.from(req, 'latin1'), ...peer.pendingOutput()]);
}

/** Runs an HttpServer echo mount against `chunks` of the client's bytes. */
function serverRun(chunks: readonly Uint8Array[]): { log: Log; wrote: string } {
  const host = new MemHost();
  const ctx = new Context({ host, board, bootTarget: SysState.CONTEXT_CREATED });
  const log: Log = [];
  const srv = new HttpServer(ctx, {
    listen: { address: '127.0.0.1', port: 8080 },
    mounts: [
      {
        kind: 'ws',
        prefix: '/',
        deflate: {},
        connection: { compressThreshold: 16 },
        handlers: () => ({
          onOpen: () => log.push('open'),
          onMessage: (ws, data, binary) => {
            log.push(`message ${binary} ${typeof data === 'string' ? data : text(data)}`);
            ws.send(data);
          },
          onPing: (_ws, d) => log.push(`ping ${text(d)}`),
          onClose: (_ws, code, reason, err) => log.push(`close ${code} ${reason} ${err?.code ?? ''}`),
        }),
      },
    ],
  });
  const sock = host.incoming();
  for (const c of chunks) sock.deliver(c);
  const wrote = text(sock.written());
  srv.close();
  ctx.destroy();
  return { log, wrote };
}

const cutAt = (b: Uint8Array, cuts: readonly number[]): Uint8Array[] => {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out.filter((p) => p.length > 0);
};

describe('split anywhere through the glue, with permessage-deflate', () => {
  test('client (wsConnect → H1 upgrade → WsSocket): every 2-way split, byte by byte and random cuts give the same callbacks and replies', async () => {
    const whole = await clientRun((a) => [a]);
    expect(whole.log).toEqual([
      'open',
      'message false {"hello":"world","hello again":"world again"}',
      `message true ${text(new Uint8Array(300).map((_, i) => i % 7))}`,
      'ping are you there',
      `message false streamed in ${'pieces, compressed as they go; '.repeat(4)}end.`,
      'message false short',
      'message false the same text again and again, the same text again and again',
      'close 1000 bye ',
    ]);
    // the replies: a Pong and the Close, masked
    expect(decodeFrames([Buffer.from(whole.wrote, 'latin1')]).map((f) => [f.op, text(f.payload)])).toEqual([
      [10, 'are you there'],
      [8, '\x03\xe8'],
    ]);
    const answerLength = (await (async () => {
      let n = 0;
      await clientRun((a) => ((n = a.length), [a]));
      return n;
    })());
    for (let cut = 1; cut < answerLength; cut++) expect(await clientRun((a) => [a.subarray(0, cut), a.subarray(cut)])).toEqual(whole);
    expect(await clientRun((a) => Array.from(a, (x) => Uint8Array.of(x)))).toEqual(whole);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 2, maxLength: 30 }), async (cuts) => {
        expect(await clientRun((a) => cutAt(a, cuts))).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  test('server (HttpServer ws mount → WsSocket, echoing): every 2-way split, byte by byte and random cuts give the same callbacks and bytes', () => {
    const stream = clientStream();
    const whole = serverRun([stream]);
    expect(whole.log).toEqual([
      'open',
      'message false {"hello":"world","hello again":"world again"}',
      `message true ${text(new Uint8Array(300).map((_, i) => i % 7))}`,
      'ping are you there',
      `message false streamed in ${'pieces, compressed as they go; '.repeat(4)}end.`,
      'message false short',
      'message false the same text again and again, the same text again and again',
      'close 1000 bye ',
    ]);
    // the 101, then the replies in the order of what caused them: echoes (compressed from 16
    // bytes up), the Pong where the Ping was, and the Close
    expect(whole.wrote).toMatch(/^HTTP\/1\.1 101 [^]*\r\nSec-WebSocket-Extensions: permessage-deflate\r\n/);
    const frames = decodeFrames([Buffer.from(whole.wrote.slice(whole.wrote.indexOf('\r\n\r\n') + 4), 'latin1')]);
    expect(frames.map((f) => [f.op, f.rsv])).toEqual([
      [1, 4],
      [2, 4],
      [10, 0],
      [1, 4],
      [1, 0],
      [1, 4],
      [8, 0],
    ]);
    for (let cut = 1; cut < stream.length; cut++) expect(serverRun([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(whole);
    expect(serverRun(Array.from(stream, (x) => Uint8Array.of(x)))).toEqual(whole);
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 2, maxLength: 30 }), (cuts) => {
        expect(serverRun(cutAt(stream, cuts))).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });
});

describe('after a protocol failure (WsSocket)', () => {
  /** A plain ws mount; the client sends two good messages, then a frame with a reserved opcode. */
  function failRun(chunkAt: number | undefined, onClose: (ws: { send(d: string): void; ping(d?: string): void } | undefined) => void): { log: Log; frames: Array<[number, string]>; length: number } {
    const host = new MemHost();
    const ctx = new Context({ host, board, bootTarget: SysState.CONTEXT_CREATED });
    const log: Log = [];
    const srv = new HttpServer(ctx, {
      listen: { address: '127.0.0.1', port: 8080 },
      mounts: [{
        kind: 'ws',
        prefix: '/',
        handlers: () => ({
          onMessage: (ws, data) => {
            log.push(`message ${String(data)}`);
            ws.send(data);
          },
          onClose: (ws, code, _reason, err) => {
            log.push(`close ${code} ${err?.code ?? ''}`);
            onClose(ws);
          },
        }),
      }],
    });
    const ch = new ClientHandshake({ host: 'lws.test', random: seededRandom(23) });
    const req = `GET / HTTP/1.1\r\n${ch.request.headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
    const stream = concat([Buffer.from(req, 'latin1'), rawFrame({ op: 1, payload: 'one' }, 'server'), rawFrame({ op: 1, payload: 'two' }, 'server'), rawFrame({ op: 3, payload: 'bad' }, 'server')]);
    const sock = host.incoming();
    if (chunkAt === undefined) sock.deliver(stream);
    else {
      sock.deliver(stream.subarray(0, chunkAt));
      sock.deliver(stream.subarray(chunkAt));
    }
    const wrote = text(sock.written());
    srv.close();
    ctx.destroy();
    const frames = decodeFrames([Buffer.from(wrote.slice(wrote.indexOf('\r\n\r\n') + 4), 'latin1')]);
    return { length: stream.length, log, frames: frames.map((f) => [f.op, f.op === 8 ? String((f.payload[0] as number) * 256 + (f.payload[1] as number)) : text(f.payload)]) };
  }

  test('messages before the bad frame are still answered; a send or ping from onClose is a typed error and never reaches the peer', () => {
    const refused: unknown[] = [];
    const attempt = (ws: { send(d: string): void; ping(d?: string): void } | undefined): void => {
      for (const f of [() => ws?.send('late'), () => ws?.ping('late')]) {
        try {
          f();
          refused.push('accepted');
        } catch (e) {
          refused.push((e as { code?: string }).code);
        }
      }
    };
    const whole = failRun(undefined, attempt);
    expect(whole.log).toEqual(['message one', 'message two', 'close 1006 ERR_WS_OPCODE']);
    expect(refused).toEqual(['ERR_WS_STATE', 'ERR_WS_STATE']);
    // the echoes, then our Close with 1002: nothing sent from onClose goes out before it
    expect(whole.frames).toEqual([[1, 'one'], [1, 'two'], [8, '1002']]);
    // the same however the bytes were split (the bad frame alone in a later read, too)
    for (let cut = 1; cut < whole.length; cut++) {
      refused.length = 0;
      const r = failRun(cut, attempt);
      expect(r).toEqual(whole);
      expect(refused).toEqual(['ERR_WS_STATE', 'ERR_WS_STATE']);
    }
  });
});

describe('fuzz: compressed connections and the inflater', () => {
  const params: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

  /** A valid compressed stream from `from`'s side, to mutate. */
  const validStream = (from: 'client' | 'server', seed: number): Uint8Array => {
    const m = new WsConnection({ role: from, random: seededRandom(seed), deflater: wsDeflater(params, from), compressThreshold: 0, fragmentSize: 1 + (seed % 50) });
    m.open(0);
    script(m);
    return concat(m.pendingOutput());
  };

  test.each(['server', 'client'] as const)('%s: arbitrary and mutated compressed streams give only WsProtocolError, at most one close, nothing after it', (role) => {
    const peer = role === 'server' ? 'client' : 'server';
    const mutated = fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })).map(([seed, muts]) => {
      const b = validStream(peer, seed).slice();
      for (const [i, v] of muts) b[i % b.length] = v;
      return b;
    });
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
        fc.record({ streamFragments: fc.boolean(), maxMessageSize: fc.integer({ min: 1, max: 2000 }) }),
        (bytes, sizes, opts) => {
          const m = new WsConnection({ role, random: seededRandom(5), deflater: wsDeflater(params, role), ...opts });
          m.open(0);
          const ev: WsEvent[] = [];
          for (let off = 0, i = 0; off < bytes.length; i++) {
            const n = sizes[i % sizes.length]!;
            ev.push(...m.receive(bytes.subarray(off, off + n), i));
            off += n;
          }
          const closes = ev.filter((e) => e.type === 'close');
          expect(closes.length).toBeLessThanOrEqual(1);
          if (closes.length) expect(ev.at(-1)!.type).toBe('close');
          for (const e of ev) if (e.type === 'error') expect(e.error).toBeInstanceOf(WsProtocolError);
          decodeFrames(m.pendingOutput());
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('RawInflate: arbitrary and mutated DEFLATE gives output, undefined at the limit, or DecodeError; never anything else', () => {
    const mutated = fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.integer({ min: 8, max: 15 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([data, bits, muts]) => {
        const z = new RawDeflate(bits).push(data).slice();
        for (const [i, v] of muts) z[i % z.length] = v;
        return z;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 100_000 }), (z, sizes, limit) => {
        const inf = new RawInflate(15);
        let total = 0;
        try {
          for (let off = 0, i = 0; off < z.length; i++) {
            const n = sizes[i % sizes.length]!;
            const out = inf.push(z.subarray(off, off + n), limit - total);
            if (out === undefined) return;
            total += out.length;
            expect(total).toBeLessThanOrEqual(limit);
            off += n;
          }
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          expect((e as DecodeError).code).toBe('ERR_INFLATE');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
