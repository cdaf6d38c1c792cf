/**
 * The certificate a TLS client presents, engine-neutral.
 *
 * - `systemClientCreds`: as lws sets a client connection's certificate from the
 *   LWS_SYSBLOB_TYPE_CLIENT_CERT_DER / CLIENT_KEY_DER blobs, a connection that names no
 *   certificate of its own presents the Context's blobs when both are set. Explicit
 *   `clientCert`/`clientKey` win; one blob without the other is ERR_TLS_CLIENT_CERT, where lws
 *   fails the connection with "unable to set up system client cert".
 * - `clientCredsDer`: the certificate chain and key as DER whatever form they came in (DER or
 *   PEM, as text or bytes), for hosts whose TLS stack takes DER only (Moddable's).
 * - `privateKeyDer`: which form and algorithm a DER key is, and its PKCS#8 form, since
 *   Moddable's TLS parses PKCS#8 RSA keys only while openssl writes PKCS#1 and SEC1 too.
 *
 * Every bad input is a UsageError ERR_TLS_CLIENT_CERT whose detail.part says what was wrong
 * ('blob', 'cert', 'key', 'pair').
 */
import type { Blobs } from '../system/blob.js';
import { BlobType } from '../system/blob.js';
import { base64Decode } from '../util/base64.js';
import { UsageError } from '../util/errors.js';
import { latin1 } from '../util/latin1.js';
import type { TlsCredential, TlsOptions } from './host.js';

type Creds = Pick<TlsOptions, 'clientCert' | 'clientKey'>;

function bad(part: string, message: string, detail: Record<string, unknown> = {}, cause?: unknown): UsageError {
  return new UsageError('ERR_TLS_CLIENT_CERT', message, { part, ...detail }, cause);
}

/**
 * `tls` with the system client certificate filled in when it names none and both blobs are
 * set; `tls` itself otherwise. The blob bytes are not copied (they are the blobs' own views).
 */
export function systemClientCreds<T extends Partial<TlsOptions>>(tls: T, blobs: Pick<Blobs, 'get'>): T & Creds {
  if (tls.clientCert !== undefined || tls.clientKey !== undefined) return tls;
  const cert = blobs.get(BlobType.CLIENT_CERT_DER);
  const key = blobs.get(BlobType.CLIENT_KEY_DER);
  if (cert.size === 0 && key.size === 0) return tls;
  if (cert.size === 0 || key.size === 0) {
    throw bad('blob', `the ${cert.size === 0 ? 'CLIENT_KEY_DER' : 'CLIENT_CERT_DER'} blob is set but ${cert.size === 0 ? 'CLIENT_CERT_DER' : 'CLIENT_KEY_DER'} is empty`, {
      certSize: cert.size,
      keySize: key.size,
    });
  }
  return { ...tls, clientCert: cert.get(), clientKey: key.get() };
}

function bytesOf(c: Exclude<TlsCredential, string>): Uint8Array {
  return c instanceof ArrayBuffer ? new Uint8Array(c) : new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
}

/** The credential as PEM text when it is PEM ("-----BEGIN" after optional whitespace), else undefined. */
function pemText(c: TlsCredential): string | undefined {
  if (typeof c === 'string') return c;
  const b = bytesOf(c);
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d || b[i] === 0x0a)) i++;
  if (b[i] !== 0x2d || b[i + 1] !== 0x2d) return undefined;
  return latin1(b, i);
}

interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function pemBlocks(text: string, part: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const label = m[1] as string;
    const body = m[2] as string;
    if (label.includes('ENCRYPTED') || body.includes('Proc-Type:')) throw bad(part, 'encrypted PEM keys are not supported', { label });
    try {
      out.push({ label, der: base64Decode(body, { alphabet: 'std' }) });
    } catch (e) {
      throw bad(part, `PEM ${label} does not decode`, { label }, e);
    }
  }
  if (out.length === 0) throw bad(part, 'no PEM block found');
  return out;
}

/** [tag, content start, content end] of the DER element at `at`; undefined when it overruns. */
function derElement(b: Uint8Array, at: number, end = b.length): [number, number, number] | undefined {
  if (at + 2 > end) return undefined;
  const tag = b[at] as number;
  let len = b[at + 1] as number;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > end) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[p++] as number);
  }
  return p + len > end ? undefined : [tag, p, p + len];
}

/** One DER SEQUENCE spanning all of `b` (a certificate's outer shape). */
function isDerSequence(b: Uint8Array): boolean {
  const e = derElement(b, 0);
  return e !== undefined && e[0] === 0x30 && e[2] === b.length;
}

export interface ClientCredsDer {
  /** the certificate then any intermediates, DER */
  certs: Uint8Array[];
  /** the private key, DER in the form given (see privateKeyDer) */
  key: Uint8Array;
}

/** The client certificate chain and key as DER; undefined when `opts` names neither. */
export function clientCredsDer(opts: Creds): ClientCredsDer | undefined {
  const { clientCert, clientKey } = opts;
  if (clientCert === undefined && clientKey === undefined) return undefined;
  if (clientCert === undefined || clientKey === undefined) throw bad('pair', 'a client certificate needs its key, and a key its certificate');
  const certText = pemText(clientCert);
  const certs = certText === undefined ? [bytesOf(clientCert as Exclude<TlsCredential, string>)] : pemBlocks(certText, 'cert').map((p) => {
    if (p.label !== 'CERTIFICATE') throw bad('cert', `PEM ${p.label} is not a CERTIFICATE`, { label: p.label });
    return p.der;
  });
  for (const c of certs) if (!isDerSequence(c)) throw bad('cert', 'the client certificate is not DER X.509', { byteLength: c.byteLength });
  const keyText = pemText(clientKey);
  let key: Uint8Array;
  if (keyText === undefined) key = bytesOf(clientKey as Exclude<TlsCredential, string>);
  else {
    const blocks = pemBlocks(keyText, 'key').filter((p) => p.label.endsWith('PRIVATE KEY'));
    if (blocks.length !== 1) throw bad('key', 'the client key PEM must hold exactly one PRIVATE KEY block', { count: blocks.length });
    key = (blocks[0] as PemBlock).der;
  }
  return { certs, key };
}

export type PrivateKeyForm = 'pkcs8' | 'pkcs1' | 'sec1';
export type PrivateKeyAlg = 'rsa' | 'ec' | 'other';

export interface PrivateKeyDer {
  form: PrivateKeyForm;
  alg: PrivateKeyAlg;
  /** PKCS#8 bytes: the key itself when it is PKCS#8, a PKCS#1 key wrapped, undefined for SEC1 */
  pkcs8: Uint8Array | undefined;
}

const RSA_OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_OID = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/** PKCS#8 version 0 and AlgorithmIdentifier { rsaEncryption, NULL } */
const RSA_PKCS8_HEAD = [0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, ...RSA_OID, 0x05, 0x00];

function sameBytes(b: Uint8Array, start: number, end: number, want: readonly number[]): boolean {
  if (end - start !== want.length) return false;
  for (let i = 0; i < want.length; i++) if (b[start + i] !== want[i]) return false;
  return true;
}

function derHeader(tag: number, len: number): number[] {
  if (len < 0x80) return [tag, len];
  const l: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) l.unshift(n & 0xff);
  return [tag, 0x80 | l.length, ...l];
}

/** PKCS#8 PrivateKeyInfo holding a PKCS#1 RSAPrivateKey. */
function wrapRsa(pkcs1: Uint8Array): Uint8Array {
  const octet = derHeader(0x04, pkcs1.length);
  const inner = RSA_PKCS8_HEAD.length + octet.length + pkcs1.length;
  const head = [...derHeader(0x30, inner), ...RSA_PKCS8_HEAD, ...octet];
  const out = new Uint8Array(head.length + pkcs1.length);
  out.set(head);
  out.set(pkcs1, head.length);
  return out;
}

/** The form and algorithm of a DER private key (by its ASN.1 shape), and its PKCS#8 bytes. */
export function privateKeyDer(der: Uint8Array): PrivateKeyDer {
  const seq = derElement(der, 0);
  const version = seq && seq[0] === 0x30 && seq[2] === der.length ? derElement(der, seq[1], seq[2]) : undefined;
  const next = version && version[0] === 0x02 ? derElement(der, version[2], (seq as [number, number, number])[2]) : undefined;
  if (next) {
    const v = version as [number, number, number];
    const v0 = v[2] - v[1] === 1 ? der[v[1]] : -1;
    if (next[0] === 0x30 && v0 === 0) {
      // PKCS#8: version 0, AlgorithmIdentifier { OID, params }, OCTET STRING
      const oid = derElement(der, next[1], next[2]);
      const alg: PrivateKeyAlg = oid && oid[0] === 0x06 ? (sameBytes(der, oid[1], oid[2], RSA_OID) ? 'rsa' : sameBytes(der, oid[1], oid[2], EC_OID) ? 'ec' : 'other') : 'other';
      return { form: 'pkcs8', alg, pkcs8: der };
    }
    if (next[0] === 0x02 && v0 === 0) return { form: 'pkcs1', alg: 'rsa', pkcs8: wrapRsa(der) };
    if (next[0] === 0x04 && v0 === 1) return { form: 'sec1', alg: 'ec', pkcs8: undefined };
  }
  throw bad('key', 'the client key is not a DER private key (PKCS#8, PKCS#1 or SEC1)', { byteLength: der.byteLength });
}
