/**
 * The client role machine: requests out, response events in (HEAD, 1xx, close-delimited,
 * pipelining, upgrade), failures typed; then against node:http's server over real TCP.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { H1Client } from '../../src/protocols/h1/client.js';
import type { H1ClientEvent, RequestInit } from '../../src/protocols/h1/client.js';
import { codeOf } from '../helpers/errors.js';
import { bytes, concat, splitAt, text } from './h1-support.js';

function summarize(e: H1ClientEvent): string {
  switch (e.type) {
    case 'head':
      return `head ${e.head.status} ka=${e.head.keepAlive}`;
    case 'informational':
      return `info ${e.head.status}`;
    case 'data':
      return `data ${text(e.data)}`;
    case 'trailers':
      return `trailers ${e.trailers.fields.join(',')}`;
    case 'upgrade':
      return `upgrade ${text(e.rest)}`;
    case 'error':
      return `error ${e.error.code}`;
    default:
      return e.type;
  }
}

function collect(evs: H1ClientEvent[], into: string[]): string[] {
  for (const e of evs) {
    const s = summarize(e);
    const last = into[into.length - 1];
    if (e.type === 'data' && last?.startsWith('data ')) into[into.length - 1] = last + s.slice(5);
    else into.push(s);
  }
  return into;
}

const get = (target = '/', extra: Array<[string, string]> = []): RequestInit => ({ method: 'GET', target, headers: [['Host', 'h'], ...extra] });

describe('the machine', () => {
  test('a GET: the request bytes, then the response events', () => {
    const c = new H1Client();
    c.request(get('/x?y', [['Accept', '*/*']]));
    expect(text(concat(c.pendingOutput()))).toBe('GET /x?y HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n');
    expect(c.canRequest).toBe(false);
    const ev = collect(c.receive(bytes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'), 0), []);
    expect(ev).toEqual(['head 200 ka=true', 'data ok', 'end']);
    expect(c.canRequest).toBe(true);
  });

  test('a POST with a chunked body and trailers; a Content-Length body is held to its length', () => {
    const c = new H1Client();
    c.request({ method: 'POST', target: '/u', headers: [['Host', 'h'], ['Transfer-Encoding', 'chunked']] });
    c.send(bytes('abc'));
    c.end([['X-Sum', '3']]);
    expect(text(concat(c.pendingOutput()))).toBe('POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 3\r\n\r\n');
    const d = new H1Client();
    d.request({ method: 'PUT', target: '/', headers: [['Host', 'h'], ['Content-Length', '2']] });
    expect(codeOf(() => d.send(bytes('abc')))).toBe('ERR_H1_BODY_LENGTH');
    expect(codeOf(() => d.request(get()))).toBe('ERR_H1_STATE');
    expect(codeOf(() => new H1Client().request({ method: 'GET', target: '/' }))).toBe('ERR_H1_FIELD');
    expect(codeOf(() => new H1Client().send(bytes('x')))).toBe('ERR_H1_STATE');
  });

  test('pipelined GET, HEAD, GET: the HEAD response has no body, responses split anywhere give the same events', () => {
    const wire = bytes('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA' + 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n' + 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nC\r\n0\r\n\r\n');
    const runWith = (chunks: Uint8Array[]): string[] => {
      const c = new H1Client({ maxPipelined: 3 });
      c.request(get('/a'));
      c.request({ method: 'HEAD', target: '/b', headers: [['Host', 'h']] });
      c.request(get('/c'));
      const out: string[] = [];
      for (const ch of chunks) collect(c.receive(ch, 0), out);
      expect(c.inFlight).toBe(0);
      return out;
    };
    const whole = runWith([wire]);
    expect(whole).toEqual(['head 200 ka=true', 'data A', 'end', 'head 200 ka=true', 'end', 'head 200 ka=true', 'data C', 'end']);
    for (let i = 1; i < wire.length; i++) expect(runWith(splitAt(wire, [i]))).toEqual(whole);
  });

  test('100 Continue, then 103, then the final response', () => {
    const c = new H1Client();
    c.request({ method: 'POST', target: '/', headers: [['Host', 'h'], ['Expect', '100-continue'], ['Content-Length', '1']] });
    expect(collect(c.receive(bytes('HTTP/1.1 100 Continue\r\n\r\n'), 0), [])).toEqual(['continue']);
    c.send(bytes('x'));
    c.end();
    expect(collect(c.receive(bytes('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'), 0), [])).toEqual(['info 103', 'head 204 ka=true', 'end']);
  });

  test('close-delimited response ends at EOF; Connection: close closes after the response', () => {
    const c = new H1Client();
    c.request(get());
    expect(collect(c.receive(bytes('HTTP/1.1 200 OK\r\n\r\npart'), 0), [])).toEqual(['head 200 ka=false', 'data part']);
    expect(collect(c.receiveEof(0), [])).toEqual(['end', 'close']);

    const d = new H1Client();
    d.request(get());
    expect(collect(d.receive(bytes('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'), 0), [])).toEqual(['head 200 ka=false', 'end', 'close']);
    expect(d.closed).toBe(true);
  });

  test('upgrade: 101 to a request that asked, with the bytes that followed; refused otherwise', () => {
    const c = new H1Client();
    c.request(get('/ws', [['Connection', 'Upgrade'], ['Upgrade', 'websocket']]));
    expect(collect(c.receive(bytes('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00'), 0), [])).toEqual(['head 101 ka=false', 'upgrade \x81\x00']);
    expect(c.closed).toBe(true);

    const d = new H1Client();
    d.request(get());
    expect(collect(d.receive(bytes('HTTP/1.1 101 Switching Protocols\r\n\r\n'), 0), [])).toEqual(['error ERR_H1_UNEXPECTED_RESPONSE', 'close']);

    const t = new H1Client();
    t.request({ method: 'CONNECT', target: 'example.com:443', headers: [['Host', 'example.com:443']] });
    expect(collect(t.receive(bytes('HTTP/1.1 200 Connection Established\r\n\r\n\x16'), 0), [])).toEqual(['head 200 ka=false', 'upgrade \x16']);
  });

  test('failures: bytes nobody asked for, a malformed response, a close before or during a response', () => {
    const a = new H1Client();
    expect(collect(a.receive(bytes('HTTP/1.1 200 OK\r\n\r\n'), 0), [])).toEqual(['error ERR_H1_UNEXPECTED_RESPONSE', 'close']);
    const b = new H1Client();
    b.request(get());
    expect(collect(b.receive(bytes('HTTP/1.1 200 OK\r\nBad Field: x\r\n\r\n'), 0), [])).toEqual(['error ERR_H1_HEADER_SYNTAX', 'close']);
    const c = new H1Client();
    c.request(get());
    const before = c.receiveEof(0);
    expect(collect(before, [])).toEqual(['error ERR_H1_TRUNCATED', 'close']);
    expect((before[0] as { error: { detail: Record<string, unknown> } }).error.detail['unanswered']).toBe(1);
    const d = new H1Client();
    d.request(get());
    d.receive(bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'), 0);
    expect(collect(d.receiveEof(0), [])).toEqual(['error ERR_H1_TRUNCATED', 'close']);
    const e = new H1Client({ maxPipelined: 2 });
    e.request(get());
    e.request(get());
    expect(collect(e.receive(bytes('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'), 0), [])).toEqual(['head 200 ka=false', 'end', 'error ERR_H1_TRUNCATED', 'close']);
    const idle = new H1Client();
    expect(collect(idle.receiveEof(0), [])).toEqual(['close']);
  });
});

describe('our client against node:http over TCP', () => {
  let server: http.Server;
  let port: number;
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const body = Buffer.concat(parts).toString();
        if (req.url === '/chunked') {
          res.setHeader('Trailer', 'X-Done');
          res.write('first,');
          res.write('second');
          res.addTrailers({ 'X-Done': 'yes' });
          res.end();
          return;
        }
        if (req.url === '/big') {
          res.end('z'.repeat(200_000));
          return;
        }
        res.setHeader('X-Method', req.method as string);
        res.end(JSON.stringify({ url: req.url, body, te: req.headers['transfer-encoding'] ?? null }));
      });
    });
    server.on('checkContinue', (req, res) => {
      if (req.headers['x-refuse']) {
        res.writeHead(417);
        res.end();
      } else {
        res.writeContinue();
        server.emit('request', req, res);
      }
    });
    server.on('upgrade', (req, sock: net.Socket, head: Buffer) => {
      sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n' + 'hello from the new protocol');
      if (head.length) sock.write(head);
    });
    // upgraded sockets leave node:http's bookkeeping: track every socket to close them at the end
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  /** A connection driven by the machine: `script` is called with each batch of events and may issue requests. */
  function converse(script: (c: H1Client, ev: H1ClientEvent[], done: (v: unknown) => void) => void, start: (c: H1Client) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const c = new H1Client({ maxPipelined: 4 });
      const sock = net.connect(port, '127.0.0.1');
      const flush = (): void => {
        for (const b of c.pendingOutput()) sock.write(b);
      };
      let finished = false;
      const done = (v: unknown): void => {
        finished = true;
        sock.destroy();
        resolve(v);
      };
      sock.on('connect', () => {
        start(c);
        flush();
      });
      sock.on('data', (d: Buffer) => {
        if (finished) return;
        script(c, c.receive(new Uint8Array(d.buffer, d.byteOffset, d.length), 0), done);
        flush();
      });
      sock.on('end', () => {
        if (!finished) script(c, c.receiveEof(0), done);
      });
      sock.on('error', reject);
    });
  }

  test('keep-alive: GET, POST, chunked response with trailers, HEAD, one after another on one connection', async () => {
    const log: string[] = [];
    const bodies: string[] = [];
    let body = '';
    let step = 0;
    const steps: Array<(c: H1Client) => void> = [
      (c) => {
        c.request({ method: 'POST', target: '/post', headers: [['Host', 'h'], ['Content-Length', '4']] });
        c.send(bytes('data'));
        c.end();
      },
      (c) => {
        c.request({ method: 'PUT', target: '/put', headers: [['Host', 'h'], ['Transfer-Encoding', 'chunked']] });
        c.send(bytes('up'));
        c.send(bytes('load'));
        c.end();
      },
      (c) => c.request(get('/chunked')),
      (c) => c.request({ method: 'HEAD', target: '/head', headers: [['Host', 'h']] }),
    ];
    await converse(
      (c, ev, done) => {
        collect(ev, log);
        for (const e of ev) {
          if (e.type === 'data') body += text(e.data);
          if (e.type === 'end') {
            bodies.push(body);
            body = '';
            const next = steps[step++];
            if (next) next(c);
            else done(undefined);
          }
        }
      },
      (c) => c.request(get('/first?x=1')),
    );
    expect(JSON.parse(bodies[0] as string)).toEqual({ url: '/first?x=1', body: '', te: null });
    expect(JSON.parse(bodies[1] as string)).toEqual({ url: '/post', body: 'data', te: null });
    expect(JSON.parse(bodies[2] as string)).toEqual({ url: '/put', body: 'upload', te: 'chunked' });
    expect(bodies[3]).toBe('first,second');
    expect(log).toContain('trailers x-done,yes');
    expect(bodies[4]).toBe('');
    expect(log.filter((l) => l.startsWith('head'))).toEqual(Array(5).fill('head 200 ka=true'));
  });

  test('a large response arrives in many reads and is streamed in pieces', async () => {
    let n = 0;
    let pieces = 0;
    await converse(
      (_c, ev, done) => {
        for (const e of ev) {
          if (e.type === 'data') {
            n += e.data.length;
            pieces++;
          }
          if (e.type === 'end') done(undefined);
        }
      },
      (c) => c.request(get('/big')),
    );
    expect(n).toBe(200_000);
    expect(pieces).toBeGreaterThan(1);
  });

  test('Expect: 100-continue, accepted and refused', async () => {
    const accepted: string[] = [];
    await converse(
      (c, ev, done) => {
        collect(ev, accepted);
        for (const e of ev) {
          if (e.type === 'continue') {
            c.send(bytes('late body'));
            c.end();
          }
          if (e.type === 'end') done(undefined);
        }
      },
      (c) => c.request({ method: 'POST', target: '/e', headers: [['Host', 'h'], ['Expect', '100-continue'], ['Content-Length', '9']] }),
    );
    expect(accepted[0]).toBe('continue');
    expect(JSON.parse(accepted.find((l) => l.startsWith('data '))?.slice(5) as string)).toMatchObject({ body: 'late body' });

    const refused: string[] = [];
    await converse(
      (_c, ev, done) => {
        collect(ev, refused);
        if (ev.some((e) => e.type === 'end')) done(undefined);
      },
      (c) => c.request({ method: 'POST', target: '/e', headers: [['Host', 'h'], ['Expect', '100-continue'], ['X-Refuse', '1'], ['Content-Length', '9']] }),
    );
    expect(refused[0]).toMatch(/^head 417/);
  });

  test('Upgrade: the 101 and the bytes after it', async () => {
    const got = await converse(
      (_c, ev, done) => {
        for (const e of ev) if (e.type === 'upgrade') done(text(e.rest));
      },
      (c) => c.request(get('/up', [['Connection', 'Upgrade'], ['Upgrade', 'echo']])),
    );
    // the 101 and what follows may arrive in one read or two
    expect('hello from the new protocol'.startsWith(got as string)).toBe(true);
  });
});
