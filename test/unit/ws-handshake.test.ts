import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { WsHandshakeError } from '../../src/protocols/ws/errors.js';
import {
  acceptDeflate,
  acceptDeflateResponse,
  deflateOffer,
  formatExtensions,
  parseExtensions,
  type DeflateOptions,
} from '../../src/protocols/ws/extensions.js';
import {
  acceptHandshake,
  acceptKey,
  ClientHandshake,
  headerValues,
  isWebSocketUpgrade,
  refusal,
  type HttpRequestHead,
  type HttpResponseHead,
} from '../../src/protocols/ws/handshake.js';
import { UsageError } from '../../src/util/errors.js';
import { seededRandom } from './ws-harness.js';

const require = createRequire(import.meta.url);
/** the `ws` package's own Sec-WebSocket-Extensions parser, as an oracle */
const wsExtension = (require('ws') as { extension: { parse(h: string): Record<string, Array<Record<string, Array<string | true>>>> } }).extension;

function hsError(fn: () => unknown): WsHandshakeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WsHandshakeError);
    return e as WsHandshakeError;
  }
  throw new Error('expected a WsHandshakeError');
}

const baseRequest = (): HttpRequestHead => ({
  method: 'GET',
  target: '/chat',
  version: 'HTTP/1.1',
  headers: [
    ['Host', 'server.example.com'],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ['Origin', 'http://example.com'],
    ['Sec-WebSocket-Protocol', 'chat, superchat'],
    ['Sec-WebSocket-Version', '13'],
  ],
});

const withHeaders = (req: HttpRequestHead, edit: (h: Array<[string, string]>) => Array<[string, string]>): HttpRequestHead => ({
  ...req,
  headers: edit(req.headers.map(([k, v]) => [k, v] as [string, string])),
});

describe('accept key', () => {
  test('RFC 6455 §1.3 example', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('random keys agree with node:crypto', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (nonce) => {
        const key = Buffer.from(nonce).toString('base64');
        const want = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        expect(acceptKey(key)).toBe(want);
      }),
      { numRuns: 200 },
    );
  });
});

describe('server: acceptHandshake', () => {
  test('the RFC example request gets its 101, with our preferred subprotocol among those offered', () => {
    const { response, negotiated } = acceptHandshake(baseRequest(), { protocols: ['superchat', 'chat'] });
    expect(response.status).toBe(101);
    expect(headerValues(response.headers, 'sec-websocket-accept')).toEqual(['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
    expect(headerValues(response.headers, 'upgrade')).toEqual(['websocket']);
    expect(headerValues(response.headers, 'connection')).toEqual(['Upgrade']);
    expect(headerValues(response.headers, 'sec-websocket-protocol')).toEqual(['superchat']);
    expect(negotiated).toEqual({ protocol: 'superchat', extensions: undefined, deflate: undefined });
  });

  test('no subprotocol in common: proceed without one (the client decides)', () => {
    const { response, negotiated } = acceptHandshake(baseRequest(), { protocols: ['mqtt'] });
    expect(headerValues(response.headers, 'sec-websocket-protocol')).toEqual([]);
    expect(negotiated.protocol).toBeUndefined();
  });

  test('header names and tokens are case-insensitive; Connection may list other tokens; lists may span lines', () => {
    const req = withHeaders(baseRequest(), (h) =>
      h
        .map(([k, v]): [string, string] => [k.toUpperCase(), k === 'Upgrade' ? 'WebSocket' : k === 'Connection' ? 'keep-alive, upgrade' : v])
        .filter(([k]) => k !== 'SEC-WEBSOCKET-PROTOCOL')
        .concat([
          ['sec-websocket-protocol', 'chat'],
          ['Sec-WebSocket-Protocol', 'superchat'],
        ]),
    );
    expect(isWebSocketUpgrade(req)).toBe(true);
    expect(acceptHandshake(req, { protocols: ['superchat'] }).negotiated.protocol).toBe('superchat');
  });

  test.each<[string, (r: HttpRequestHead) => HttpRequestHead, string, number]>([
    ['POST', (r) => ({ ...r, method: 'POST' }), 'ERR_WS_HS_METHOD', 405],
    ['HTTP/1.0', (r) => ({ ...r, version: 'HTTP/1.0' }), 'ERR_WS_HS_HTTP_VERSION', 400],
    ['no Host', (r) => withHeaders(r, (h) => h.filter(([k]) => k !== 'Host')), 'ERR_WS_HS_HOST', 400],
    ['no Upgrade', (r) => withHeaders(r, (h) => h.filter(([k]) => k !== 'Upgrade')), 'ERR_WS_HS_UPGRADE', 400],
    ['Upgrade: h2c', (r) => withHeaders(r, (h) => h.map(([k, v]) => [k, k === 'Upgrade' ? 'h2c' : v])), 'ERR_WS_HS_UPGRADE', 400],
    ['Connection: keep-alive', (r) => withHeaders(r, (h) => h.map(([k, v]) => [k, k === 'Connection' ? 'keep-alive' : v])), 'ERR_WS_HS_CONNECTION', 400],
    ['version 8', (r) => withHeaders(r, (h) => h.map(([k, v]) => [k, k === 'Sec-WebSocket-Version' ? '8' : v])), 'ERR_WS_HS_VERSION', 426],
    ['no version', (r) => withHeaders(r, (h) => h.filter(([k]) => k !== 'Sec-WebSocket-Version')), 'ERR_WS_HS_VERSION', 426],
    ['no key', (r) => withHeaders(r, (h) => h.filter(([k]) => k !== 'Sec-WebSocket-Key')), 'ERR_WS_HS_KEY', 400],
    ['a 15-byte key', (r) => withHeaders(r, (h) => h.map(([k, v]) => [k, k === 'Sec-WebSocket-Key' ? Buffer.alloc(15).toString('base64') : v])), 'ERR_WS_HS_KEY', 400],
    ['a 17-byte key', (r) => withHeaders(r, (h) => h.map(([k, v]) => [k, k === 'Sec-WebSocket-Key' ? Buffer.alloc(17).toString('base64') : v])), 'ERR_WS_HS_KEY', 400],
    ['a key that is not base64', (r) => withHeaders(r, (h) => h.map(([k, v]) => [k, k === 'Sec-WebSocket-Key' ? 'dGhlIHNhbXBsZSBub25jZQ!=' : v])), 'ERR_WS_HS_KEY', 400],
    ['two keys', (r) => withHeaders(r, (h) => [...h, ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==']]), 'ERR_WS_HS_KEY', 400],
    ['a subprotocol that is not a token', (r) => withHeaders(r, (h) => [...h, ['Sec-WebSocket-Protocol', 'a b']]), 'ERR_WS_HS_PROTOCOL', 400],
    ['an extensions header that does not parse', (r) => withHeaders(r, (h) => [...h, ['Sec-WebSocket-Extensions', 'permessage-deflate; =']]), 'ERR_WS_HS_EXTENSIONS', 400],
  ])('%s is refused', (_n, edit, code, status) => {
    const e = hsError(() => acceptHandshake(edit(baseRequest()), { deflate: {} }));
    expect([e.code, e.status]).toEqual([code, status]);
    const head = refusal(e);
    expect(head.status).toBe(status);
    if (status === 426) expect(headerValues(head.headers, 'sec-websocket-version')).toEqual(['13']);
    if (status === 405) expect(headerValues(head.headers, 'allow')).toEqual(['GET']);
  });
});

describe('client: ClientHandshake', () => {
  const random = seededRandom(42);

  test('the request carries a fresh 16-byte key and what we offer', () => {
    const hs = new ClientHandshake({ host: 'example.com:8080', path: '/ws?x=1', origin: 'http://example.com', protocols: ['chat', 'superchat'], deflate: { clientMaxWindowBits: true }, random, headers: [['Authorization', 'Bearer t']] });
    expect(Buffer.from(hs.key, 'base64').length).toBe(16);
    expect(hs.request).toMatchObject({ method: 'GET', target: '/ws?x=1', version: 'HTTP/1.1' });
    const h = hs.request.headers;
    expect(headerValues(h, 'host')).toEqual(['example.com:8080']);
    expect(headerValues(h, 'sec-websocket-version')).toEqual(['13']);
    expect(headerValues(h, 'sec-websocket-protocol')).toEqual(['chat, superchat']);
    expect(headerValues(h, 'sec-websocket-extensions')).toEqual(['permessage-deflate; client_max_window_bits']);
    expect(headerValues(h, 'authorization')).toEqual(['Bearer t']);
    expect(new ClientHandshake({ host: 'h', random }).key).not.toBe(hs.key);
  });

  test('our client and our server agree, end to end', () => {
    fc.assert(
      fc.property(
        fc.subarray(['chat', 'superchat', 'mqtt']),
        fc.subarray(['superchat', 'mqtt', 'wamp']),
        fc.option(fc.record({ serverNoContextTakeover: fc.boolean(), clientNoContextTakeover: fc.boolean(), serverMaxWindowBits: fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined }), clientMaxWindowBits: fc.oneof(fc.boolean(), fc.integer({ min: 8, max: 15 })) }), { nil: undefined }),
        fc.option(fc.record({ serverNoContextTakeover: fc.boolean(), clientNoContextTakeover: fc.boolean(), serverMaxWindowBits: fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined }), clientMaxWindowBits: fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined }) }), { nil: undefined }),
        (offered, spoken, clientDeflate, serverDeflate) => {
          const hs = new ClientHandshake({ host: 'h', protocols: offered, ...(clientDeflate ? { deflate: clientDeflate } : {}), random });
          const server = acceptHandshake(hs.request, { protocols: spoken, ...(serverDeflate ? { deflate: serverDeflate } : {}) });
          const res: HttpResponseHead = server.response;
          const client = hs.validateResponse(res);
          expect(client).toEqual(server.negotiated);
          expect(client.protocol).toBe(spoken.find((p) => offered.includes(p)));
          if (client.deflate) {
            const d = client.deflate;
            if (clientDeflate?.serverNoContextTakeover) expect(d.serverNoContextTakeover).toBe(true);
            if (clientDeflate?.serverMaxWindowBits) expect(d.serverMaxWindowBits).toBeLessThanOrEqual(clientDeflate.serverMaxWindowBits);
            if (typeof clientDeflate?.clientMaxWindowBits === 'number') expect(d.clientMaxWindowBits).toBeLessThanOrEqual(clientDeflate.clientMaxWindowBits);
            if (serverDeflate?.serverMaxWindowBits) expect(d.serverMaxWindowBits).toBeLessThanOrEqual(serverDeflate.serverMaxWindowBits);
            if (serverDeflate?.clientMaxWindowBits) expect(d.clientMaxWindowBits).toBeLessThanOrEqual(serverDeflate.clientMaxWindowBits);
          } else {
            // declined only when one side did not want it, or the server needs a client limit the client cannot take
            const needsLimit = (serverDeflate?.clientMaxWindowBits ?? 15) < 15 && !clientDeflate?.clientMaxWindowBits;
            expect(!clientDeflate || !serverDeflate || needsLimit).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  const good = (hs: ClientHandshake, extra: Array<[string, string]> = []): HttpResponseHead => ({
    status: 101,
    reason: 'Switching Protocols',
    headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', acceptKey(hs.key)], ...extra],
  });

  test.each<[string, (r: HttpResponseHead) => HttpResponseHead, string]>([
    ['a 200', (r) => ({ ...r, status: 200 }), 'ERR_WS_HS_STATUS'],
    ['no Upgrade', (r) => ({ ...r, headers: r.headers.filter(([k]) => k !== 'Upgrade') }), 'ERR_WS_HS_UPGRADE'],
    ['no Connection', (r) => ({ ...r, headers: r.headers.filter(([k]) => k !== 'Connection') }), 'ERR_WS_HS_CONNECTION'],
    ['a wrong accept', (r) => ({ ...r, headers: r.headers.map(([k, v]) => [k, k === 'Sec-WebSocket-Accept' ? acceptKey('x') : v] as const) }), 'ERR_WS_HS_ACCEPT'],
    ['no accept', (r) => ({ ...r, headers: r.headers.filter(([k]) => k !== 'Sec-WebSocket-Accept') }), 'ERR_WS_HS_ACCEPT'],
    ['a subprotocol not offered', (r) => ({ ...r, headers: [...r.headers, ['Sec-WebSocket-Protocol', 'wamp']] }), 'ERR_WS_HS_PROTOCOL'],
    ['two subprotocols', (r) => ({ ...r, headers: [...r.headers, ['Sec-WebSocket-Protocol', 'chat, superchat']] }), 'ERR_WS_HS_PROTOCOL'],
    ['an extension not offered', (r) => ({ ...r, headers: [...r.headers, ['Sec-WebSocket-Extensions', 'x-webkit-deflate-frame']] }), 'ERR_WS_HS_EXTENSIONS'],
  ])('%s fails the connection', (_n, edit, code) => {
    const hs = new ClientHandshake({ host: 'h', protocols: ['chat', 'superchat'], random });
    const e = hsError(() => hs.validateResponse(edit(good(hs))));
    expect(e.code).toBe(code);
    expect(e.status).toBeUndefined();
  });

  test('a server may choose no subprotocol', () => {
    const hs = new ClientHandshake({ host: 'h', protocols: ['chat'], random });
    expect(hs.validateResponse(good(hs)).protocol).toBeUndefined();
  });

  test('bad subprotocol names are a usage error', () => {
    expect(() => new ClientHandshake({ host: 'h', protocols: ['a b'], random })).toThrow(UsageError);
    expect(() => new ClientHandshake({ host: 'h', protocols: ['a', 'a'], random })).toThrow(UsageError);
  });
});

describe('Sec-WebSocket-Extensions', () => {
  test('parsing: parameters, quoted values, whitespace, several elements, empty elements', () => {
    expect(parseExtensions('permessage-deflate; client_max_window_bits; server_max_window_bits="10" , foo ;bar=baz,, Qux')).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true], ['server_max_window_bits', '10']] },
      { name: 'foo', params: [['bar', 'baz']] },
      { name: 'qux', params: [] },
    ]);
  });

  test.each(['permessage-deflate;', 'a; b="c d"', 'a; b="unterminated', 'a b', '"a"', 'a; b=', 'a; b=""'])('%j is refused', (h) => {
    expect(hsError(() => parseExtensions(h)).code).toBe('ERR_WS_HS_EXTENSIONS');
  });

  const token = fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/);
  test('random well-formed headers parse to what was written, and as the ws package reads them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: token, params: fc.uniqueArray(fc.tuple(token, fc.option(token, { nil: undefined }), fc.boolean()), { selector: (p) => p[0], maxLength: 4 }) }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('', ' ', '\t', '  '),
        (exts, ows) => {
          const header = exts
            .map((e) => [e.name, ...e.params.map(([k, v, q]) => (v === undefined ? k : `${k}=${q ? `"${v}"` : v}`))].join(`${ows};${ows}`))
            .join(`${ows},${ows}`);
          const ours = parseExtensions(header);
          expect(ours).toEqual(exts.map((e) => ({ name: e.name, params: e.params.map(([k, v]) => [k, v ?? true]) })));
          expect(parseExtensions(formatExtensions(ours))).toEqual(ours);
          const theirs = wsExtension.parse(header);
          for (const e of ours) {
            const offers = theirs[e.name]!;
            expect(offers.some((o) => e.params.every(([k, v]) => o[k]?.[0] === v))).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('permessage-deflate negotiation', () => {
  const offer = (h: string) => parseExtensions(h);

  test('server: parameters granted and limited as RFC 7692 §7.1 says', () => {
    expect(acceptDeflate(offer('permessage-deflate'), {})).toEqual({
      params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
      response: { name: 'permessage-deflate', params: [] },
    });
    const a = acceptDeflate(offer('permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits'), {
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11,
      clientNoContextTakeover: true,
    })!;
    expect(a.params).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 });
    expect(formatExtensions([a.response])).toBe(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
    );
  });

  test('server: offers with unknown, repeated or invalid parameters are declined, and the next offer considered', () => {
    for (const bad of ['x=1', 'server_max_window_bits=16', 'server_max_window_bits=7', 'server_max_window_bits', 'client_max_window_bits=08', 'server_no_context_takeover=1', 'server_no_context_takeover; server_no_context_takeover']) {
      expect(acceptDeflate(offer(`permessage-deflate; ${bad}`), {})).toBeUndefined();
      expect(acceptDeflate(offer(`permessage-deflate; ${bad}, permessage-deflate`), {})?.response).toEqual({ name: 'permessage-deflate', params: [] });
    }
    // a client limit we need but the client cannot take
    expect(acceptDeflate(offer('permessage-deflate'), { clientMaxWindowBits: 10 })).toBeUndefined();
    expect(acceptDeflate(offer('x-webkit-deflate-frame'), {})).toBeUndefined();
  });

  test('client: the response must stay within the offer', () => {
    const r = (h: string, o: DeflateOptions) => () => acceptDeflateResponse(offer(h), o);
    expect(r('permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 12 })()).toMatchObject({ serverMaxWindowBits: 10 });
    expect(r('permessage-deflate; client_max_window_bits=9', { clientMaxWindowBits: true })()).toMatchObject({ clientMaxWindowBits: 9 });
    expect(r('permessage-deflate', { clientNoContextTakeover: true })()).toMatchObject({ clientNoContextTakeover: true });
    expect(r('permessage-deflate; server_no_context_takeover', {})()).toMatchObject({ serverNoContextTakeover: true });
    for (const [h, o] of [
      ['permessage-deflate; client_max_window_bits=10', {}],
      ['permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 11 }],
      ['permessage-deflate; client_max_window_bits', { clientMaxWindowBits: true }],
      ['permessage-deflate', { serverMaxWindowBits: 10 }],
      ['permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }],
      ['permessage-deflate', { serverNoContextTakeover: true }],
      ['permessage-deflate, permessage-deflate', {}],
      ['permessage-deflate; foo', {}],
    ] as Array<[string, DeflateOptions]>) {
      expect(hsError(r(h, o)).code).toBe('ERR_WS_HS_EXTENSIONS');
    }
    expect(hsError(() => acceptDeflateResponse(offer('permessage-deflate'), undefined)).code).toBe('ERR_WS_HS_EXTENSIONS');
  });

  test('bad window sizes in our own options are usage errors', () => {
    expect(() => deflateOffer({ serverMaxWindowBits: 16 })).toThrow(UsageError);
    expect(() => acceptDeflate([], { clientMaxWindowBits: 7 })).toThrow(UsageError);
  });
});
