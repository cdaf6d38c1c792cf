/**
 * Real peers for the interop suites: find them, start them, stop them.
 *
 * `npm test` never skips silently: a suite whose peer is missing prints why and its tests are
 * reported as skipped (the closing line counts them); with CI set, a missing peer fails the
 * suite instead. `.ci/install-peers` installs every peer.
 */
import { test } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'];

/** Absolute path of an executable, or undefined. */
export function which(bin: string): string | undefined {
  for (const dir of SEARCH) {
    const r = spawnSync('test', ['-x', `${dir}/${bin}`]);
    if (r.status === 0) return `${dir}/${bin}`;
  }
  return undefined;
}

export interface PeerCheck {
  ok: boolean;
  why: string;
  /** `test` when the peers are there; otherwise a test that is reported as skipped */
  peerTest: typeof test;
}

/**
 * Checks that every binary exists (and, with `root`, that we are root, for network
 * namespaces). Missing with CI set: throws, failing the suite.
 */
export function requirePeers(suite: string, bins: string[], opts: { root?: boolean } = {}): PeerCheck {
  const missing = bins.filter((b) => !which(b));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing ${missing.join(', ')} (run: bash .ci/install-peers)`);
  if (opts.root && process.getuid?.() !== 0) problems.push('needs root for network namespaces');
  if (!problems.length) return { ok: true, why: '', peerTest: test };
  const why = `${suite}: cannot run: ${problems.join('; ')}`;
  if (process.env['CI']) throw new Error(`${why} — CI requires every peer`);
  process.stderr.write(`\n*** ${why}: its tests are reported as skipped ***\n`);
  return { ok: false, why, peerTest: test.skip as unknown as typeof test };
}

/** A free TCP+UDP port on 127.0.0.1 (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

export interface Running {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a peer and resolves once `ready()` says it answers (polled), or rejects with its
 * output if it exits or is not ready within `timeoutMs`.
 */
export async function startPeer(cmd: string, args: string[], ready: () => Promise<boolean>, timeoutMs = 10_000): Promise<Running> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => { exited = true; r(); }));
  const running: Running = {
    child,
    output: () => out,
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([exit, new Promise((r) => { timer = setTimeout(r, 3000); })]);
      clearTimeout(timer);
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
  };
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${cmd} exited before it was ready:\n${out}`);
    if (await ready().catch(() => false)) return running;
    if (Date.now() > until) {
      await running.stop();
      throw new Error(`${cmd} was not ready within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
