/**
 * RFC 6455 §4 opening handshake, both sides, on already-parsed HTTP heads: the HTTP/1.1 codec
 * reads and writes the bytes, this module only decides what the heads must say. A head is a
 * small plain interface so any HTTP parser can feed it.
 */
import { base64Encode } from '../../util/base64.js';
import { UsageError } from '../../util/errors.js';
import { sha1 } from '../../util/sha1.js';
import { utf8Encode } from '../../util/utf8.js';
import { WsHandshakeError } from './errors.js';
import {
  acceptDeflate,
  acceptDeflateResponse,
  deflateOffer,
  formatExtensions,
  parseExtensions,
  type DeflateOptions,
  type DeflateParams,
} from './extensions.js';

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

export interface HttpRequestHead {
  method: string;
  target: string;
  /** "1.1" or "HTTP/1.1" */
  version: string;
  headers: HeaderList;
}

export interface HttpResponseHead {
  status: number;
  reason: string;
  headers: HeaderList;
}

/** What the handshake settled, for the connection machine and the user. */
export interface WsNegotiated {
  protocol: string | undefined;
  /** the Sec-WebSocket-Extensions value of the 101, if any */
  extensions: string | undefined;
  deflate: DeflateParams | undefined;
}

export const WS_VERSION = '13';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)). */
export function acceptKey(key: string): string {
  return base64Encode(sha1(utf8Encode(key + GUID)));
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** 16 bytes in base64 are always 22 characters and "==" */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** Every value of header `name` (case-insensitive), in order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of headers) if (k.toLowerCase() === lower) out.push(v);
  return out;
}

/** Comma-separated list elements across all lines of a header, trimmed, empty ones dropped. */
function listOf(headers: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (const v of headerValues(headers, name)) {
    for (const part of v.split(',')) {
      const t = part.trim();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

function hasToken(headers: HeaderList, name: string, token: string): boolean {
  return listOf(headers, name).some((t) => t.toLowerCase() === token);
}

/** A cheap test for routing: does this request ask for a WebSocket upgrade at all? */
export function isWebSocketUpgrade(req: HttpRequestHead): boolean {
  return hasToken(req.headers, 'upgrade', 'websocket');
}

export interface ClientHandshakeOptions {
  /** the Host header: host, and ":port" when not the scheme's default */
  host: string;
  /** request target; default "/" */
  path?: string;
  origin?: string;
  /** subprotocols to offer, in preference order */
  protocols?: readonly string[];
  /** offer permessage-deflate with these parameters (several: offers in preference order) */
  deflate?: DeflateOptions | readonly DeflateOptions[];
  /** extra request headers (authorization, cookies) */
  headers?: HeaderList;
  /** the host's entropy, for the 16-byte nonce */
  random: (into: Uint8Array) => void;
}

/**
 * The client side: builds the upgrade request and validates the response to it. One instance
 * per connection attempt (the nonce must be fresh each time).
 */
export class ClientHandshake {
  readonly key: string;
  readonly request: HttpRequestHead;
  private readonly protocols: readonly string[];
  private readonly deflate: DeflateOptions | readonly DeflateOptions[] | undefined;

  constructor(opts: ClientHandshakeOptions) {
    const protocols = opts.protocols ?? [];
    const seen = new Set<string>();
    for (const p of protocols) {
      if (!TOKEN.test(p) || seen.has(p)) {
        throw new UsageError('ERR_WS_PROTOCOL_NAME', `subprotocol "${p}" is not a token or is repeated`, { protocol: p });
      }
      seen.add(p);
    }
    const nonce = new Uint8Array(16);
    opts.random(nonce);
    this.key = base64Encode(nonce);
    this.protocols = protocols;
    this.deflate = opts.deflate;
    const headers: Array<[string, string]> = [
      ['Host', opts.host],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', this.key],
      ['Sec-WebSocket-Version', WS_VERSION],
    ];
    if (opts.origin !== undefined) headers.push(['Origin', opts.origin]);
    if (protocols.length) headers.push(['Sec-WebSocket-Protocol', protocols.join(', ')]);
    if (opts.deflate) {
      const offers = 'length' in opts.deflate ? opts.deflate : [opts.deflate];
      if (offers.length) headers.push(['Sec-WebSocket-Extensions', formatExtensions(offers.map(deflateOffer))]);
    }
    for (const [k, v] of opts.headers ?? []) headers.push([k, v]);
    this.request = { method: 'GET', target: opts.path ?? '/', version: 'HTTP/1.1', headers };
  }

  /** Checks the server's answer (§4.1, steps 1-6 of the response checks); throws WsHandshakeError. */
  validateResponse(res: HttpResponseHead): WsNegotiated {
    const fail = (code: ConstructorParameters<typeof WsHandshakeError>[0], why: string, detail?: Record<string, unknown>): never => {
      throw new WsHandshakeError(code, why, undefined, detail);
    };
    if (res.status !== 101) fail('ERR_WS_HS_STATUS', `status ${res.status}, not 101`, { status: res.status });
    if (!hasToken(res.headers, 'upgrade', 'websocket')) fail('ERR_WS_HS_UPGRADE', 'Upgrade is not websocket');
    if (!hasToken(res.headers, 'connection', 'upgrade')) fail('ERR_WS_HS_CONNECTION', 'Connection lacks upgrade');
    const accept = headerValues(res.headers, 'sec-websocket-accept');
    if (accept.length !== 1 || (accept[0] as string).trim() !== acceptKey(this.key)) {
      fail('ERR_WS_HS_ACCEPT', 'Sec-WebSocket-Accept does not match our key', { accept });
    }
    const chosen = listOf(res.headers, 'sec-websocket-protocol');
    let protocol: string | undefined;
    if (chosen.length > 1) fail('ERR_WS_HS_PROTOCOL', 'more than one subprotocol chosen', { protocols: chosen });
    if (chosen.length === 1) {
      protocol = chosen[0] as string;
      if (!this.protocols.includes(protocol)) fail('ERR_WS_HS_PROTOCOL', `subprotocol "${protocol}" was not offered`, { protocol });
    }
    const extLines = headerValues(res.headers, 'sec-websocket-extensions');
    const extensions = extLines.length ? extLines.join(', ') : undefined;
    let deflate: DeflateParams | undefined;
    if (extensions !== undefined) {
      let parsed;
      try {
        parsed = parseExtensions(extensions);
      } catch (e) {
        throw new WsHandshakeError('ERR_WS_HS_EXTENSIONS', (e as Error).message, undefined, { extensions });
      }
      deflate = acceptDeflateResponse(parsed, this.deflate);
    }
    return { protocol, extensions, deflate };
  }
}

export interface ServerHandshakeOptions {
  /** subprotocols we speak, in our preference order; the first one the client offered wins */
  protocols?: readonly string[];
  /** accept permessage-deflate within these limits */
  deflate?: DeflateOptions;
  /** extra headers for the 101 */
  headers?: HeaderList;
}

export interface ServerHandshake {
  /** the 101 to send */
  response: HttpResponseHead;
  negotiated: WsNegotiated;
}

/**
 * The server side: validates an upgrade request (§4.2.1) and builds the 101 (§4.2.2). Throws
 * WsHandshakeError whose status and headers make the refusal (see `refusal`).
 */
export function acceptHandshake(req: HttpRequestHead, opts: ServerHandshakeOptions = {}): ServerHandshake {
  const h = req.headers;
  if (req.method !== 'GET') {
    throw new WsHandshakeError('ERR_WS_HS_METHOD', `method ${req.method}, not GET`, 405, { method: req.method }, [['Allow', 'GET']]);
  }
  const v = /^(?:HTTP\/)?(\d+)\.(\d+)$/.exec(req.version);
  if (!v || Number(v[1]) < 1 || (Number(v[1]) === 1 && Number(v[2]) < 1)) {
    throw new WsHandshakeError('ERR_WS_HS_HTTP_VERSION', `HTTP version ${req.version}, not 1.1 or later`, 400, {
      version: req.version,
    });
  }
  if (headerValues(h, 'host').length !== 1) throw new WsHandshakeError('ERR_WS_HS_HOST', 'no single Host header', 400);
  if (!hasToken(h, 'upgrade', 'websocket')) throw new WsHandshakeError('ERR_WS_HS_UPGRADE', 'Upgrade is not websocket', 400);
  if (!hasToken(h, 'connection', 'upgrade')) throw new WsHandshakeError('ERR_WS_HS_CONNECTION', 'Connection lacks upgrade', 400);
  const versions = headerValues(h, 'sec-websocket-version');
  if (versions.length !== 1 || (versions[0] as string).trim() !== WS_VERSION) {
    throw new WsHandshakeError('ERR_WS_HS_VERSION', `Sec-WebSocket-Version ${versions.join(',') || 'missing'}, not 13`, 426, { versions }, [
      ['Sec-WebSocket-Version', WS_VERSION],
    ]);
  }
  const keys = headerValues(h, 'sec-websocket-key');
  const key = keys.length === 1 ? (keys[0] as string).trim() : '';
  if (!KEY.test(key)) throw new WsHandshakeError('ERR_WS_HS_KEY', 'Sec-WebSocket-Key is not 16 bytes of base64', 400, { keys });

  const offered = listOf(h, 'sec-websocket-protocol');
  for (const p of offered) {
    if (!TOKEN.test(p)) throw new WsHandshakeError('ERR_WS_HS_PROTOCOL', `subprotocol "${p}" is not a token`, 400, { protocol: p });
  }
  // RFC 6455 lets the server pick; with none in common we proceed without one and the client decides
  const protocol = (opts.protocols ?? []).find((p) => offered.includes(p));

  let deflate: DeflateParams | undefined;
  let extensions: string | undefined;
  const extLines = headerValues(h, 'sec-websocket-extensions');
  if (opts.deflate && extLines.length) {
    const accepted = acceptDeflate(parseExtensions(extLines.join(', ')), opts.deflate);
    if (accepted) {
      deflate = accepted.params;
      extensions = formatExtensions([accepted.response]);
    }
  }

  const headers: Array<[string, string]> = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', acceptKey(key)],
  ];
  if (protocol !== undefined) headers.push(['Sec-WebSocket-Protocol', protocol]);
  if (extensions !== undefined) headers.push(['Sec-WebSocket-Extensions', extensions]);
  for (const [k, val] of opts.headers ?? []) headers.push([k, val]);
  return { response: { status: 101, reason: 'Switching Protocols', headers }, negotiated: { protocol, extensions, deflate } };
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 405: 'Method Not Allowed', 426: 'Upgrade Required' };

/** The response head refusing a handshake that `acceptHandshake` threw on. */
export function refusal(err: WsHandshakeError): HttpResponseHead {
  const status = err.status ?? 400;
  return { status, reason: REASONS[status] ?? 'Bad Request', headers: [...err.headers] };
}
