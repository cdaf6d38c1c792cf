/**
 * Sec-WebSocket-Extensions (RFC 6455 §9.1) parsing and permessage-deflate (RFC 7692 §7.1)
 * parameter negotiation, for both sides. Pure negotiation: the agreed DeflateParams are handed
 * to whatever MessageDeflater the host builds.
 */
import { UsageError } from '../../util/errors.js';
import { WsHandshakeError } from './errors.js';

export interface Extension {
  /** lower-cased extension token */
  name: string;
  /** parameters in order; `true` for a parameter without a value; quoted values unquoted */
  params: Array<[name: string, value: string | true]>;
}

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function bad(why: string, at: number): never {
  throw new WsHandshakeError('ERR_WS_HS_EXTENSIONS', `Sec-WebSocket-Extensions: ${why} at ${at}`, 400, { offset: at });
}

/**
 * Parses `1#( token *( ";" token [ "=" ( token / quoted-string ) ] ) )` with optional
 * whitespace. Several header lines should be joined with ", " first. Empty list elements
 * (", ,") are skipped as RFC 7230 §7 asks.
 */
export function parseExtensions(value: string): Extension[] {
  const out: Extension[] = [];
  const n = value.length;
  let i = 0;
  const ws = (): void => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const token = (): string => {
    const s = i;
    while (i < n && TCHAR.test(value[i] as string)) i++;
    if (i === s) bad('token expected', i);
    return value.slice(s, i);
  };
  for (;;) {
    ws();
    if (i >= n) break;
    if (value[i] === ',') {
      i++;
      continue;
    }
    const ext: Extension = { name: token().toLowerCase(), params: [] };
    ws();
    while (i < n && value[i] === ';') {
      i++;
      ws();
      const name = token().toLowerCase();
      ws();
      let v: string | true = true;
      if (value[i] === '=') {
        i++;
        ws();
        if (value[i] === '"') {
          const at = i;
          i++;
          let s = '';
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\') i++;
            if (i >= n) break;
            s += value[i];
            i++;
          }
          if (i >= n) bad('unterminated quoted string', at);
          i++;
          // §9.1: a quoted value must still be a token once unquoted
          if (s === '' || ![...s].every((c) => TCHAR.test(c))) bad('quoted value is not a token', at);
          v = s;
        } else v = token();
        ws();
      }
      ext.params.push([name, v]);
    }
    out.push(ext);
    ws();
    if (i < n) {
      if (value[i] !== ',') bad(`unexpected "${value[i]}"`, i);
      i++;
    }
  }
  return out;
}

export function formatExtensions(list: readonly Extension[]): string {
  return list
    .map((e) => [e.name, ...e.params.map(([k, v]) => (v === true ? k : `${k}=${v}`))].join('; '))
    .join(', ');
}

/** What a side wants from permessage-deflate. */
export interface DeflateOptions {
  /** ask (client) or insist (server) that the server resets its compression context per message */
  serverNoContextTakeover?: boolean;
  /** ask (client: we promise) or insist (server) that the client resets its context per message */
  clientNoContextTakeover?: boolean;
  /**
   * Client: the largest server window (8-15) we ask for. Server: the largest window we use for
   * our own compression.
   */
  serverMaxWindowBits?: number;
  /**
   * Client: `true` tells the server it may limit our window (we can use any size), a number
   * both says so and limits it ourselves. Server: the largest window we let the client use.
   */
  clientMaxWindowBits?: number | boolean;
}

/** What both sides agreed on; absent window parameters mean 15. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

function checkBits(what: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 8 && v <= 15)) {
    throw new UsageError('ERR_WS_DEFLATE_OPTION', `${what} must be 8..15, not ${v}`, { field: what, value: v });
  }
}

/** The client's offer, e.g. "permessage-deflate; client_max_window_bits". */
export function deflateOffer(opts: DeflateOptions): Extension {
  checkBits('serverMaxWindowBits', opts.serverMaxWindowBits);
  if (typeof opts.clientMaxWindowBits === 'number') checkBits('clientMaxWindowBits', opts.clientMaxWindowBits);
  const params: Extension['params'] = [];
  if (opts.serverNoContextTakeover) params.push(['server_no_context_takeover', true]);
  if (opts.clientNoContextTakeover) params.push(['client_no_context_takeover', true]);
  if (opts.serverMaxWindowBits !== undefined) params.push(['server_max_window_bits', String(opts.serverMaxWindowBits)]);
  if (typeof opts.clientMaxWindowBits === 'number') params.push(['client_max_window_bits', String(opts.clientMaxWindowBits)]);
  else if (opts.clientMaxWindowBits) params.push(['client_max_window_bits', true]);
  return { name: PERMESSAGE_DEFLATE, params };
}

interface DeflateRequest {
  snct: boolean;
  cnct: boolean;
  /** undefined: absent */
  smwb: number | undefined;
  /** undefined: absent; true: present without a value */
  cmwb: number | true | undefined;
}

/** The parameters of one permessage-deflate element, or a reason they are not acceptable. */
function readDeflateParams(ext: Extension): DeflateRequest | string {
  const r: DeflateRequest = { snct: false, cnct: false, smwb: undefined, cmwb: undefined };
  const seen = new Set<string>();
  for (const [k, v] of ext.params) {
    if (seen.has(k)) return `duplicate ${k}`;
    seen.add(k);
    switch (k) {
      case 'server_no_context_takeover':
        if (v !== true) return `${k} takes no value`;
        r.snct = true;
        break;
      case 'client_no_context_takeover':
        if (v !== true) return `${k} takes no value`;
        r.cnct = true;
        break;
      case 'server_max_window_bits':
        if (v === true || !WINDOW_BITS.test(v)) return `${k} must be 8..15`;
        r.smwb = Number(v);
        break;
      case 'client_max_window_bits':
        if (v !== true && !WINDOW_BITS.test(v)) return `${k} must be 8..15`;
        r.cmwb = v === true ? true : Number(v);
        break;
      default:
        return `unknown parameter ${k}`;
    }
  }
  return r;
}

export interface DeflateAcceptance {
  params: DeflateParams;
  /** the element for the 101's Sec-WebSocket-Extensions */
  response: Extension;
}

/**
 * Server side: accepts the first permessage-deflate offer we can honour (§5: an offer with an
 * unknown, repeated or invalid parameter is declined, not fatal), or undefined when none.
 */
export function acceptDeflate(offers: readonly Extension[], opts: DeflateOptions): DeflateAcceptance | undefined {
  checkBits('serverMaxWindowBits', opts.serverMaxWindowBits);
  if (typeof opts.clientMaxWindowBits === 'number') checkBits('clientMaxWindowBits', opts.clientMaxWindowBits);
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const r = readDeflateParams(offer);
    if (typeof r === 'string') continue;
    const clientLimit = typeof opts.clientMaxWindowBits === 'number' ? opts.clientMaxWindowBits : undefined;
    // §7.1.2.2: we may only limit the client's window if it said it can be limited
    if (clientLimit !== undefined && clientLimit < 15 && r.cmwb === undefined) continue;
    const params: DeflateParams = {
      serverNoContextTakeover: r.snct || !!opts.serverNoContextTakeover,
      clientNoContextTakeover: r.cnct || !!opts.clientNoContextTakeover,
      serverMaxWindowBits: Math.min(r.smwb ?? 15, opts.serverMaxWindowBits ?? 15),
      clientMaxWindowBits: Math.min(typeof r.cmwb === 'number' ? r.cmwb : 15, clientLimit ?? 15),
    };
    const response: Extension = { name: PERMESSAGE_DEFLATE, params: [] };
    if (params.serverNoContextTakeover) response.params.push(['server_no_context_takeover', true]);
    if (params.clientNoContextTakeover) response.params.push(['client_no_context_takeover', true]);
    // §7.1.2.1: an offered server_max_window_bits must be answered; an unoffered one may be
    if (r.smwb !== undefined || params.serverMaxWindowBits < 15) {
      response.params.push(['server_max_window_bits', String(params.serverMaxWindowBits)]);
    }
    if (clientLimit !== undefined && r.cmwb !== undefined && (r.cmwb === true || clientLimit < r.cmwb)) {
      response.params.push(['client_max_window_bits', String(params.clientMaxWindowBits)]);
    }
    return { params, response };
  }
  return undefined;
}

/**
 * Client side: checks the server's answer against our offer (§7.1: only what we offered, each
 * window no larger than we allowed, server_no_context_takeover granted if we asked for it).
 * With several offers the answer must fit one of them (the first it fits sets what we
 * promised). Returns undefined when the server declined.
 */
export function acceptDeflateResponse(
  resp: readonly Extension[],
  offered: DeflateOptions | readonly DeflateOptions[] | undefined,
): DeflateParams | undefined {
  if (offered === undefined || !('length' in offered)) return acceptOne(resp, offered);
  if (offered.length === 0) return acceptOne(resp, undefined);
  let first: unknown;
  for (const o of offered) {
    try {
      return acceptOne(resp, o);
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

function acceptOne(resp: readonly Extension[], offered: DeflateOptions | undefined): DeflateParams | undefined {
  let result: DeflateParams | undefined;
  for (const ext of resp) {
    const fail = (why: string): never => {
      throw new WsHandshakeError('ERR_WS_HS_EXTENSIONS', `server's ${ext.name}: ${why}`, undefined, { extension: ext.name, why });
    };
    if (ext.name !== PERMESSAGE_DEFLATE || offered === undefined) fail('not offered');
    if (result) fail('accepted twice');
    const r = readDeflateParams(ext);
    if (typeof r === 'string') return fail(r);
    if (r.cmwb === true) fail('client_max_window_bits without a value');
    if (r.cmwb !== undefined && !offered!.clientMaxWindowBits) fail('client_max_window_bits not offered');
    const ourClient = typeof offered!.clientMaxWindowBits === 'number' ? offered!.clientMaxWindowBits : 15;
    if (typeof r.cmwb === 'number' && r.cmwb > ourClient) fail('client_max_window_bits above our offer');
    if (offered!.serverMaxWindowBits !== undefined) {
      if (r.smwb === undefined) fail('server_max_window_bits not answered');
      if ((r.smwb as number) > offered!.serverMaxWindowBits) fail('server_max_window_bits above our offer');
    }
    if (offered!.serverNoContextTakeover && !r.snct) fail('server_no_context_takeover not granted');
    result = {
      serverNoContextTakeover: r.snct,
      clientNoContextTakeover: r.cnct || !!offered!.clientNoContextTakeover,
      serverMaxWindowBits: r.smwb ?? 15,
      clientMaxWindowBits: typeof r.cmwb === 'number' ? r.cmwb : ourClient,
    };
  }
  return result;
}
