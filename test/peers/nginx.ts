/**
 * nginx on loopback for the HTTP/1.1 and WebSocket interop suites (PEERS.md): `daemon off;`,
 * pid, logs and temp paths in a temp folder, a server block the suite writes. Jest-free, so
 * benches can use it too.
 */
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPeer, which } from './proc.js';
import type { Running } from './proc.js';

export interface Nginx {
  /** the temp folder: html/ is the document root */
  dir: string;
  root: string;
  stop(): Promise<void>;
  running: Running;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts nginx with `servers` (one or more `server { … }` blocks, which may use `$ROOT` for the
 * document root and `$DIR` for the temp folder) and waits until `waitPort` accepts.
 */
export async function startNginx(servers: string, waitPort: number, files: Record<string, string | Uint8Array> = {}): Promise<Nginx> {
  const bin = which('nginx');
  if (!bin) throw new Error('nginx not found (run: bash .ci/install-peers)');
  const dir = mkdtempSync(join(tmpdir(), 'lwsx-nginx-'));
  // nginx's workers drop to an unprivileged user: they must be able to read the document root
  chmodSync(dir, 0o755);
  const root = join(dir, 'html');
  mkdirSync(root, { mode: 0o755 });
  for (const [name, body] of Object.entries(files)) writeFileSync(join(root, name), body);
  for (const t of ['client', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, t));
  const conf = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  default_type application/octet-stream;
  ${servers.replaceAll('$ROOT', root).replaceAll('$DIR', dir)}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const running = await startPeer(bin, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')], () => portOpen(waitPort));
  return {
    dir,
    root,
    running,
    stop: async () => {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
