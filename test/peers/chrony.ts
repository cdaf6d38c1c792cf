/**
 * chronyd as an NTP server on loopback, for the SNTP interop suite. `-x` keeps it off the
 * system clock (it must never touch it), `local stratum 8` makes it serve its own clock at once,
 * and with no `server` lines it never reaches outside. Each instance gets its own port and temp
 * dir (pid file, drift file), removed on stop.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPeer, which } from './peers.js';
import type { Running } from './peers.js';

export interface ChronyOptions {
  /** a `ratelimit` line's options, e.g. "interval 2 burst 1": chrony then drops requests */
  ratelimit?: string;
}

export interface Chrony {
  address: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** One NTP client request and whether a mode-4 reply comes back within `ms`. */
export function ntpAnswers(address: string, port: number, ms = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('message', (m) => done(m.length >= 48 && (m[0]! & 7) === 4));
    s.on('error', () => done(false));
    const req = Buffer.alloc(48);
    req[0] = 0x23; // version 4, mode 3 (client)
    req.writeUInt32BE(0xeb000000, 40); // any non-zero transmit timestamp
    s.send(req, port, address);
  });
}

export async function startChrony(opts: ChronyOptions = {}): Promise<Chrony> {
  const bin = which('chronyd');
  if (!bin) throw new Error('chronyd is not installed (run: bash .ci/install-peers)');
  const dir = mkdtempSync(join(tmpdir(), 'lwsx-chrony-'));
  const port = await freePort();
  const conf = [
    `port ${port}`,
    'bindaddress 127.0.0.1',
    'allow 127.0.0.1',
    'local stratum 8',
    'cmdport 0',
    `pidfile ${join(dir, 'chronyd.pid')}`,
    `driftfile ${join(dir, 'drift')}`,
  ];
  if (opts.ratelimit) conf.push(`ratelimit ${opts.ratelimit}`);
  const file = join(dir, 'chrony.conf');
  writeFileSync(file, conf.join('\n') + '\n');
  let running: Running;
  try {
    // with a ratelimit the probe spends part of 127.0.0.1's burst: the next requests may be dropped
    running = await startPeer(bin, ['-d', '-x', '-u', 'root', '-f', file], () => ntpAnswers('127.0.0.1', port));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    address: '127.0.0.1',
    port,
    output: () => running.output(),
    stop: async () => {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
