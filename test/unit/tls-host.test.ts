/**
 * The Node host's TLS client against a local tls.createServer, with throwaway certificates made
 * by the openssl CLI for this run: trust from DER in memory, SNI, ALPN, refusal of an untrusted
 * or misnamed server, and a client certificate from DER.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import type { Server, TLSSocket } from 'node:tls';
import { NodeHost } from '../../hosts/node/host.js';
import { certDerToPem, keyDerToPem } from '../../hosts/node/tls.js';
import type { NodeTlsStream } from '../../hosts/node/tls.js';
import type { TlsOptions } from '../../src/net/host.js';
import type { LwsxError } from '../../src/util/errors.js';
import { waitFor } from '../helpers/wait.js';

interface Pair { certPem: string; keyPem: string; certDer: Uint8Array; keyDer: Uint8Array }

let dir: string;
let server: Pair;
let client: Pair;

/** A self-signed P-256 certificate for `cn`, with the SANs given, made by openssl. */
function makeCert(name: string, cn: string, san: string): Pair {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`,
  ], { stdio: 'pipe' });
  const certPem = readFileSync(cert, 'latin1');
  const keyPem = readFileSync(key, 'latin1');
  const certDer = new Uint8Array(execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER']));
  const keyDer = new Uint8Array(execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', key, '-outform', 'DER']));
  return { certPem, keyPem, certDer, keyDer };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lwsx-tls-'));
  server = makeCert('server', 'localhost', 'DNS:localhost,IP:127.0.0.1');
  client = makeCert('client', 'lwsx-device', 'DNS:lwsx-device');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let host: NodeHost;
let srv: Server | undefined;
let port: number;
const peers: TLSSocket[] = [];
/** what the server learned about each connection */
const seen: Array<{ servername: string | false | null; alpn: string | false | null; clientCN: string | string[] | undefined }> = [];

async function startServer(opts: { requestClientCert?: boolean } = {}): Promise<void> {
  const tlsServer = createServer({
    key: server.keyPem,
    cert: server.certPem,
    ALPNProtocols: ['h2', 'http/1.1'],
    ...(opts.requestClientCert ? { requestCert: true, rejectUnauthorized: true, ca: [client.certPem] } : {}),
  }, (s) => {
    peers.push(s);
    const peer = s.getPeerCertificate();
    seen.push({ servername: s.servername, alpn: s.alpnProtocol, clientCN: peer?.subject?.CN });
    s.on('data', (d: Buffer) => s.write(Buffer.concat([Buffer.from('echo:'), d])));
    s.on('error', () => {});
  });
  tlsServer.on('tlsClientError', () => {});
  srv = tlsServer;
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
  port = (tlsServer.address() as { port: number }).port;
}

beforeEach(async () => {
  host = await NodeHost.open();
  seen.length = 0;
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  const s = srv;
  srv = undefined;
  if (s) await new Promise<void>((r) => s.close(() => r()));
  host.close();
});

interface Run { c: NodeTlsStream; writable: number[]; received: string; err: LwsxError | undefined }

function dial(extra: Partial<TlsOptions>): Run {
  const run: Run = { c: undefined as unknown as NodeTlsStream, writable: [], received: '', err: undefined };
  run.c = host.tls({
    address: '127.0.0.1',
    port,
    onWritable: (n) => { run.writable.push(n); },
    onReadable: () => { run.received += Buffer.from(run.c.read() as ArrayBuffer).toString('latin1'); },
    onError: (e) => { run.err = e as LwsxError; },
    ...extra,
  });
  return run;
}

test('a server trusted from DER in memory: handshake, SNI, ALPN, data both ways', async () => {
  await startServer();
  const r = dial({ servername: 'localhost', trust: [server.certDer], alpn: ['http/1.1'] });
  try {
    await waitFor('the handshake', () => r.writable.length > 0 || r.err !== undefined);
    expect(r.err).toBeUndefined();
    expect(r.c.alpnProtocol).toBe('http/1.1');
    expect(r.c.remoteAddress).toBe('127.0.0.1');
    expect(r.c.write(new TextEncoder().encode('hello'))).toBeGreaterThan(0);
    await waitFor('the echo', () => r.received === 'echo:hello');
    await waitFor('the server side', () => seen.length === 1);
    expect(seen).toEqual([{ servername: 'localhost', alpn: 'http/1.1', clientCN: undefined }]);
  } finally {
    r.c.close();
  }
});

test('the same server without trust is refused: ERR_TLS_HANDSHAKE, no onWritable', async () => {
  await startServer();
  const r = dial({ servername: 'localhost' });
  try {
    await waitFor('the refusal', () => r.err !== undefined);
    expect(r.writable).toEqual([]);
    expect(r.err?.code).toBe('ERR_TLS_HANDSHAKE');
    expect(r.err?.detail?.['errno']).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
  } finally {
    r.c.close();
  }
});

test('a trusted certificate for another name is refused', async () => {
  await startServer();
  const r = dial({ servername: 'not-localhost.example', trust: [server.certDer] });
  try {
    await waitFor('the refusal', () => r.err !== undefined);
    expect(r.writable).toEqual([]);
    expect(r.err?.code).toBe('ERR_TLS_HANDSHAKE');
    expect(r.err?.detail?.['errno']).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  } finally {
    r.c.close();
  }
});

test('dialling the address with no name checks the certificate against the address', async () => {
  await startServer();
  const r = dial({ trust: [server.certDer] });
  try {
    await waitFor('the handshake', () => r.writable.length > 0 || r.err !== undefined);
    expect(r.err).toBeUndefined();
    await waitFor('the server side', () => seen.length === 1);
    // an address is never sent as SNI (RFC 6066)
    expect(seen[0]?.servername).toBe(false);
  } finally {
    r.c.close();
  }
});

test('verify: false accepts an untrusted server', async () => {
  await startServer();
  const r = dial({ servername: 'localhost', verify: false });
  try {
    await waitFor('the handshake', () => r.writable.length > 0 || r.err !== undefined);
    expect(r.err).toBeUndefined();
  } finally {
    r.c.close();
  }
});

test('a client certificate and key from DER authenticate the device', async () => {
  await startServer({ requestClientCert: true });
  const r = dial({ servername: 'localhost', trust: [server.certDer], clientCertDer: client.certDer, clientKeyDer: client.keyDer });
  try {
    await waitFor('the handshake', () => r.writable.length > 0 || r.err !== undefined);
    expect(r.err).toBeUndefined();
    r.c.write(new TextEncoder().encode('id'));
    await waitFor('the echo', () => r.received === 'echo:id');
    await waitFor('the server side', () => seen.length === 1);
    expect(seen[0]?.clientCN).toBe('lwsx-device');
  } finally {
    r.c.close();
  }
});

describe('DER conversion', () => {
  test('certificates and keys round-trip to PEM', () => {
    expect(new X509Certificate(certDerToPem(server.certDer)).subject).toBe('CN=localhost');
    const sec1 = new Uint8Array(createPrivateKey(server.keyPem).export({ format: 'der', type: 'sec1' }));
    for (const der of [server.keyDer, sec1]) {
      expect(createPrivateKey(keyDerToPem(der)).asymmetricKeyType).toBe('ec');
    }
  });

  test('bytes that are not DER are usage errors', () => {
    expect(() => certDerToPem(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'ERR_TLS_CERT' }));
    expect(() => keyDerToPem(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'ERR_TLS_KEY' }));
    expect(() => host.tls({ address: '127.0.0.1', port: 443, clientCertDer: client.certDer })).toThrow(expect.objectContaining({ code: 'ERR_TLS_CLIENT_CERT' }));
  });
});
