/**
 * A CA file given on the command line (--ws-ca, --mqtt-ca): one or more PEM certificates, or one
 * DER certificate, as the DER trust list the TLS client takes. Every failure is a UsageError
 * with the caller's code, naming the flag and the file.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../../../src/util/errors.js';

export function readCaFile(path: string, flag: string, code: string): Uint8Array[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(code, `${flag} ${path} cannot be read: ${(e as Error).message}`, { path }, e);
  }
  const blocks = [...bytes.toString('latin1').matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)];
  const ders = blocks.length ? blocks.map((m) => Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64')) : [bytes];
  return ders.map((der, i) => {
    try {
      new X509Certificate(der);
    } catch (e) {
      throw new UsageError(code, `${flag} ${path}: ${blocks.length ? `certificate ${i + 1} is not` : 'holds no PEM certificate and is not'} a valid X.509 certificate`, { path }, e);
    }
    return new Uint8Array(der);
  });
}
