/**
 * Peer processes without Jest: find an executable, pick a free port, start a process and wait
 * until it answers, stop it. node:* only, so the benches (which run outside Jest, where
 * @jest/globals refuses to load) can use them too; peers.ts re-exports them for the suites.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'];

/** Absolute path of an executable, or undefined. */
export function which(bin: string): string | undefined {
  for (const dir of SEARCH) {
    const r = spawnSync('test', ['-x', `${dir}/${bin}`]);
    if (r.status === 0) return `${dir}/${bin}`;
  }
  return undefined;
}

function udpFree(port: number, type: 'udp4' | 'udp6', address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const u = createSocket(type);
    u.once('error', () => resolve(false));
    u.bind(port, address, () => u.close(() => resolve(true)));
  });
}

function tcpFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
}

/**
 * A free TCP+UDP port on 127.0.0.1 (asked of the kernel, then released). With `ipv6`, also free
 * for UDP and TCP on ::1, for a peer that listens on both loopbacks.
 */
export async function freePort(opts: { ipv6?: boolean } = {}): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const checks = [udpFree(port, 'udp4', '127.0.0.1')];
    if (opts.ipv6) checks.push(udpFree(port, 'udp6', '::1'), tcpFree(port, '::1'));
    if ((await Promise.all(checks)).every(Boolean)) return port;
  }
}

export interface Running {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a peer and resolves once `ready()` says it answers (polled), or rejects with its
 * output if it exits (or cannot be spawned) or is not ready within `timeoutMs`.
 */
export async function startPeer(cmd: string, args: string[], ready: () => Promise<boolean>, timeoutMs = 10_000): Promise<Running> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  let exitNow: () => void = () => {};
  const exit = new Promise<void>((r) => {
    exitNow = () => {
      exited = true;
      r();
    };
    child.once('exit', exitNow);
  });
  // a spawn failure (no such file, …) emits 'error' and never 'exit'; unhandled, it would end the process
  child.on('error', (e) => {
    out += `\nspawn failed: ${e.message}`;
    if (child.pid === undefined) exitNow();
  });
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
