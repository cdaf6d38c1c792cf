/**
 * mosquitto on loopback for the MQTT interop suites and benches (PEERS.md): one config with a
 * plain listener and, on request, TLS, mutual-TLS, WebSocket and secure-WebSocket listeners,
 * persistence for the broker-restart fault tests, and helpers to kill, stop (SIGSTOP) and
 * restart the same broker on the same ports. Jest-free, so benches can use it too.
 */
import { accessSync, chmodSync, constants, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPeer, which } from './proc.js';
import type { Running } from './proc.js';
import type { Pki } from './pki.js';

export interface MosquittoOptions {
  /** server certificate and CA for the tls / mtls / wss listeners */
  pki?: Pki;
  tls?: boolean;
  /** TLS listener that requires a client certificate signed by pki.ca */
  mtls?: boolean;
  ws?: boolean;
  wss?: boolean;
  /** `persistence true` (on tmpfs when there is one), saving after every change, for restart tests */
  persistence?: boolean;
  /** extra config lines appended at the end */
  extra?: string;
}

export interface MosquittoPorts {
  plain: number;
  tls?: number;
  mtls?: number;
  ws?: number;
  wss?: number;
}

export interface Mosquitto {
  dir: string;
  /** the database mosquitto saves with `persistence` (it exists after the first save) */
  persistenceFile: string;
  ports: MosquittoPorts;
  running: Running;
  /** SIGKILL now (no goodbye to clients, persistence as of the last save) */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the broker stops answering, its sockets stay open (no FIN) */
  pause(): void;
  resume(): void;
  /** starts the same broker again (same ports, same persistence folder) after kill() or stop() */
  restart(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function shmDir(): string | undefined {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return undefined;
  }
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const bin = which('mosquitto');
  if (!bin) throw new Error('mosquitto not found (run: bash .ci/install-peers)');
  const dir = mkdtempSync(join(tmpdir(), 'lwsx-mosquitto-'));
  chmodSync(dir, 0o777);
  // mosquitto fsyncs its database at every save, and autosave_on_changes saves once per loop
  // pass: on disk that holds it to a few hundred messages a second. A SIGKILL does not need
  // the fsync (the page cache outlives the process), so the database goes on tmpfs if any.
  const persist = opts.persistence ? mkdtempSync(join(shmDir() ?? dir, 'lwsx-mosquitto-db-')) : dir;
  // the broker drops to the mosquitto user, and mkdtemp's mode is 0700
  chmodSync(persist, 0o777);
  const ports: MosquittoPorts = { plain: await freePort() };
  const lines = [
    'per_listener_settings false',
    'allow_anonymous true',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'max_queued_messages 100000',
    'max_inflight_messages 0',
    // mosquitto runs as root here only if we are root; it then drops to the mosquitto user
    ...(process.getuid?.() === 0 ? ['user mosquitto'] : []),
    `listener ${ports.plain} 127.0.0.1`,
  ];
  if (opts.persistence) lines.push('persistence true', `persistence_location ${persist}/`, 'autosave_interval 1', 'autosave_on_changes true');
  const needTls = opts.tls || opts.mtls || opts.wss;
  let certs = '';
  if (needTls) {
    const pki = opts.pki;
    if (!pki) throw new Error('startMosquitto: tls, mtls and wss need a pki');
    // the broker drops privileges: it must be able to read its key (PEERS.md trap)
    const ca = join(dir, 'ca.pem');
    const crt = join(dir, 'server.pem');
    const key = join(dir, 'server.key');
    copyFileSync(pki.ca.certFile, ca);
    copyFileSync(pki.server.certFile, crt);
    copyFileSync(pki.server.keyFile, key);
    for (const f of [ca, crt, key]) chmodSync(f, 0o644);
    certs = `cafile ${ca}\ncertfile ${crt}\nkeyfile ${key}`;
  }
  if (opts.tls) {
    ports.tls = await freePort();
    lines.push(`listener ${ports.tls} 127.0.0.1`, certs);
  }
  if (opts.mtls) {
    ports.mtls = await freePort();
    lines.push(`listener ${ports.mtls} 127.0.0.1`, certs, 'require_certificate true', 'use_identity_as_username true');
  }
  // a websockets listener given an IP binds every interface: give it the interface (PEERS.md)
  if (opts.ws) {
    ports.ws = await freePort();
    lines.push(`listener ${ports.ws} lo`, 'protocol websockets');
  }
  if (opts.wss) {
    ports.wss = await freePort();
    lines.push(`listener ${ports.wss} lo`, 'protocol websockets', certs);
  }
  if (opts.extra) lines.push(opts.extra);
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  chmodSync(conf, 0o644);

  const launch = () => startPeer(bin, ['-c', conf], async () => {
    for (const p of Object.values(ports)) if (!(await portOpen(p as number))) return false;
    return true;
  });
  let running = await launch();
  let previousOutput = '';
  const m: Mosquitto = {
    dir,
    persistenceFile: join(persist, 'mosquitto.db'),
    ports,
    get running() { return running; },
    kill: async () => {
      running.child.kill('SIGKILL');
      await running.stop();
    },
    pause: () => { running.child.kill('SIGSTOP'); },
    resume: () => { running.child.kill('SIGCONT'); },
    restart: async () => {
      previousOutput += running.output();
      running = await launch();
    },
    stop: async () => {
      running.child.kill('SIGCONT');
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
      if (persist !== dir) rmSync(persist, { recursive: true, force: true });
    },
    output: () => previousOutput + running.output(),
  };
  return m;
}
