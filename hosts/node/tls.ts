/**
 * TLS on node:tls: client streams, and the credentials a TLS listener serves with.
 *
 * Client. Verification is on unless `verify: false`: the chain must lead to the built-in store
 * or to a certificate in `trust`, and the certificate must name `servername` (else `host`, else
 * the address dialled; an IP literal is checked against the certificate's IP SANs and never
 * sent as SNI, RFC 6066 §3). `trust` ADDS to the built-in store, as libwebsockets'
 * lws_tls_client_vhost_extra_cert_mem adds to the vhost's X509 store and Moddable's
 * `secure.certificate` adds to its own, so a policy that pins a private CA still reaches public
 * servers. The built-in store is Node's: tls.rootCertificates plus the file named by
 * NODE_EXTRA_CA_CERTS. A refused certificate is a TlsVerifyError whose code says why
 * (ERR_TLS_EXPIRED, ERR_TLS_NOT_YET_VALID, ERR_TLS_HOSTNAME, ERR_TLS_SELF_SIGNED,
 * ERR_TLS_UNTRUSTED, ERR_TLS_VERIFY) with Node's code in detail.errno; any other handshake
 * failure is ERR_TLS_HANDSHAKE.
 *
 * Trust arrives as DER in memory, the client certificate and key as DER (as the CLIENT_CERT_DER /
 * CLIENT_KEY_DER blobs carry them) or PEM; Node wants PEM, so DER is converted here. A bad
 * client certificate or key, or a pair that does not match, is ERR_TLS_CLIENT_CERT when the
 * connection is made, before anything is sent. Node builds a new OpenSSL context for every connection given `ca`, and one
 * holding the ~140 built-in roots takes ~25 ms, so contexts are cached by the digest of what went
 * into them (CONTEXT_CACHE entries, least recently used dropped).
 *
 * The stream surface is NodeStream's: onWritable first fires when the handshake is done.
 */
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, createSecureContext, rootCertificates } from 'node:tls';
import type { ConnectionOptions, SecureContext, TLSSocket, TlsOptions as NodeTlsServerOptions } from 'node:tls';
import type { ListenTlsOptions, TlsCredential, TlsOptions } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { errnoOf, tlsVerifyCode } from './errors.js';
import type { SocketErrorCode } from './errors.js';
import { NodeStream, dialTarget } from './tcp.js';
import type { StreamLimits } from './tcp.js';

/** client contexts kept (one per distinct trust + client certificate set) */
const CONTEXT_CACHE = 16;

/** Node's code for a fatal alert from the peer: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, ... */
const TLS_ALERT = /^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/;

/**
 * A TLS stream, client or accepted by a TLS listener. `alpn` is the negotiated protocol and
 * `servername` the SNI name (on a server, what the client asked for), once onWritable has fired.
 */
export class NodeTlsStream extends NodeStream {
  get alpn(): string | undefined {
    const p = (this.socket as TLSSocket).alpnProtocol;
    return typeof p === 'string' ? p : undefined;
  }

  get servername(): string | undefined {
    const n = (this.socket as TLSSocket).servername;
    return typeof n === 'string' ? n : undefined;
  }

  /** "TLSv1.3", "TLSv1.2", ... once the handshake is done */
  get protocol(): string | undefined {
    return (this.socket as TLSSocket).getProtocol() ?? undefined;
  }

  /**
   * A failure before the handshake completed is a refused certificate or ERR_TLS_HANDSHAKE. So is
   * a fatal alert after it: in TLS 1.3 the client finishes first, and a server refusing our
   * certificate (or its absence) says so with an alert once we are already "connected".
   */
  protected override classify(e: Error): SocketErrorCode {
    const c = super.classify(e);
    const errno = errnoOf(e);
    if (c === 'ERR_TCP_IO' && errno !== undefined && TLS_ALERT.test(errno)) return 'ERR_TLS_HANDSHAKE';
    return c === 'ERR_TLS_HANDSHAKE' ? tlsVerifyCode(errno) ?? c : c;
  }

  protected override describe(e: Error): string {
    const c = this.classify(e);
    return c.startsWith('ERR_TLS_') && c !== 'ERR_TLS_HANDSHAKE' ? 'TLS certificate refused' : super.describe(e);
  }
}

/** PEM text of one DER certificate; throws ERR_TLS_CERT when it does not parse. */
export function certDerToPem(der: Uint8Array): string {
  try {
    return new X509Certificate(der).toString();
  } catch (e) {
    throw new UsageError('ERR_TLS_CERT', 'not a DER X.509 certificate', { byteLength: der.byteLength }, e);
  }
}

/** PEM (PKCS#8) text of a DER private key in PKCS#8, PKCS#1 (RSA) or SEC1 (EC) form. */
export function keyDerToPem(der: Uint8Array): string {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  let obj: KeyObject | undefined;
  let last: unknown;
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      obj = createPrivateKey({ key, format: 'der', type });
      break;
    } catch (e) {
      last = e;
    }
  }
  if (!obj) throw new UsageError('ERR_TLS_KEY', 'not a DER private key (PKCS#8, PKCS#1 or SEC1)', { byteLength: der.byteLength }, last);
  return obj.export({ format: 'pem', type: 'pkcs8' }) as string;
}

function bytesOf(b: Exclude<TlsCredential, string>): Uint8Array {
  return b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** PEM text as given, or PEM held in bytes; undefined when the bytes are not PEM (so DER). */
function pemOf(c: TlsCredential): string | undefined {
  if (typeof c === 'string') return c;
  const b = bytesOf(c);
  // "-----BEGIN", possibly after whitespace
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d || b[i] === 0x0a)) i++;
  return b[i] === 0x2d && b[i + 1] === 0x2d ? Buffer.from(b).toString('latin1') : undefined;
}

/** PEM certificate(s) from DER or PEM; checked here, so a bad one is ERR_TLS_CERT at once. */
export function certPem(c: TlsCredential): string {
  const pem = pemOf(c);
  if (pem === undefined) return certDerToPem(bytesOf(c as Exclude<TlsCredential, string>));
  try {
    new X509Certificate(pem);
  } catch (e) {
    throw new UsageError('ERR_TLS_CERT', 'not a PEM X.509 certificate', { length: pem.length }, e);
  }
  return pem;
}

/** PEM private key from DER (PKCS#8, PKCS#1, SEC1) or unencrypted PEM; else ERR_TLS_KEY. */
export function keyPem(c: TlsCredential): string {
  const pem = pemOf(c);
  if (pem === undefined) return keyDerToPem(bytesOf(c as Exclude<TlsCredential, string>));
  try {
    createPrivateKey(pem);
  } catch (e) {
    throw new UsageError('ERR_TLS_KEY', 'not an unencrypted PEM private key', { length: pem.length }, e);
  }
  return pem;
}

let builtinStore: string[] | undefined;

/** Node's default trust: its bundled roots plus NODE_EXTRA_CA_CERTS, as Node itself uses them. */
function builtinCas(): string[] {
  if (builtinStore) return builtinStore;
  const cas = [...rootCertificates];
  const extra = process.env['NODE_EXTRA_CA_CERTS'];
  if (extra) {
    try {
      cas.push(readFileSync(extra, 'latin1'));
    } catch {
      // Node warned about it at startup and went on without it; so do we
    }
  }
  builtinStore = cas;
  return cas;
}

const contexts = new Map<string, SecureContext>();

/** Feeds a credential's bytes (or text) into the cache key. */
function digestOf(c: TlsCredential): Buffer {
  return createHash('sha256').update(typeof c === 'string' ? c : bytesOf(c)).digest();
}

/**
 * The client certificate and key as PEM. Any fault is ERR_TLS_CLIENT_CERT with detail.part
 * ('pair', 'cert', 'key'), the underlying ERR_TLS_CERT / ERR_TLS_KEY as its cause.
 */
function clientCredsPem(cert: TlsCredential, key: TlsCredential): { cert: string; key: string } {
  const convert = (part: 'cert' | 'key', f: () => string): string => {
    try {
      return f();
    } catch (e) {
      const inner = e as UsageError;
      throw new UsageError('ERR_TLS_CLIENT_CERT', `client ${part === 'cert' ? 'certificate' : 'key'}: ${inner.message}`, { part, cause: inner.code }, e);
    }
  };
  const pem = { cert: convert('cert', () => certPem(cert)), key: convert('key', () => keyPem(key)) };
  // OpenSSL only compares a key with a certificate of its own type: an RSA key beside an EC
  // certificate would load, and fail the handshake later
  if (!new X509Certificate(pem.cert).checkPrivateKey(createPrivateKey(pem.key))) {
    throw new UsageError('ERR_TLS_CLIENT_CERT', 'the client key is not the certificate\'s key', { part: 'pair' });
  }
  return pem;
}

/**
 * The OpenSSL context for a client's trust and certificate; undefined when Node's default
 * serves (no trust added, no client certificate). Cached: the same inputs give the same object.
 */
export function clientSecureContext(opts: Pick<TlsOptions, 'trust' | 'clientCert' | 'clientKey'>): SecureContext | undefined {
  const trust = opts.trust ?? [];
  const { clientCert, clientKey } = opts;
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new UsageError('ERR_TLS_CLIENT_CERT', 'a client certificate needs its key, and a key its certificate', { part: 'pair' });
  }
  if (trust.length === 0 && clientCert === undefined) return undefined;
  const h = createHash('sha256');
  for (const der of trust) h.update(createHash('sha256').update(der).digest());
  h.update('|');
  if (clientCert !== undefined && clientKey !== undefined) h.update(digestOf(clientCert)).update(digestOf(clientKey));
  const id = h.digest('base64');
  const hit = contexts.get(id);
  if (hit) {
    contexts.delete(id);
    contexts.set(id, hit);
    return hit;
  }
  const o: NodeTlsServerOptions = {};
  if (trust.length > 0) o.ca = [...builtinCas(), ...trust.map(certDerToPem)];
  if (clientCert !== undefined && clientKey !== undefined) Object.assign(o, clientCredsPem(clientCert, clientKey));
  let ctx: SecureContext;
  try {
    ctx = createSecureContext(o);
  } catch (e) {
    throw new UsageError('ERR_TLS_CLIENT_CERT', 'the client certificate and key do not go together', { part: 'pair', errno: errnoOf(e) }, e);
  }
  contexts.set(id, ctx);
  if (contexts.size > CONTEXT_CACHE) contexts.delete(contexts.keys().next().value as string);
  return ctx;
}

/** node:tls options for `opts`: SNI only for names (RFC 6066 forbids addresses there). */
export function tlsConnectOptions(opts: TlsOptions): ConnectionOptions {
  const to = dialTarget(opts);
  const name = opts.servername ?? opts.host;
  const o: ConnectionOptions = {
    host: to,
    port: opts.port,
    rejectUnauthorized: opts.verify !== false,
  };
  if (name !== undefined && isIP(name) === 0) o.servername = name;
  // the name the certificate must carry: an explicit servername, else what we dialled
  const identity = name ?? to;
  o.checkServerIdentity = (_host, cert) => checkServerIdentity(identity, cert);
  if (opts.alpn && opts.alpn.length > 0) o.ALPNProtocols = [...opts.alpn];
  const ctx = clientSecureContext(opts);
  if (ctx) o.secureContext = ctx;
  return o;
}

export function connectTls(opts: TlsOptions, limits: StreamLimits): NodeTlsStream {
  const socket = tlsConnect(tlsConnectOptions(opts));
  if (opts.nodelay !== undefined) socket.setNoDelay(opts.nodelay);
  return new NodeTlsStream(socket, opts, limits, 'connecting', 'secureConnect');
}

/**
 * tls.createServer options for a TLS listener, every credential checked first so that a bad
 * one is a UsageError (ERR_TLS_CERT, ERR_TLS_KEY, ERR_TLS_TRUST) when the listener is made.
 * Client certificates are checked against `trust` alone, never the public store: any public CA
 * vouching for a client must not let it in.
 */
export function tlsServerOptions(t: ListenTlsOptions): NodeTlsServerOptions {
  if (t === null || typeof t !== 'object' || t.cert === undefined || t.key === undefined) {
    throw new UsageError('ERR_TLS_SERVER', 'listener tls needs cert and key');
  }
  const certs = Array.isArray(t.cert) ? (t.cert as readonly TlsCredential[]) : [t.cert as TlsCredential];
  if (certs.length === 0) throw new UsageError('ERR_TLS_CERT', 'listener tls: cert is empty');
  const o: NodeTlsServerOptions = {
    cert: certs.map(certPem).join('\n'),
    key: keyPem(t.key),
  };
  if (t.alpn && t.alpn.length > 0) o.ALPNProtocols = [...t.alpn];
  if (t.requestClientCert) {
    if (!t.trust || t.trust.length === 0) {
      throw new UsageError('ERR_TLS_TRUST', 'listener tls: requestClientCert needs trust, the CAs client certificates must chain to');
    }
    o.requestCert = true;
    o.rejectUnauthorized = true;
    o.ca = t.trust.map(certDerToPem);
  } else if (t.trust && t.trust.length > 0) {
    throw new UsageError('ERR_TLS_TRUST', 'listener tls: trust is for client certificates; set requestClientCert');
  }
  try {
    createSecureContext(o);
  } catch (e) {
    throw new UsageError('ERR_TLS_KEY', 'listener tls: the key does not go with the certificate', { errno: errnoOf(e) }, e);
  }
  return o;
}
