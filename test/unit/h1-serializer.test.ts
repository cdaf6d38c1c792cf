/** Heads and body framings on the wire, injection refused, and our output read back by our parser. */
import fc from 'fast-check';
import { BodyWriter, declaredFraming, encodeChunkHeader, encodeLastChunk, encodeRequestHead, encodeResponseHead } from '../../src/protocols/h1/serializer.js';
import { codeOf } from '../helpers/errors.js';
import { bytes, concat, drive, text } from './h1-support.js';

test('request and response heads, fields as given', () => {
  expect(text(encodeRequestHead('GET', '/a?b', [['Host', 'h'], ['X-Two', 'a b'], ['x-two', '']]))).toBe('GET /a?b HTTP/1.1\r\nHost: h\r\nX-Two: a b\r\nx-two: \r\n\r\n');
  expect(text(encodeRequestHead('GET', '/', [], '1.0'))).toBe('GET / HTTP/1.0\r\n\r\n');
  expect(text(encodeResponseHead(200, undefined, [['Content-Length', '0']]))).toBe('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  expect(text(encodeResponseHead(599, undefined, []))).toBe('HTTP/1.1 599 \r\n\r\n');
  expect(text(encodeResponseHead(404, 'Nope', [['V', 'caf\xe9']]))).toBe('HTTP/1.1 404 Nope\r\nV: caf\xe9\r\n\r\n');
});

test.each([
  ['CR LF in a value', () => encodeRequestHead('GET', '/', [['X', 'a\r\nInjected: 1']])],
  ['LF in a value', () => encodeRequestHead('GET', '/', [['X', 'a\nb']])],
  ['NUL in a value', () => encodeResponseHead(200, undefined, [['X', 'a\0']])],
  ['colon in a name', () => encodeResponseHead(200, undefined, [['X:Y', 'a']])],
  ['space in a name', () => encodeResponseHead(200, undefined, [['X Y', 'a']])],
  ['empty name', () => encodeResponseHead(200, undefined, [['', 'a']])],
  ['leading space in a value', () => encodeResponseHead(200, undefined, [['X', ' a']])],
  ['non-Latin-1 value', () => encodeResponseHead(200, undefined, [['X', '€']])],
  ['CRLF in the reason', () => encodeResponseHead(200, 'OK\r\nX: 1', [])],
  ['space in the target', () => encodeRequestHead('GET', '/a b', [])],
  ['CRLF in the target', () => encodeRequestHead('GET', '/\r\n', [])],
  ['empty target', () => encodeRequestHead('GET', '', [])],
  ['method with a space', () => encodeRequestHead('GET /x', '/', [])],
  ['status 42', () => encodeResponseHead(42, undefined, [])],
])('refuses %s', (_what, fn) => {
  const c = codeOf(fn);
  expect(c).toBe('ERR_H1_FIELD');
});

test('chunk framing', () => {
  expect(text(encodeChunkHeader(255))).toBe('ff\r\n');
  expect(text(encodeLastChunk())).toBe('0\r\n\r\n');
  expect(text(encodeLastChunk([['T', '1']]))).toBe('0\r\nT: 1\r\n\r\n');
});

test('BodyWriter: lengths are enforced, chunked adds framing, HEAD discards', () => {
  const out: Uint8Array[] = [];
  const len = new BodyWriter('length', 3);
  len.write(bytes('ab'), out);
  expect(codeOf(() => len.write(bytes('cd'), out))).toBe('ERR_H1_BODY_LENGTH');
  expect(codeOf(() => len.end(out))).toBe('ERR_H1_BODY_LENGTH');
  len.write(bytes('c'), out);
  len.end(out);
  expect(codeOf(() => len.end(out))).toBe('ERR_H1_STATE');
  expect(text(concat(out))).toBe('abc');

  const ch: Uint8Array[] = [];
  const c = new BodyWriter('chunked');
  c.write(bytes('hello'), ch);
  c.write(new Uint8Array(0), ch); // an empty write must not end the body
  c.end(ch, [['X-T', 'v']]);
  expect(text(concat(ch))).toBe('5\r\nhello\r\n0\r\nX-T: v\r\n\r\n');

  expect(codeOf(() => new BodyWriter('none').write(bytes('x'), []))).toBe('ERR_H1_BODY_LENGTH');
  expect(codeOf(() => new BodyWriter('length', 0).end([], [['T', '1']]))).toBe('ERR_H1_STATE');
  const head: Uint8Array[] = [];
  const h = new BodyWriter('none', 10, true);
  h.write(bytes('ignored'), head);
  h.end(head);
  expect(head).toEqual([]);
});

test('declaredFraming reads the user fields and refuses what this core cannot frame', () => {
  expect(declaredFraming([['Content-Length', '12'], ['Connection', 'keep-alive, Close']])).toEqual({ length: 12, chunked: false, close: true });
  expect(declaredFraming([['transfer-encoding', 'Chunked']])).toEqual({ length: -1, chunked: true, close: false });
  expect(codeOf(() => declaredFraming([['Transfer-Encoding', 'gzip, chunked']]))).toBe('ERR_H1_FIELD');
  expect(codeOf(() => declaredFraming([['Content-Length', '-1']]))).toBe('ERR_H1_FIELD');
  expect(codeOf(() => declaredFraming([['Content-Length', '1'], ['Content-Length', '2']]))).toBe('ERR_H1_FIELD');
  expect(codeOf(() => declaredFraming([['Content-Length', '1'], ['Transfer-Encoding', 'chunked']]))).toBe('ERR_H1_FIELD');
});

test('whatever we serialize, our parser reads back the same (random fields, bodies, chunkings)', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/).filter((n) => !/^(host|content-length|transfer-encoding|connection|upgrade|expect)$/i.test(n));
  const value = fc.stringMatching(/^([!-~\x80-\xff]([ \t!-~\x80-\xff]{0,20}[!-~\x80-\xff])?)?$/);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(token, value), { maxLength: 10 }),
      fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 5 }),
      fc.boolean(),
      (fields, pieces, chunked) => {
        const body = concat(pieces);
        const headers: Array<[string, string]> = [['Host', 'h'], ...fields, chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(body.length)]];
        const out: Uint8Array[] = [encodeRequestHead('PUT', '/x', headers)];
        const w = new BodyWriter(chunked ? 'chunked' : 'length', chunked ? -1 : body.length);
        for (const p of pieces) w.write(p, out);
        w.end(out);
        const n = drive('request', [concat(out)]);
        expect(n[0]).toMatchObject({ type: 'head', head: { fields: headers.flatMap(([k, v]) => [k.toLowerCase(), v]) } });
        const data = n.find((e) => e.type === 'data');
        expect(data === undefined ? '' : (data as { text: string }).text).toBe(text(body));
        expect(n[n.length - 1]).toEqual({ type: 'end' });
      },
    ),
    { numRuns: 500 },
  );
});
