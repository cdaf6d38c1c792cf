/**
 * A throwaway PKI for TLS tests, made by the openssl CLI in a temp directory in a few tens of
 * milliseconds (EC P-256 but for `clientRsa`; the keys come from node:crypto, openssl only signs):
 *
 *  - `ca`: the root CA the tests trust;
 *  - `server`: signed by `ca`, SANs DNS:localhost, IP:127.0.0.1, IP:::1 (serverAuth);
 *  - `expired`: the same names, signed by `ca`, valid only on 2020-01-01 (made with
 *    `openssl ca -startdate/-enddate`: OpenSSL 3.0's `req`/`x509` take no dates in the past);
 *  - `wrongHost`: signed by `ca`, SAN only DNS:other.lws.test;
 *  - `selfSigned`: a self-signed leaf for localhost / 127.0.0.1 / ::1;
 *  - `otherCa` and `untrusted`: a second root nobody trusts, and a localhost leaf it signed;
 *  - `client`: a client certificate (CN lwsx-device, clientAuth) signed by `ca`;
 *  - `clientRsa`: the same for an RSA-2048 key (CN lwsx-device-rsa), for the key forms only RSA
 *    has (PKCS#1) and hosts that sign with RSA only.
 *
 * Each has PEM and DER of its certificate and key (DER keys are PKCS#8, PEM keys too), the files
 * on disk (for nginx, curl, openssl s_server) and, for the CA-signed ones, `chainPem`: leaf then
 * issuer, what a server sends when it hands its whole chain.
 *
 * No Jest here: benches and peer launchers use it too.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PkiCert {
  name: string;
  certPem: string;
  keyPem: string;
  /** DER X.509 */
  certDer: Uint8Array;
  /** DER PKCS#8 */
  keyDer: Uint8Array;
  certFile: string;
  keyFile: string;
  /** the certificate then its issuer's (the certificate alone when self-signed) */
  chainPem: string;
  chainFile: string;
}

export interface Pki {
  dir: string;
  ca: PkiCert;
  server: PkiCert;
  expired: PkiCert;
  wrongHost: PkiCert;
  selfSigned: PkiCert;
  otherCa: PkiCert;
  untrusted: PkiCert;
  client: PkiCert;
  clientRsa: PkiCert;
  /** Removes the directory. */
  cleanup(): void;
}

const LOCAL_SAN = 'DNS:localhost,IP:127.0.0.1,IP:::1';

/** Our own config, so the system's openssl.cnf (and its default extensions) plays no part. */
const CONFIG = `
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca ]
default_ca = ca_default
[ ca_default ]
database = index.txt
new_certs_dir = .
rand_serial = yes
default_md = sha256
policy = policy_any
copy_extensions = copy
unique_subject = no
x509_extensions = v3_server
[ policy_any ]
commonName = supplied
`;

function run(dir: string, args: string[]): Promise<void> {
  return new Promise((ok, fail) => {
    execFile('openssl', args, { cwd: dir }, (err, _stdout, stderr) => {
      if (err) fail(new Error(`openssl ${args.join(' ')} failed: ${stderr || err.message}`));
      else ok();
    });
  });
}

/** Writes a fresh P-256 (or RSA-2048) key for `name` (PKCS#8 PEM) and returns its file name. */
function newKey(dir: string, name: string, rsa = false): string {
  const { privateKey } = rsa ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const file = `${name}.key`;
  writeFileSync(join(dir, file), privateKey.export({ format: 'pem', type: 'pkcs8' }));
  return file;
}

function load(dir: string, name: string, issuer?: PkiCert): PkiCert {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const certPem = readFileSync(certFile, 'latin1');
  const keyPem = readFileSync(keyFile, 'latin1');
  const chainPem = issuer ? certPem + issuer.certPem : certPem;
  const chainFile = join(dir, `${name}.chain.pem`);
  writeFileSync(chainFile, chainPem);
  return {
    name,
    certPem,
    keyPem,
    certDer: new Uint8Array(new X509Certificate(certPem).raw),
    keyDer: new Uint8Array(Buffer.from(keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')),
    certFile,
    keyFile,
    chainPem,
    chainFile,
  };
}

/** A self-signed certificate (a root with `ext` v3_ca, or a leaf with v3_server). */
function selfSign(dir: string, name: string, cn: string, ext: string, san?: string): Promise<void> {
  const key = newKey(dir, name);
  return run(dir, [
    'req', '-config', 'pki.cnf', '-x509', '-new', '-key', key, '-sha256', '-days', '30',
    '-subj', `/CN=${cn}`, '-extensions', ext, ...(san ? ['-addext', `subjectAltName=${san}`] : []), '-out', `${name}.crt`,
  ]);
}

/** A certificate for a new key, signed by `ca` (openssl 3.0's `req -CA`: one process). */
function issue(dir: string, ca: string, name: string, cn: string, ext: string, san?: string, rsa = false): Promise<void> {
  const key = newKey(dir, name, rsa);
  return run(dir, [
    'req', '-config', 'pki.cnf', '-new', '-key', key, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-sha256', '-days', '30',
    '-subj', `/CN=${cn}`, '-extensions', ext, ...(san ? ['-addext', `subjectAltName=${san}`] : []), '-out', `${name}.crt`,
  ]);
}

/** A request for a new key (what `openssl ca` signs). */
function request(dir: string, name: string, cn: string, san: string): Promise<void> {
  const key = newKey(dir, name);
  return run(dir, ['req', '-config', 'pki.cnf', '-new', '-key', key, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`, '-out', `${name}.csr`]);
}

/** Signs `name`.csr by `ca`, valid only from `start` to `end` (YYYYMMDDHHMMSSZ). */
function signDated(dir: string, ca: string, name: string, start: string, end: string): Promise<void> {
  return run(dir, [
    'ca', '-batch', '-config', 'pki.cnf', '-notext', '-cert', `${ca}.crt`, '-keyfile', `${ca}.key`,
    '-startdate', start, '-enddate', end, '-in', `${name}.csr`, '-out', `${name}.crt`,
  ]);
}

/** Makes the PKI in a new temp directory (or `dir`); call cleanup() when done. */
export async function makePki(opts: { dir?: string } = {}): Promise<Pki> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'lwsx-pki-'));
  writeFileSync(join(dir, 'pki.cnf'), CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  try {
    await Promise.all([
      selfSign(dir, 'ca', 'lwsx test root CA', 'v3_ca'),
      selfSign(dir, 'other-ca', 'lwsx untrusted CA', 'v3_ca'),
      selfSign(dir, 'self-signed', 'localhost', 'v3_server', LOCAL_SAN),
      request(dir, 'expired', 'localhost', LOCAL_SAN),
    ]);
    await Promise.all([
      issue(dir, 'ca', 'server', 'localhost', 'v3_server', LOCAL_SAN),
      issue(dir, 'ca', 'wrong-host', 'other.lws.test', 'v3_server', 'DNS:other.lws.test'),
      issue(dir, 'ca', 'client', 'lwsx-device', 'v3_client'),
      issue(dir, 'ca', 'client-rsa', 'lwsx-device-rsa', 'v3_client', undefined, true),
      issue(dir, 'other-ca', 'untrusted', 'localhost', 'v3_server', LOCAL_SAN),
      signDated(dir, 'ca', 'expired', '20200101000000Z', '20200102000000Z'),
    ]);
  } catch (e) {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const ca = load(dir, 'ca');
  const otherCa = load(dir, 'other-ca');
  return {
    dir,
    ca,
    otherCa,
    server: load(dir, 'server', ca),
    expired: load(dir, 'expired', ca),
    wrongHost: load(dir, 'wrong-host', ca),
    selfSigned: load(dir, 'self-signed'),
    untrusted: load(dir, 'untrusted', otherCa),
    client: load(dir, 'client', ca),
    clientRsa: load(dir, 'client-rsa', ca),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
