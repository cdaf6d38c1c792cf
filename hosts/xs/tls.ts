/**
 * TLS client streams on Moddable's embedded:io/socket/tcp/tls, which layers its own TLS 1.2
 * (modules/crypt/ssl) over a TCP socket class it is given as `TCP.io`. Options map onto its
 * `secure` dictionary: `certificate` (one DER certificate to trust besides the built-in store),
 * `verify`, `tls_server_name` (SNI, names only), `applicationLayerProtocolNegotiation`, and
 * `clientCertificates` / `clientKey` for a client certificate: DER only, and the key PKCS#8 RSA
 * only (its CertificateManager parses nothing else), so PEM is decoded and a PKCS#1 key wrapped
 * here, and an EC key is refused with ERR_TLS_CLIENT_CERT (detail.part 'key', alg 'ec') rather
 * than failing mid-handshake.
 */
import TCP from 'embedded:io/socket/tcp';
import TLSSocket from 'embedded:io/socket/tcp/tls';
import type { TlsOptions } from '../../src/net/host.js';
import { clientCredsDer, privateKeyDer } from '../../src/net/tls-client-creds.js';
import { UsageError } from '../../src/util/errors.js';
import { exactArrayBuffer, isIpLiteral } from './native.js';
import type { NativeStream } from './native.js';
import { XsStream } from './stream.js';
import { dialAddress } from './tcp.js';

export function connectTls(opts: TlsOptions): XsStream {
  const { address, port } = dialAddress(opts);
  if (opts.trust && opts.trust.length > 1) {
    // Moddable's certificate manager registers one extra certificate; dropping the others
    // silently could make a server untrusted in a way nobody sees
    throw new UsageError('ERR_TLS_TRUST', 'the XS host trusts at most one extra certificate per connection', { count: opts.trust.length });
  }
  const creds = clientCredsDer(opts);
  const key = creds && privateKeyDer(creds.key);
  if (key && (key.alg !== 'rsa' || key.pkcs8 === undefined)) {
    throw new UsageError('ERR_TLS_CLIENT_CERT', 'the XS host signs with RSA client keys only (Moddable\'s TLS parses PKCS#8 RSA)', { part: 'key', alg: key.alg, form: key.form });
  }
  const name = opts.servername ?? opts.host;
  const secure: Record<string, unknown> = {
    verify: opts.verify !== false,
    // SNI carries names only (RFC 6066); Moddable would otherwise send whatever `host` holds
    tls_server_name: name !== undefined && !isIpLiteral(name) ? name : undefined,
  };
  const trusted = opts.trust?.[0];
  if (trusted) secure['certificate'] = exactArrayBuffer(trusted);
  if (opts.alpn && opts.alpn.length > 0) secure['applicationLayerProtocolNegotiation'] = [...opts.alpn];
  if (creds && key?.pkcs8) {
    secure['clientCertificates'] = creds.certs.map((c) => exactArrayBuffer(c));
    secure['clientKey'] = exactArrayBuffer(key.pkcs8);
  }
  const stream = new XsStream(opts, true);
  const options = {
    address,
    port,
    host: name ?? address,
    secure,
    TCP: { io: TCP },
    ...(opts.nodelay !== undefined ? { nodelay: opts.nodelay } : {}),
    ...stream.nativeCallbacks(),
  };
  const native = new TLSSocket(options);
  return stream.attach(native as unknown as NativeStream);
}
