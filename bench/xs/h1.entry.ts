/**
 * XS bench: parse a typical browser GET (12 fields) and a typical chunked response (6 fields,
 * two chunks), N times: LWSX_XS_ITERATIONS when run-in-xs.mjs sets it, else H1_BENCH_ITERATIONS.
 * Each iteration also encodes a response head, as a server answering the request would. The
 * parsers run without their string cache, as on a device (H1ParserOptions.cacheStrings).
 * bench/xs.bench.ts runs it with two counts and divides the difference.
 */
/// <reference path="./globals.d.ts" />
import { H1Parser } from '../../src/protocols/h1/parser.js';
import type { H1ParseEvent } from '../../src/protocols/h1/parser.js';
import { encodeResponseHead } from '../../src/protocols/h1/serializer.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { reportToHost } from '../../test/xs/report.js';

export const H1_BENCH_ITERATIONS = 1000;
const N = globalThis.LWSX_XS_ITERATIONS ?? H1_BENCH_ITERATIONS;

export const TYPICAL_REQUEST = utf8Encode(
  'GET /api/v1/status?verbose=1&fields=a%2Cb HTTP/1.1\r\n' +
    'Host: device.local:8080\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n' +
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
    'Accept-Language: en-GB,en;q=0.5\r\n' +
    'Accept-Encoding: gzip, deflate, br\r\n' +
    'Connection: keep-alive\r\n' +
    'Cookie: session=4f9a1c2e7b; theme=dark\r\n' +
    'Upgrade-Insecure-Requests: 1\r\n' +
    'Sec-Fetch-Dest: document\r\n' +
    'Sec-Fetch-Mode: navigate\r\n' +
    'Sec-Fetch-Site: none\r\n' +
    'Cache-Control: max-age=0\r\n\r\n',
);

function chunk(s: string): string {
  return `${s.length.toString(16)}\r\n${s}\r\n`;
}

export const TYPICAL_RESPONSE = utf8Encode(
  'HTTP/1.1 200 OK\r\n' +
    'Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n' +
    'Server: lwsx\r\n' +
    'Content-Type: application/json; charset=utf-8\r\n' +
    'Cache-Control: no-store\r\n' +
    'Connection: keep-alive\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n' +
    chunk('{"state":"OPERATIONAL","uptime":') +
    chunk('12345678}') +
    '0\r\n\r\n',
);

reportToHost(() => {
  // as a device build runs it: no string cache (see H1ParserOptions.cacheStrings)
  const req = new H1Parser('request', { cacheStrings: false });
  const res = new H1Parser('response', { cacheStrings: false });
  const ev: H1ParseEvent[] = [];
  let fields = 0;
  let bodyBytes = 0;
  let headBytes = 0;
  for (let i = 0; i < N; i++) {
    ev.length = 0;
    req.feed(TYPICAL_REQUEST, 0, ev);
    req.next();
    res.feed(TYPICAL_RESPONSE, 0, ev);
    res.next();
    for (const e of ev) {
      if (e.type === 'head') fields += e.head.headers.size;
      else if (e.type === 'data') bodyBytes += e.data.length;
    }
    headBytes += encodeResponseHead(200, undefined, [['Content-Type', 'application/json'], ['Content-Length', '40']]).length;
  }
  return { iterations: N, fields, bodyBytes, headBytes };
});
