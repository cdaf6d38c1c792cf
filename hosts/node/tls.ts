/**
 * TLS client streams on node:tls. Trust, client certificate and key arrive as DER in memory
 * (as lws_tls_client_vhost_extra_cert_mem and Moddable's `secure.certificate` take them);
 * Node wants PEM, so they are converted here. The stream surface is NodeStream's: onWritable
 * first fires when the handshake is done, and a failed handshake is ERR_TLS_HANDSHAKE.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { TlsOptions } from '../../src/net/host.js';
import { UsageError } from '../../src/util/errors.js';
import { NodeStream, dialTarget } from './tcp.js';
import type { StreamLimits } from './tcp.js';

/** A TLS client stream; `alpnProtocol` is what the server chose, once onWritable has fired. */
export class NodeTlsStream extends NodeStream {
  get alpnProtocol(): string | undefined {
    const p = (this.socket as TLSSocket).alpnProtocol;
    return typeof p === 'string' ? p : undefined;
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
  if (opts.trust && opts.trust.length > 0) o.ca = opts.trust.map(certDerToPem);
  if (opts.clientCertDer) o.cert = certDerToPem(opts.clientCertDer);
  if (opts.clientKeyDer) o.key = keyDerToPem(opts.clientKeyDer);
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new UsageError('ERR_TLS_CLIENT_CERT', 'a client certificate needs its key, and a key its certificate');
  }
  return o;
}

export function connectTls(opts: TlsOptions, limits: StreamLimits): NodeTlsStream {
  const socket = tlsConnect(tlsConnectOptions(opts));
  if (opts.nodelay !== undefined) socket.setNoDelay(opts.nodelay);
  return new NodeTlsStream(socket, opts, limits, 'connecting', 'secureConnect');
}
