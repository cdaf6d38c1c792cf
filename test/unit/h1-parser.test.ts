/**
 * The HTTP/1.1 message parser: framing, pipelining, interim and switching responses, strictness
 * with the status each refusal answers, split-anywhere equivalence, fuzzing, and llhttp (Node's
 * own parser) as an oracle on random valid requests.
 */
import { createRequire } from 'node:module';
import { types } from 'node:util';
import fc from 'fast-check';
import { H1Error } from '../../src/protocols/h1/errors.js';
import { H1Parser } from '../../src/protocols/h1/parser.js';
import type { H1ParseEvent, RequestHead, ResponseHead } from '../../src/protocols/h1/parser.js';
import { bytes, concat, drive, splitAt, text } from './h1-support.js';
import type { Norm } from './h1-support.js';

const one = (kind: 'request' | 'response', s: string, methods?: string[]): Norm[] => drive(kind, [bytes(s)], methods ? { methods } : {});
const heads = (n: Norm[]): Record<string, unknown>[] => n.flatMap((e) => (e.type === 'head' ? [e.head] : []));

describe('requests', () => {
  test('a GET: start line, fields lowercased and trimmed, target split', () => {
    const n = one('request', 'GET /a%20b/c?x=1&y=%C3%A9 HTTP/1.1\r\nHost: example.com\r\nX-Thing:  spaced value \t\r\nAccept: */*\r\n\r\n');
    expect(n).toHaveLength(2);
    const h = heads(n)[0] as Record<string, unknown>;
    expect(h).toMatchObject({ kind: 'request', method: 'GET', target: '/a%20b/c?x=1&y=%C3%A9', version: '1.1', keepAlive: true, chunked: false, contentLength: undefined, expectContinue: false, upgrade: undefined });
    expect(h['fields']).toEqual(['host', 'example.com', 'x-thing', 'spaced value', 'accept', '*/*']);
    expect(h['url']).toEqual({ form: 'origin', scheme: undefined, authority: undefined, rawPath: '/a%20b/c', path: '/a b/c', query: 'x=1&y=%C3%A9' });
    expect(n[1]).toEqual({ type: 'end' });
  });

  test('Content-Length body, then a chunked one with extensions and trailers, pipelined in one read', () => {
    const n = one(
      'request',
      'POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello' +
        'PUT /v HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;name=val;x\r\nabc\r\nA \t; ext\r\n0123456789\r\n0\r\nX-Sum: 13\r\nX-Other: o\r\n\r\n' +
        'GET /w HTTP/1.1\r\nHost: h\r\n\r\n',
    );
    expect(n.map((e) => e.type)).toEqual(['head', 'data', 'end', 'head', 'data', 'trailers', 'end', 'head', 'end']);
    expect(heads(n).map((h) => [h['method'], h['contentLength'], h['chunked']])).toEqual([['POST', 5, false], ['PUT', undefined, true], ['GET', undefined, false]]);
    expect(n[1]).toEqual({ type: 'data', text: 'hello' });
    expect(n[4]).toEqual({ type: 'data', text: 'abc0123456789' });
    expect(n[5]).toEqual({ type: 'trailers', fields: ['x-sum', '13', 'x-other', 'o'] });
  });

  test('empty lines before a request line are skipped (RFC 9112 §2.2)', () => {
    expect(one('request', '\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n').map((e) => e.type)).toEqual(['head', 'end']);
  });

  test('repeated identical Content-Length is one length', () => {
    const n = one('request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok');
    expect(heads(n)[0]?.['contentLength']).toBe(2);
    expect(n[1]).toEqual({ type: 'data', text: 'ok' });
  });

  test.each([
    ['HTTP/1.1', '', true],
    ['HTTP/1.1', 'Connection: close\r\n', false],
    ['HTTP/1.1', 'Connection: keep-alive, Close\r\n', false],
    ['HTTP/1.0', '', false],
    ['HTTP/1.0', 'Connection: Keep-Alive\r\n', true],
    ['HTTP/1.7', '', true],
  ])('%s %j keeps alive: %s', (v, conn, ka) => {
    const h = heads(one('request', `GET / ${v}\r\nHost: h\r\n${conn}\r\n`))[0];
    expect(h?.['keepAlive']).toBe(ka);
    expect(h?.['version']).toBe(v === 'HTTP/1.0' ? '1.0' : '1.1');
  });

  test('Expect: 100-continue and Upgrade are surfaced (HTTP/1.1 only)', () => {
    const h = heads(one('request', 'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx'))[0];
    expect(h?.['expectContinue']).toBe(true);
    const u = heads(one('request', 'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n'))[0];
    expect(u?.['upgrade']).toBe('websocket');
    const noConn = heads(one('request', 'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n'))[0];
    expect(noConn?.['upgrade']).toBeUndefined();
    const old = heads(one('request', 'GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n'))[0];
    expect(old).toMatchObject({ upgrade: undefined, expectContinue: false });
  });

  test('absolute-form (proxies), authority-form (CONNECT), asterisk-form (OPTIONS)', () => {
    expect(heads(one('request', 'GET http://Example.com:8080/p?q HTTP/1.1\r\nHost: example.com:8080\r\n\r\n'))[0]?.['url']).toMatchObject({ form: 'absolute', scheme: 'http', authority: 'Example.com:8080', path: '/p', query: 'q' });
    expect(heads(one('request', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'))[0]?.['url']).toMatchObject({ form: 'authority', authority: 'example.com:443' });
    expect(heads(one('request', 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n'))[0]?.['url']).toMatchObject({ form: 'asterisk', path: '*' });
  });

  test('the parser stops after each message and hands back the offset', () => {
    const p = new H1Parser('request');
    const b = bytes('GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n');
    const ev: H1ParseEvent[] = [];
    const off = p.feed(b, 0, ev);
    expect(p.state).toBe('done');
    expect(off).toBe(28);
    expect(p.feed(b, off, ev)).toBe(off); // done: nothing more until next()
    p.next();
    expect(p.feed(b, off, ev)).toBe(b.length);
    expect(ev.filter((e) => e.type === 'head').map((e) => (e as { head: RequestHead }).head.target)).toEqual(['/1', '/2']);
    expect(p.offset).toBe(b.length);
  });
});

describe('responses', () => {
  test('Content-Length, chunked and close-delimited bodies', () => {
    expect(one('response', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc').map((e) => e.type)).toEqual(['head', 'data', 'end']);
    expect(one('response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n')).toEqual([
      expect.objectContaining({ type: 'head' }),
      { type: 'data', text: 'ab' },
      { type: 'end' },
    ]);
    const close = one('response', 'HTTP/1.1 200 OK\r\nServer: x\r\n\r\nuntil the end');
    expect(close.slice(1)).toEqual([{ type: 'data', text: 'until the end' }, { type: 'end' }]);
    expect(heads(close)[0]?.['keepAlive']).toBe(false);
  });

  test('no body after HEAD, 204, 304, whatever the fields say; pipelined responses in order', () => {
    const n = one(
      'response',
      'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' + 'HTTP/1.1 204 No Content\r\n\r\n' + 'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n' + 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      ['HEAD', 'GET', 'GET', 'GET'],
    );
    expect(n.map((e) => e.type)).toEqual(['head', 'end', 'head', 'end', 'head', 'end', 'head', 'data', 'end']);
    expect(heads(n).map((h) => h['status'])).toEqual([200, 204, 304, 200]);
  });

  test('1xx responses come before the final one of the same request; a status line may lack its reason', () => {
    const n = one('response', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', ['POST']);
    expect(n.map((e) => e.type)).toEqual(['head', 'head', 'head', 'end']);
    expect(heads(n).map((h) => [h['status'], h['reason']])).toEqual([[100, 'Continue'], [103, 'Early Hints'], [200, '']]);
  });

  test('101 and a 2xx to CONNECT stop after the head and hand back the rest', () => {
    expect(one('response', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi')).toEqual([
      expect.objectContaining({ type: 'head' }),
      { type: 'tunnel', rest: '\x81\x02hi' },
    ]);
    expect(one('response', 'HTTP/1.1 200 Connection established\r\n\r\nTLS...', ['CONNECT']).slice(1)).toEqual([{ type: 'tunnel', rest: 'TLS...' }]);
    // a refused CONNECT is an ordinary response
    expect(one('response', 'HTTP/1.1 403 Forbidden\r\nContent-Length: 1\r\n\r\nx', ['CONNECT']).map((e) => e.type)).toEqual(['head', 'data', 'end']);
  });

  test('a response head exposes status, reason and framing', () => {
    const p = new H1Parser('response');
    const ev: H1ParseEvent[] = [];
    p.feed(bytes('HTTP/1.0 404 Not  Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n'), 0, ev);
    const h = (ev[0] as { head: ResponseHead }).head;
    expect(h).toMatchObject({ status: 404, reason: 'Not  Found', version: '1.0', keepAlive: true, contentLength: 0 });
    expect(h.headers.get('connection')).toBe('keep-alive');
  });
});

/** Each malformed input, the code it fails with, and the status a server answers. */
const BAD: Array<[string, 'request' | 'response', string, string, number]> = [
  ['bare LF line ending', 'request', 'GET / HTTP/1.1\nHost: h\r\n\r\n', 'ERR_H1_LINE_ENDING', 400],
  ['bare LF in fields', 'request', 'GET / HTTP/1.1\r\nHost: h\n\r\n', 'ERR_H1_LINE_ENDING', 400],
  ['bare CR in a value', 'request', 'GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n', 'ERR_H1_HEADER_SYNTAX', 400],
  ['two spaces in request line', 'request', 'GET  / HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_REQUEST_LINE', 400],
  ['method not a token', 'request', 'G(T / HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_REQUEST_LINE', 400],
  ['no version', 'request', 'GET /\r\nHost: h\r\n\r\n', 'ERR_H1_REQUEST_LINE', 400],
  ['lowercase version', 'request', 'GET / http/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_REQUEST_LINE', 400],
  ['non-ASCII in target', 'request', 'GET /\xe9 HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_REQUEST_LINE', 400],
  ['HTTP/2.0', 'request', 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', 'ERR_H1_VERSION', 505],
  ['HTTP/0.9', 'request', 'GET / HTTP/0.9\r\n\r\n', 'ERR_H1_VERSION', 505],
  ['obs-fold', 'request', 'GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n', 'ERR_H1_OBS_FOLD', 400],
  ['whitespace before first field', 'request', 'GET / HTTP/1.1\r\n Host: h\r\n\r\n', 'ERR_H1_HEADER_SYNTAX', 400],
  ['space before colon', 'request', 'GET / HTTP/1.1\r\nHost : h\r\n\r\n', 'ERR_H1_HEADER_SYNTAX', 400],
  ['no colon', 'request', 'GET / HTTP/1.1\r\nHost h\r\n\r\n', 'ERR_H1_HEADER_SYNTAX', 400],
  ['empty name', 'request', 'GET / HTTP/1.1\r\n: h\r\n\r\n', 'ERR_H1_HEADER_SYNTAX', 400],
  ['NUL in value', 'request', 'GET / HTTP/1.1\r\nHost: h\x00\r\n\r\n', 'ERR_H1_HEADER_SYNTAX', 400],
  ['DEL in value', 'request', 'GET / HTTP/1.1\r\nHost: h\x7f\r\n\r\n', 'ERR_H1_HEADER_SYNTAX', 400],
  ['no Host in 1.1', 'request', 'GET / HTTP/1.1\r\n\r\n', 'ERR_H1_HOST', 400],
  ['two Hosts', 'request', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'ERR_H1_HOST', 400],
  ['CL and TE (smuggling)', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['differing CLs', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['differing CLs in a list', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['signed CL', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['empty CL', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['huge CL', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['TE in HTTP/1.0', 'request', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['chunked twice', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 'ERR_H1_FRAMING', 400],
  ['gzip coding', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'ERR_H1_TRANSFER_CODING', 501],
  ['chunked then NBSP', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\xa0\r\n\r\n', 'ERR_H1_TRANSFER_CODING', 501],
  ['unknown coding', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n', 'ERR_H1_TRANSFER_CODING', 501],
  ['chunk size not hex', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'ERR_H1_CHUNK', 400],
  ['negative chunk size', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n', 'ERR_H1_CHUNK', 400],
  ['chunk size overflow', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n', 'ERR_H1_CHUNK', 400],
  ['space after chunk size', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n0\r\n\r\n', 'ERR_H1_CHUNK', 400],
  ['chunk data without CRLF', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n', 'ERR_H1_CHUNK', 400],
  ['chunk size line too long', 'request', `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(2000)}\r\n`, 'ERR_H1_CHUNK', 400],
  ['bad escape in path', 'request', 'GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_TARGET', 400],
  ['escape not UTF-8', 'request', 'GET /a%ff HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_TARGET', 400],
  ['%00 in path', 'request', 'GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_TARGET', 400],
  ['fragment in target', 'request', 'GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_TARGET', 400],
  ['relative target', 'request', 'GET a/b HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_TARGET', 400],
  ['asterisk with GET', 'request', 'GET * HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_TARGET', 400],
  ['CONNECT to a path', 'request', 'CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n', 'ERR_H1_TARGET', 400],
  ['target too long', 'request', `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: h\r\n\r\n`, 'ERR_H1_TARGET_TOO_LONG', 414],
  ['head too large', 'request', `GET / HTTP/1.1\r\nHost: h\r\n${`X-Pad: ${'a'.repeat(220)}\r\n`.repeat(80)}\r\n`, 'ERR_H1_HEAD_TOO_LARGE', 431],
  ['one huge field', 'request', `GET / HTTP/1.1\r\nHost: h\r\nCookie: ${'c'.repeat(20000)}\r\n\r\n`, 'ERR_H1_HEAD_TOO_LARGE', 431],
  ['too many fields', 'request', `GET / HTTP/1.1\r\nHost: h\r\n${'A: b\r\n'.repeat(100)}\r\n`, 'ERR_H1_TOO_MANY_HEADERS', 431],
  ['trailers too large', 'request', `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ${'t'.repeat(17000)}\r\n\r\n`, 'ERR_H1_HEAD_TOO_LARGE', 431],
  ['obs-fold in trailers', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n', 'ERR_H1_OBS_FOLD', 400],
  ['truncated head', 'request', 'GET / HTTP/1.1\r\nHost: h\r\n', 'ERR_H1_TRUNCATED', 400],
  ['truncated body', 'request', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc', 'ERR_H1_TRUNCATED', 400],
  ['truncated chunked body', 'response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', 'ERR_H1_TRUNCATED', 400],
  ['status not 3 digits', 'response', 'HTTP/1.1 20 OK\r\n\r\n', 'ERR_H1_STATUS_LINE', 400],
  ['status 099', 'response', 'HTTP/1.1 099 OK\r\n\r\n', 'ERR_H1_STATUS_LINE', 400],
  ['status glued to reason', 'response', 'HTTP/1.1 200OK\r\n\r\n', 'ERR_H1_STATUS_LINE', 400],
  ['response HTTP/2', 'response', 'HTTP/2.0 200 OK\r\n\r\n', 'ERR_H1_VERSION', 505],
  ['response CL+TE', 'response', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 'ERR_H1_FRAMING', 400],
];

describe('refusals', () => {
  test.each(BAD)('%s (%s)', (_what, kind, input, code, status) => {
    const n = one(kind, input);
    expect(n[n.length - 1]).toEqual({ type: 'error', code, status });
  });

  test('refusals do not depend on how the input was split', () => {
    for (const [, kind, input] of BAD) {
      const b = bytes(input);
      const whole = drive(kind, [b]);
      const last = whole[whole.length - 1];
      // every 2-way split, and byte by byte
      for (let i = 1; i < b.length; i += b.length > 400 ? 37 : 1) expect(drive(kind, splitAt(b, [i])).slice(-1)).toEqual([last]);
      expect(drive(kind, splitAt(b, Array.from({ length: b.length }, (_, i) => i))).slice(-1)).toEqual([last]);
    }
  });

  test('the body limit: by Content-Length before the body, by count over chunks', () => {
    const limits = { maxBodyBytes: 10 };
    expect(drive('request', [bytes('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n')], { limits })).toEqual([{ type: 'error', code: 'ERR_H1_BODY_TOO_LARGE', status: 413 }]);
    const n = drive('request', [bytes('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n')], { limits });
    expect(n.map((e) => e.type)).toEqual(['head', 'data', 'error']);
    expect(n[2]).toEqual({ type: 'error', code: 'ERR_H1_BODY_TOO_LARGE', status: 413 });
  });

  test('configurable head limits', () => {
    expect(drive('request', [bytes('GET /abcdef HTTP/1.1\r\nHost: h\r\n\r\n')], { limits: { maxTargetBytes: 4 } }).pop()).toMatchObject({ code: 'ERR_H1_TARGET_TOO_LONG' });
    expect(drive('request', [bytes('GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n')], { limits: { maxHeaders: 1 } }).pop()).toMatchObject({ code: 'ERR_H1_TOO_MANY_HEADERS' });
    expect(drive('request', [bytes('GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n\r\n')], { limits: { maxHeadBytes: 30 } }).pop()).toMatchObject({ code: 'ERR_H1_HEAD_TOO_LARGE' });
  });

  test('an error carries the stream offset and the field, and the parser stays failed', () => {
    const p = new H1Parser('request');
    const ev: H1ParseEvent[] = [];
    const b = bytes('GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nBad Name: x\r\n\r\n');
    p.feed(b, 0, ev);
    p.next();
    let err: unknown;
    try {
      p.feed(b, 27, ev);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(H1Error);
    expect((err as H1Error).detail).toEqual({ offset: 43, field: 'field-name' });
    expect(p.state).toBe('error');
    expect(() => p.feed(bytes('x'), 0, ev)).toThrow(err as Error);
  });
});

/** Valid messages that together use every state of the parser. */
const REQUESTS = [
  'GET /index.html?lang=en&q=a+b HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n',
  'POST /submit HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n',
  '\r\nGET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
];
const RESPONSES = [
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello',
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\n',
  'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
];

describe('split anywhere, same events', () => {
  const requestStream = bytes(REQUESTS.join(''));
  const responseStream = bytes(RESPONSES.join('') + 'HTTP/1.0 200 OK\r\n\r\nto the close');
  const cases: Array<['request' | 'response', Uint8Array]> = [
    ['request', requestStream],
    ['response', responseStream],
  ];

  test.each(cases)('%s stream: every 2-way split, every 3-way split of the first 120 bytes, and byte by byte', (kind, b) => {
    const whole = drive(kind, [b]);
    expect(whole.some((e) => e.type === 'error')).toBe(false);
    for (let i = 1; i < b.length; i++) expect(drive(kind, splitAt(b, [i]))).toEqual(whole);
    for (let i = 1; i < 120; i++) for (let j = i + 1; j < 120; j += 3) expect(drive(kind, splitAt(b, [i, j]))).toEqual(whole);
    expect(drive(kind, splitAt(b, Array.from({ length: b.length }, (_, i) => i)))).toEqual(whole);
  });

  test.each(cases)('%s stream: random chunkings', (kind, b) => {
    const whole = drive(kind, [b]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: b.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(drive(kind, splitAt(b, cuts))).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  test.each(cases)('%s stream: the same events without the string cache, and twice over one parser', (kind, b) => {
    const whole = drive(kind, [b]);
    expect(drive(kind, [b], { limits: { cacheStrings: false } })).toEqual(whole);
    const twice = concat([b, b]);
    if (kind === 'request') expect(drive(kind, [twice], { limits: { cacheStrings: false } })).toEqual(drive(kind, [twice]));
  });

  test('a tunnel hands back the same rest however the bytes were split', () => {
    const b = bytes('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello\x88\x00');
    const whole = drive('response', [b]);
    for (let i = 1; i < b.length; i++) expect(drive('response', splitAt(b, [i]))).toEqual(whole);
  });
});

describe('fuzz', () => {
  const interesting = fc.constantFrom(...'\r\n:; \t0aAfF%/?#\x00\x7f\xff,-'.split('').map((c) => c.charCodeAt(0)));

  test('arbitrary bytes: only H1Error, never a hang, for both kinds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 8 }), fc.boolean(), (b, cuts, req) => {
        drive(req ? 'request' : 'response', splitAt(b, cuts));
      }),
      { numRuns: 2000 },
    );
  });

  test('mutated valid messages: only H1Error, and split-invariant', () => {
    const all: Array<['request' | 'response', string]> = [...REQUESTS.map((r) => ['request', r] as ['request', string]), ...RESPONSES.map((r) => ['response', r] as ['response', string])];
    fc.assert(
      fc.property(
        fc.constantFrom(...all),
        fc.array(fc.tuple(fc.nat(), fc.oneof(interesting, fc.integer({ min: 0, max: 255 })), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        ([kind, msg], edits, cuts) => {
          const arr = Array.from(bytes(msg));
          for (const [pos, val, op] of edits) {
            const at = pos % (arr.length + 1);
            if (op === 'set' && at < arr.length) arr[at] = val;
            else if (op === 'insert') arr.splice(at, 0, val);
            else arr.splice(at, 1);
          }
          const b = Uint8Array.from(arr);
          const whole = drive(kind, [b]);
          expect(drive(kind, splitAt(b, cuts.map((c) => c % (b.length + 1))))).toEqual(whole);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('llhttp (node:http parser) as oracle on random valid requests', () => {
  const require = createRequire(import.meta.url);
  const { HTTPParser, methods } = require('_http_common') as {
    HTTPParser: {
      new (): Record<number | string, unknown> & { initialize(t: number, r: object): void; execute(b: Buffer): unknown; finish(): unknown };
      REQUEST: number;
      kOnHeadersComplete: number;
      kOnHeaders: number;
      kOnBody: number;
      kOnMessageComplete: number;
    };
    methods: string[];
  };

  interface Seen {
    method: string;
    url: string;
    fields: string[];
    body: string;
    trailers: string[];
    keepAlive: boolean;
  }

  function llhttp(b: Uint8Array): Seen[] | Error {
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {});
    const out: Seen[] = [];
    let cur: Seen | undefined;
    let pending: string[] = [];
    p[HTTPParser.kOnHeaders] = (h: string[]) => {
      pending.push(...h);
    };
    p[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, h: string[] | undefined, m: number, url: string, _s: unknown, _r: unknown, _u: boolean, ka: boolean) => {
      cur = { method: methods[m] as string, url, fields: [...pending, ...(h ?? [])], body: '', trailers: [], keepAlive: ka };
      pending = [];
    };
    p[HTTPParser.kOnBody] = (chunk: Buffer) => {
      (cur as Seen).body += chunk.toString('latin1');
    };
    p[HTTPParser.kOnMessageComplete] = () => {
      (cur as Seen).trailers = pending;
      pending = [];
      out.push(cur as Seen);
    };
    const r = p.execute(Buffer.from(b));
    // llhttp's errors come from Node's own realm, not the test's: instanceof Error is false
    if (types.isNativeError(r)) return new Error((r as Error & { code: string }).code);
    return out;
  }

  function ours(b: Uint8Array): Seen[] | Error {
    const n = drive('request', [b], { eof: false });
    const out: Seen[] = [];
    for (const e of n) {
      if (e.type === 'error') return new Error(e.code);
      if (e.type === 'head') out.push({ method: e.head['method'] as string, url: e.head['target'] as string, fields: e.head['fields'] as string[], body: '', trailers: [], keepAlive: e.head['keepAlive'] as boolean });
      else if (e.type === 'data') (out[out.length - 1] as Seen).body += e.text;
      else if (e.type === 'trailers') (out[out.length - 1] as Seen).trailers = e.fields;
    }
    return out;
  }

  const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
  const value = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
  const pathSeg = fc.stringMatching(/^[A-Za-z0-9._~-]{0,8}$/);
  const body = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 60 });
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path: fc.array(pathSeg, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`),
    query: fc.option(fc.stringMatching(/^[A-Za-z0-9=&%+]{0,20}$/).filter((q) => !/%(?![0-9A-F]{2})/i.test(q))),
    fields: fc.array(fc.tuple(token, value), { maxLength: 8 }).map((f) => f.filter(([n]) => !/^(host|content-length|transfer-encoding|connection|upgrade|expect)$/i.test(n))),
    framing: fc.constantFrom('none', 'length', 'chunked'),
    body,
    cuts: fc.array(fc.nat(20), { maxLength: 4 }),
    close: fc.boolean(),
  });

  type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

  function render(r: Req): { wire: Uint8Array; fields: string[] } {
    const fields: string[] = ['Host', 'example.com'];
    for (const [n, v] of r.fields) fields.push(n, v);
    if (r.close) fields.push('Connection', 'close');
    let tail = '';
    if (r.framing === 'length') {
      fields.push('Content-Length', String(r.body.length));
      tail = r.body;
    } else if (r.framing === 'chunked') {
      fields.push('Transfer-Encoding', 'chunked');
      let rest = r.body;
      for (const c of r.cuts) {
        if (rest.length === 0) break;
        const piece = rest.slice(0, c + 1);
        tail += `${piece.length.toString(16)}\r\n${piece}\r\n`;
        rest = rest.slice(c + 1);
      }
      if (rest.length) tail += `${rest.length.toString(16)}\r\n${rest}\r\n`;
      tail += '0\r\n\r\n';
    }
    let head = `${r.method} ${r.path}${r.query === null ? '' : `?${r.query}`} HTTP/1.1\r\n`;
    for (let i = 0; i < fields.length; i += 2) head += `${fields[i]}: ${fields[i + 1]}\r\n`;
    return { wire: bytes(`${head}\r\n${tail}`), fields };
  }

  test('same method, target, fields, body and keep-alive on 500 random pipelines', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 3 }), (all) => {
        // llhttp refuses bytes after a message that closes the connection
        const end = all.findIndex((r) => r.close);
        const reqs = end < 0 ? all : all.slice(0, end + 1);
        const wire = concat(reqs.map((r) => render(r).wire));
        const theirs = llhttp(wire);
        expect(theirs).not.toBeInstanceOf(Error);
        const mine = ours(wire);
        expect(mine).not.toBeInstanceOf(Error);
        const lower = (f: string[]): string[] => f.map((x, i) => (i % 2 === 0 ? x.toLowerCase() : x));
        expect((mine as Seen[]).map((s) => ({ ...s, fields: lower(s.fields) }))).toEqual((theirs as Seen[]).map((s) => ({ ...s, fields: lower(s.fields) })));
      }),
      { numRuns: 500 },
    );
  });

  test('both refuse the smuggling shapes', () => {
    for (const [, kind, input, code] of BAD) {
      if (kind !== 'request' || code !== 'ERR_H1_FRAMING' || input.includes('HTTP/1.0')) continue;
      expect(llhttp(bytes(input))).toBeInstanceOf(Error);
    }
  });
});
