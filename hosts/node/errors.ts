/**
 * Socket failures as the Node host reports them through onError. The core matches on `code`;
 * `detail.errno` keeps Node's own code (ECONNREFUSED, ECONNRESET, a TLS verify reason, ...) and
 * `cause` the original error.
 */
import { LwsxError } from '../../src/util/errors.js';

export type SocketErrorCode =
  /** the TCP connection could not be made (refused, unreachable, timed out, name not found) */
  | 'ERR_TCP_CONNECT'
  /** the peer closed the connection in order (FIN), after every byte it sent was read */
  | 'ERR_TCP_CLOSED'
  /** the connection broke: reset by the peer, broken pipe, or it timed out */
  | 'ERR_TCP_RESET'
  /** any other failure of an established connection */
  | 'ERR_TCP_IO'
  /**
   * TCP connected but the TLS handshake failed for a reason other than the certificate checks
   * below: an alert from the peer (no shared version or cipher, our client certificate refused),
   * or the peer hanging up mid-handshake
   */
  | 'ERR_TLS_HANDSHAKE'
  /** the server's certificate (or one in its chain) is past its notAfter */
  | 'ERR_TLS_EXPIRED'
  /**
   * the certificate is not valid yet (notBefore in the future): on a device this usually means
   * its clock has not been set (no SNTP yet), not a bad certificate
   */
  | 'ERR_TLS_NOT_YET_VALID'
  /** the chain is good but names another host than the one we asked for */
  | 'ERR_TLS_HOSTNAME'
  /** the server presented a lone self-signed certificate that is not in the trust store */
  | 'ERR_TLS_SELF_SIGNED'
  /** the chain leads to a CA that is not in the trust store (or the chain is incomplete) */
  | 'ERR_TLS_UNTRUSTED'
  /** any other certificate verification failure (bad signature, wrong purpose, not a CA, ...) */
  | 'ERR_TLS_VERIFY'
  /** the UDP socket could not bind its address/port */
  | 'ERR_UDP_BIND'
  /** the UDP socket failed after binding */
  | 'ERR_UDP_IO'
  /** the listener could not bind or failed */
  | 'ERR_LISTEN';

export class SocketError extends LwsxError {
  declare readonly code: SocketErrorCode;
}

/** The codes meaning "the peer's certificate was refused", as opposed to a failed exchange. */
export type TlsVerifyCode = 'ERR_TLS_EXPIRED' | 'ERR_TLS_NOT_YET_VALID' | 'ERR_TLS_HOSTNAME' | 'ERR_TLS_SELF_SIGNED' | 'ERR_TLS_UNTRUSTED' | 'ERR_TLS_VERIFY';

/**
 * A refused certificate: a SocketError whose code is one of TlsVerifyCode, with Node's (that is,
 * OpenSSL's X509_V_ERR_*) name in `detail.errno`, so `instanceof TlsVerifyError` picks out
 * certificate problems and `code` says which.
 */
export class TlsVerifyError extends SocketError {
  declare readonly code: TlsVerifyCode;
}

/**
 * Node's error codes for a refused certificate, by what they mean. Node names OpenSSL's
 * X509_V_ERR_* without the prefix; ERR_TLS_CERT_ALTNAME_INVALID is Node's own
 * checkServerIdentity. OpenSSL reports the first problem it finds while building the chain, so
 * an expired certificate from an unknown CA is "untrusted", not "expired".
 */
const TLS_VERIFY: Readonly<Record<string, TlsVerifyCode>> = {
  CERT_HAS_EXPIRED: 'ERR_TLS_EXPIRED',
  CRL_HAS_EXPIRED: 'ERR_TLS_EXPIRED',
  CERT_NOT_YET_VALID: 'ERR_TLS_NOT_YET_VALID',
  CRL_NOT_YET_VALID: 'ERR_TLS_NOT_YET_VALID',
  ERR_TLS_CERT_ALTNAME_INVALID: 'ERR_TLS_HOSTNAME',
  HOSTNAME_MISMATCH: 'ERR_TLS_HOSTNAME',
  IP_ADDRESS_MISMATCH: 'ERR_TLS_HOSTNAME',
  EMAIL_MISMATCH: 'ERR_TLS_HOSTNAME',
  // a self-signed certificate alone (depth 0): a device or test server nobody vouches for
  DEPTH_ZERO_SELF_SIGNED_CERT: 'ERR_TLS_SELF_SIGNED',
  // a chain whose root (self-signed, sent along by the server) is not trusted: an unknown CA
  SELF_SIGNED_CERT_IN_CHAIN: 'ERR_TLS_UNTRUSTED',
  // the issuer is nowhere to be found: an unknown CA, or the server left out an intermediate
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'ERR_TLS_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT: 'ERR_TLS_UNTRUSTED',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'ERR_TLS_UNTRUSTED',
  CERT_UNTRUSTED: 'ERR_TLS_UNTRUSTED',
  CERT_REJECTED: 'ERR_TLS_UNTRUSTED',
  CERT_CHAIN_TOO_LONG: 'ERR_TLS_VERIFY',
  CERT_SIGNATURE_FAILURE: 'ERR_TLS_VERIFY',
  CERT_REVOKED: 'ERR_TLS_VERIFY',
  INVALID_CA: 'ERR_TLS_VERIFY',
  INVALID_PURPOSE: 'ERR_TLS_VERIFY',
  PATH_LENGTH_EXCEEDED: 'ERR_TLS_VERIFY',
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'ERR_TLS_VERIFY',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: 'ERR_TLS_VERIFY',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: 'ERR_TLS_VERIFY',
  ERROR_IN_CERT_NOT_AFTER_FIELD: 'ERR_TLS_VERIFY',
  ERR_TLS_CERT_ALTNAME_FORMAT: 'ERR_TLS_VERIFY',
};

/** The TlsVerifyCode for Node's code of a certificate refusal; undefined for anything else. */
export function tlsVerifyCode(errno: string | undefined): TlsVerifyCode | undefined {
  return errno === undefined ? undefined : TLS_VERIFY[errno];
}

/** Node's error code ("ECONNRESET", "DEPTH_ZERO_SELF_SIGNED_CERT", ...), if it has one. */
export function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const VERIFY_CODES: Readonly<Record<TlsVerifyCode, true>> = {
  ERR_TLS_EXPIRED: true, ERR_TLS_NOT_YET_VALID: true, ERR_TLS_HOSTNAME: true, ERR_TLS_SELF_SIGNED: true, ERR_TLS_UNTRUSTED: true, ERR_TLS_VERIFY: true,
};

/** The error for `code`: a TlsVerifyError for the certificate codes, else a SocketError. */
export function socketError(code: SocketErrorCode, message: string, cause: unknown, detail: Record<string, unknown> = {}): SocketError {
  const errno = errnoOf(cause);
  const why = cause instanceof Error ? cause.message : undefined;
  const Cls = Object.prototype.hasOwnProperty.call(VERIFY_CODES, code) ? TlsVerifyError : SocketError;
  return new Cls(code, why ? `${message}: ${why}` : message, errno ? { ...detail, errno } : detail, cause);
}
