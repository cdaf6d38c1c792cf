/**
 * The server role machine: request events, answers in order over pipelining and keep-alive,
 * 100-continue, upgrades, refusals answered with their status, timers; then node:http's client
 * talking to it over a real TCP connection (node:http is the oracle).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { H1Server } from '../../src/protocols/h1/server.js';
import type { H1ServerEvent, H1ServerOptions } from '../../src/protocols/h1/server.js';
import type { RequestHead } from '../../src/protocols/h1/parser.js';
import { codeOf } from '../helpers/errors.js';
import { bytes, concat, drive, splitAt, text } from './h1-support.js';

type Summary = string;

/** One line per event, body bytes included, so two runs can be compared as arrays. */
function summarize(e: H1ServerEvent): Summary {
  switch (e.type) {
    case 'head':
      return `head ${e.head.method} ${e.head.target}`;
    case 'data':
      return `data ${text(e.data)}`;
    case 'trailers':
      return `trailers ${e.trailers.fields.join(',')}`;
    case 'upgrade':
      return `upgrade ${text(e.rest)}`;
    case 'error':
      return `error ${e.error.code} ${e.error.status}`;
    default:
      return e.type;
  }
}

/**
 * A tiny app on the machine: answers each request, once its body has ended, with
 * "<method> <path> <body>" (HEAD gets the length only; an upgrade request gets 101).
 * Returns the merged event summaries and everything written.
 */
function run(chunks: Uint8Array[], opts: H1ServerOptions = {}, eof = true): { events: Summary[]; wire: string } {
  const srv = new H1Server(0, opts);
  const events: Summary[] = [];
  const wire: Uint8Array[] = [];
  let req: RequestHead | undefined;
  let body = '';
  const handle = (evs: H1ServerEvent[]): void => {
    while (evs.length > 0) {
      for (const e of evs) {
        const s = summarize(e);
        const last = events[events.length - 1];
        if (e.type === 'data' && last?.startsWith('data ')) events[events.length - 1] = last + s.slice(5);
        else events.push(s);
        if (e.type === 'head') {
          req = e.head;
          body = '';
          if (req.expectContinue) srv.sendContinue();
        } else if (e.type === 'data') body += text(e.data);
        else if (e.type === 'end' && req !== undefined) {
          if (req.upgrade !== undefined) srv.respond({ status: 101, headers: [['Upgrade', req.upgrade], ['Connection', 'Upgrade']] });
          else {
            const reply = bytes(`${req.method} ${req.url.path} ${body}`);
            srv.respond({ status: 200, headers: [['Content-Length', String(reply.length)]] });
            srv.send(reply);
            srv.end();
          }
        }
      }
      evs = srv.pollEvents();
    }
    wire.push(...srv.pendingOutput());
  };
  for (const c of chunks) handle(srv.receive(c, 1));
  if (eof) handle(srv.receiveEof(2));
  return { events, wire: text(concat(wire)) };
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`;

describe('requests and answers', () => {
  test('pipelined requests are answered in order, one at a time', () => {
    const stream = GET('/1') + 'POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc' + 'PUT /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\nT: v\r\n\r\n' + GET('/4');
    const { events, wire } = run([bytes(stream)]);
    expect(events).toEqual(['head GET /1', 'end', 'head POST /2', 'data abc', 'end', 'head PUT /3', 'data xy', 'trailers t,v', 'end', 'head GET /4', 'end', 'close']);
    const responses = drive('response', [bytes(wire)], { methods: ['GET', 'POST', 'PUT', 'GET'] });
    expect(responses.filter((e) => e.type === 'data')).toEqual([{ type: 'data', text: 'GET /1 ' }, { type: 'data', text: 'POST /2 abc' }, { type: 'data', text: 'PUT /3 xy' }, { type: 'data', text: 'GET /4 ' }]);
  });

  test('the machine holds request N+1 until response N has ended', () => {
    const srv = new H1Server(0);
    const ev = srv.receive(bytes(GET('/a') + GET('/b')), 0);
    expect(ev.map(summarize)).toEqual(['head GET /a', 'end']);
    expect(srv.pollEvents()).toEqual([]);
    srv.respond({ status: 204 });
    expect(srv.pollEvents()).toEqual([]); // the response has not ended yet
    srv.end();
    expect(srv.pollEvents().map(summarize)).toEqual(['head GET /b', 'end']);
    expect(text(concat(srv.pendingOutput()))).toBe('HTTP/1.1 204 No Content\r\n\r\n');
  });

  test('identical events and bytes however the stream is split', () => {
    const stream = bytes('\r\n' + GET('/x?y=1') + 'POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;e\r\nabc\r\n0\r\n\r\n' + 'HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n' + GET('/last', 'Connection: close\r\n'));
    const whole = run([stream]);
    expect(whole.events[whole.events.length - 1]).toBe('close');
    for (let i = 1; i < stream.length; i++) expect(run(splitAt(stream, [i]))).toEqual(whole);
    expect(run(splitAt(stream, Array.from({ length: stream.length }, (_, i) => i)))).toEqual(whole);
  });

  test('framing chosen for the user: chunked for 1.1, close-delimited for 1.0, keep-alive echoed to 1.0', () => {
    const srv = new H1Server(0);
    srv.receive(bytes(GET('/')), 0);
    srv.respond({ status: 200, headers: [['X', 'y']] });
    srv.send(bytes('hi'));
    srv.end([['T', '1']]);
    expect(text(concat(srv.pendingOutput()))).toBe('HTTP/1.1 200 OK\r\nX: y\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nT: 1\r\n\r\n');
    expect(srv.closed).toBe(false);

    const old = new H1Server(0);
    old.receive(bytes('GET / HTTP/1.0\r\n\r\n'), 0);
    old.respond({ status: 200 });
    old.send(bytes('to the close'));
    old.end();
    expect(text(concat(old.pendingOutput()))).toBe('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nto the close');
    expect(old.pollEvents().map(summarize)).toEqual(['close']);

    const ka = new H1Server(0);
    ka.receive(bytes('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'), 0);
    ka.respond({ status: 200, headers: [['Content-Length', '0']] });
    ka.end();
    expect(text(concat(ka.pendingOutput()))).toBe('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: keep-alive\r\n\r\n');
    expect(ka.closed).toBe(false);
  });

  test('HEAD: the body is not sent, the fields describe it', () => {
    const { wire } = run([bytes('HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n')]);
    expect(wire).toBe('HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n');
  });

  test('an early answer: the request body still arrives, and the connection goes on', () => {
    const srv = new H1Server(0);
    const ev = srv.receive(bytes('POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc'), 0);
    expect(ev.map(summarize)).toEqual(['head POST /big', 'data abc']);
    srv.respond({ status: 200, headers: [['Content-Length', '0']] });
    srv.end();
    expect(srv.receive(bytes('def' + GET('/next')), 0).map(summarize)).toEqual(['data def', 'end', 'head GET /next', 'end']);
  });

  test('usage errors', () => {
    const srv = new H1Server(0);
    expect(codeOf(() => srv.respond({ status: 200 }))).toBe('ERR_H1_STATE');
    srv.receive(bytes(GET('/')), 0);
    expect(codeOf(() => srv.send(bytes('x')))).toBe('ERR_H1_STATE');
    expect(codeOf(() => srv.respond({ status: 101 }))).toBe('ERR_H1_STATE');
    expect(codeOf(() => srv.respond({ status: 200, headers: [['X', 'a\r\nb']] }))).toBe('ERR_H1_FIELD');
    srv.respond({ status: 304 });
    expect(codeOf(() => srv.send(bytes('x')))).toBe('ERR_H1_BODY_LENGTH');
    expect(codeOf(() => srv.respond({ status: 200 }))).toBe('ERR_H1_STATE');
    srv.end();
    expect(codeOf(() => srv.end())).toBe('ERR_H1_STATE');
  });
});

describe('100-continue', () => {
  const ask = 'PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n';

  test('accepted: 100 goes out before the body is read', () => {
    const { wire, events } = run([bytes(ask), bytes('data')]);
    expect(wire.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n')).toBe(true);
    expect(events).toContain('data data');
  });

  test('refused: a final status instead, and the connection closes after it', () => {
    const srv = new H1Server(0);
    const ev = srv.receive(bytes(ask), 0);
    expect((ev[0] as { head: RequestHead }).head.expectContinue).toBe(true);
    srv.respond({ status: 417, headers: [['Content-Length', '0']] });
    srv.end();
    expect(text(concat(srv.pendingOutput()))).toBe('HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nconnection: close\r\n\r\n');
    expect(srv.pollEvents().map(summarize)).toEqual(['close']);
  });
});

describe('upgrade', () => {
  test('101 hands over the bytes that followed the request (later bytes are the new protocol\'s)', () => {
    const req = 'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    const { events, wire } = run([bytes(req + '\x81\x05he'), bytes('llo')], {}, false);
    expect(events).toEqual(['head GET /ws', 'end', 'upgrade \x81\x05he']);
    expect(wire).toBe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });

  test('a refused upgrade is an ordinary exchange and the next request follows', () => {
    const srv = new H1Server(0);
    srv.receive(bytes('GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n' + GET('/n')), 0);
    srv.respond({ status: 200, headers: [['Content-Length', '0']] });
    srv.end();
    expect(srv.pollEvents().map(summarize)).toEqual(['head GET /n', 'end']);
  });

  test('CONNECT 2xx becomes a tunnel', () => {
    const srv = new H1Server(0);
    srv.receive(bytes('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03'), 0);
    srv.respond({ status: 200 });
    expect(srv.pollEvents().map(summarize)).toEqual(['upgrade \x16\x03']);
    expect(srv.closed).toBe(true);
  });
});

describe('refusals answered with their status', () => {
  test.each([
    ['GET / HTTP/1.1\nHost: h\r\n\r\n', 400, 'ERR_H1_LINE_ENDING'],
    ['GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n', 400, 'ERR_H1_OBS_FOLD'],
    ['POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'ERR_H1_FRAMING'],
    ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n', 501, 'ERR_H1_TRANSFER_CODING'],
    [`GET / HTTP/1.1\r\nHost: h\r\nBig: ${'x'.repeat(17000)}\r\n\r\n`, 431, 'ERR_H1_HEAD_TOO_LARGE'],
    [`GET / HTTP/1.1\r\nHost: h\r\n${'A: b\r\n'.repeat(101)}\r\n`, 431, 'ERR_H1_TOO_MANY_HEADERS'],
    [`GET /${'a'.repeat(8200)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414, 'ERR_H1_TARGET_TOO_LONG'],
    ['GET / HTTP/3.0\r\nHost: h\r\n\r\n', 505, 'ERR_H1_VERSION'],
    ['POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n', 400, 'ERR_H1_CHUNK'],
  ])('%#: %d %s', (input, status, code) => {
    const { events, wire } = run([bytes(input)]);
    expect(events.filter((e) => e.startsWith('error') || e === 'close')).toEqual([`error ${code} ${status}`, 'close']);
    expect(wire.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(wire.endsWith('\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')).toBe(true);
  });

  test('413 from the body limit', () => {
    const { wire } = run([bytes('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n')], { limits: { maxBodyBytes: 99 } });
    expect(wire.startsWith('HTTP/1.1 413 Content Too Large\r\n')).toBe(true);
  });

  test('a bad request behind a good one is answered after the good one', () => {
    const { wire, events } = run([bytes(GET('/ok') + 'BAD\r\n\r\n')]);
    expect(events).toEqual(['head GET /ok', 'end', 'error ERR_H1_REQUEST_LINE 400', 'close']);
    expect(wire).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nGET \/ok HTTP\/1\.1 400 Bad Request\r\n/);
  });

  test('a broken request body while the response is under way: closed without a second answer', () => {
    const srv = new H1Server(0);
    srv.receive(bytes('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'), 0);
    srv.respond({ status: 200 });
    srv.pendingOutput();
    expect(srv.receive(bytes('zz\r\n'), 0).map(summarize)).toEqual(['error ERR_H1_CHUNK 400', 'close']);
    expect(srv.pendingOutput()).toEqual([]);
  });

  test('pipelined bytes beyond maxHeldBytes are refused; wantsRead says when to stop reading', () => {
    const srv = new H1Server(0, { maxHeldBytes: 56 });
    srv.receive(bytes(GET('/1')), 0);
    expect(srv.wantsRead).toBe(true);
    srv.receive(bytes(GET('/2') + GET('/3')), 0);
    expect(srv.wantsRead).toBe(false);
    srv.respond({ status: 200, headers: [['Content-Length', '0']] });
    expect(srv.receive(bytes('x'), 0).map(summarize)).toEqual(['error ERR_H1_PIPELINE_OVERFLOW 503', 'close']);
  });
});

describe('end of input and timers', () => {
  test('a clean close between requests, a truncated one mid-request', () => {
    expect(run([bytes(GET('/'))]).events.slice(-1)).toEqual(['close']);
    const cut = run([bytes('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nab')]);
    expect(cut.events.slice(-2)).toEqual(['error ERR_H1_TRUNCATED 400', 'close']);
  });

  test('requests already received are answered after the peer half-closes', () => {
    const { events } = run([bytes(GET('/1') + GET('/2'))]);
    expect(events).toEqual(['head GET /1', 'end', 'head GET /2', 'end', 'close']);
  });

  test('idle timeout closes quietly; head timeout answers 408', () => {
    const srv = new H1Server(1_000, { idleTimeoutUs: 5_000, headTimeoutUs: 2_000 });
    expect(srv.nextDeadlineUs()).toBe(6_000);
    expect(srv.onTimer(5_999)).toEqual([]);
    srv.receive(bytes('GET / HT'), 3_000);
    expect(srv.nextDeadlineUs()).toBe(5_000);
    expect(srv.onTimer(5_000).map(summarize)).toEqual(['error ERR_H1_TIMEOUT 408', 'close']);
    expect(text(concat(srv.pendingOutput()))).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);

    const idle = new H1Server(0, { idleTimeoutUs: 5_000 });
    idle.receive(bytes(GET('/')), 1_000);
    expect(idle.nextDeadlineUs()).toBeUndefined(); // answering is the user's time
    idle.respond({ status: 204 });
    idle.end();
    expect(idle.nextDeadlineUs()).toBe(6_000);
    idle.pendingOutput();
    expect(idle.onTimer(6_000).map(summarize)).toEqual(['close']);
    expect(idle.pendingOutput()).toEqual([]);
  });
});

describe('node:http client against the machine over TCP', () => {
  let server: net.Server;
  let port: number;
  const connections = new Set<net.Socket>();

  beforeAll(async () => {
    server = net.createServer((sock) => {
      connections.add(sock);
      sock.on('close', () => connections.delete(sock));
      const srv = new H1Server(Date.now() * 1000);
      let req: RequestHead | undefined;
      let body: Buffer[] = [];
      const flush = (): void => {
        for (const b of srv.pendingOutput()) sock.write(b);
      };
      const handle = (evs: H1ServerEvent[]): void => {
        while (evs.length > 0) {
          for (const e of evs) {
            if (e.type === 'head') {
              req = e.head;
              body = [];
              if (req.expectContinue) srv.sendContinue();
            } else if (e.type === 'data') body.push(Buffer.from(e.data));
            else if (e.type === 'end' && req !== undefined) {
              if (req.upgrade !== undefined) {
                srv.respond({ status: 101, headers: [['Upgrade', req.upgrade], ['Connection', 'Upgrade']] });
              } else {
                const reply = JSON.stringify({ method: req.method, path: req.url.path, query: req.url.query ?? null, body: Buffer.concat(body).toString(), te: req.chunked, host: req.headers.get('host') });
                const r = bytes(reply);
                if (req.url.path === '/chunked') {
                  srv.respond({ status: 200, headers: [['Content-Type', 'application/json']] });
                  srv.send(r.subarray(0, 5));
                  srv.send(r.subarray(5));
                  srv.end([['X-Trailer', 'done']]);
                } else {
                  srv.respond({ status: 200, headers: [['Content-Type', 'application/json'], ['Content-Length', String(r.length)]] });
                  srv.send(r);
                  srv.end();
                }
              }
            } else if (e.type === 'upgrade') {
              flush();
              // the new protocol: echo, upper-cased
              if (e.rest.length) sock.write(Buffer.from(e.rest).toString().toUpperCase());
              sock.removeAllListeners('data');
              sock.on('data', (d: Buffer) => sock.write(d.toString().toUpperCase()));
            } else if (e.type === 'close') {
              flush();
              sock.end();
            }
          }
          evs = srv.pollEvents();
        }
        flush();
      };
      sock.on('data', (d: Buffer) => handle(srv.receive(new Uint8Array(d.buffer, d.byteOffset, d.length), Date.now() * 1000)));
      sock.on('end', () => handle(srv.receiveEof(Date.now() * 1000)));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const c of connections) c.destroy();
    await new Promise((r) => server.close(r));
  });

  function request(opts: http.RequestOptions, body?: (req: http.ClientRequest) => void): Promise<{ res: http.IncomingMessage; text: string; socket: net.Socket }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, ...opts }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ res, text: Buffer.concat(parts).toString(), socket: req.socket as net.Socket }));
      });
      req.on('error', reject);
      if (body) body(req);
      else req.end();
    });
  }

  test('GET with a query, keep-alive over one socket for several requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await request({ path: '/a%20b?x=1&y=2', agent });
    expect(JSON.parse(a.text)).toEqual({ method: 'GET', path: '/a b', query: 'x=1&y=2', body: '', te: false, host: `127.0.0.1:${port}` });
    const b = await request({ path: '/b', agent, method: 'DELETE' });
    expect(JSON.parse(b.text)).toMatchObject({ method: 'DELETE', path: '/b' });
    expect(b.socket).toBe(a.socket);
    agent.destroy();
  });

  test('POST with Content-Length, chunked upload, chunked response with trailers', async () => {
    const post = await request({ path: '/p', method: 'POST', headers: { 'Content-Length': '5' } }, (r) => r.end('hello'));
    expect(JSON.parse(post.text)).toMatchObject({ body: 'hello', te: false });
    const chunked = await request({ path: '/chunked', method: 'PUT' }, (r) => {
      r.write('part one, ');
      r.write('part two');
      r.end();
    });
    expect(JSON.parse(chunked.text)).toMatchObject({ method: 'PUT', body: 'part one, part two', te: true });
    expect(chunked.res.headers['transfer-encoding']).toBe('chunked');
    expect(chunked.res.trailers).toEqual({ 'x-trailer': 'done' });
  });

  test('HEAD gets the fields and no body', async () => {
    const h = await request({ path: '/h', method: 'HEAD' });
    expect(h.text).toBe('');
    expect(Number(h.res.headers['content-length'])).toBeGreaterThan(0);
  });

  test('Expect: 100-continue: node waits for our 100, then sends the body', async () => {
    let continued = false;
    const r = await request({ path: '/c', method: 'POST', headers: { Expect: '100-continue', 'Content-Length': '4' } }, (req) => {
      req.on('continue', () => {
        continued = true;
        req.end('body');
      });
    });
    expect(continued).toBe(true);
    expect(JSON.parse(r.text)).toMatchObject({ body: 'body' });
  });

  test('Upgrade: node gets the 101 and the socket speaks the new protocol', async () => {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/up', headers: { Connection: 'Upgrade', Upgrade: 'shout' } });
      req.on('upgrade', (res, sock: net.Socket, head: Buffer) => {
        expect(res.statusCode).toBe(101);
        expect(head.length).toBe(0);
        resolve(sock);
      });
      req.on('error', reject);
      req.end();
    });
    const reply = await new Promise<string>((resolve) => {
      socket.once('data', (d: Buffer) => resolve(d.toString()));
      socket.write('quiet');
    });
    expect(reply).toBe('QUIET');
    socket.destroy();
  });

  test('a malformed request from a raw socket gets the status and a close', async () => {
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n'));
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('end', () => resolve(Buffer.concat(parts).toString()));
    });
    expect(reply).toBe('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  });
});
