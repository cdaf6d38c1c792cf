/**
 * A pair of network namespaces joined by a veth pair, for DHCP against a real dnsmasq
 * (PEERS.md, "DHCP — dnsmasq in a network namespace pair"). Needs root.
 *
 * Names carry this process's pid, so parallel runs never meet: namespaces `lwsx-<pid>-<tag>-srv`
 * and `-cli`, interfaces `lx<pid><tag>s` / `…c` (under IFNAMSIZ), subnet 10.213.<n>.0/24 with n
 * from the pid (the subnet only exists inside the two namespaces, but a distinct one keeps logs
 * unambiguous). `destroy()` kills the processes it started by pid, deletes both namespaces (which
 * removes the veth pair), removes /etc/netns if it was left empty and the temp directory; it
 * also runs from a process 'exit' hook, so a test that dies still leaves nothing behind.
 * Namespaces of this naming whose pid is dead (a run that was SIGKILLed) are removed on create.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NetnsPair {
  readonly srv: string;
  readonly cli: string;
  readonly srvIf: string;
  readonly cliIf: string;
  /** "10.213.N", the /24 both ends are on */
  readonly net: string;
  /** the server end's address, .1 */
  readonly serverIp: string;
  /** the client interface's MAC */
  readonly cliMac: string;
  /** a temp directory for leases, logs and scripts, removed by destroy() */
  readonly dir: string;
  /** Runs a command inside the client namespace; resolves with its exit code and output. */
  execCli(cmd: string, args: string[], timeoutMs?: number): Promise<Exec>;
  /** Spawns a long-running command inside the client namespace (killed by destroy() if still running). */
  spawnCli(cmd: string, args: string[]): ChildProcess;
  /** The same inside the server namespace. */
  spawnSrv(cmd: string, args: string[]): ChildProcess;
  /** Starts dnsmasq as the DHCP server in the server namespace; resolves once it serves. */
  startDnsmasq(opts: DnsmasqOptions): Promise<Dnsmasq>;
  destroy(): Promise<void>;
}

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface DnsmasqOptions {
  /** host numbers of the range, e.g. [100, 150] */
  range: [number, number];
  /** "2m", "1h" (dnsmasq's minimum is 2m) */
  lease: string;
  /** T1 and T2 in seconds (options 58/59), which dnsmasq sends as given */
  t1?: number;
  t2?: number;
  extra?: string[];
}

export interface Dnsmasq {
  readonly pid: number;
  /** what it has logged (--log-dhcp: one line per message and option) */
  log(): string;
  /** Resolves once its log matches. */
  waitLog(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Absolute path of a root tool (kept free of Jest, so the simulator can use this module too). */
export function bin(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // not in this one
    }
  }
  throw new Error(`${name} not found (run: bash .ci/install-peers)`);
}

const IP = bin('ip');
const PREFIX = 'lwsx-';

function ip(args: string[], allowFail = false): void {
  const r = spawnSync(IP, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces named lwsx-<pid>-… whose creator is gone: left by a killed run. */
function removeStale(): void {
  const r = spawnSync(IP, ['netns', 'list'], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^(lwsx-(\d+)-[a-z0-9]+-(?:srv|cli))\b/.exec(line);
    if (m && !pidAlive(Number(m[2]))) ip(['netns', 'del', m[1] as string], true);
  }
}

function removeEtcNetnsIfEmpty(): void {
  try {
    if (existsSync('/etc/netns') && readdirSync('/etc/netns').length === 0) rmdirSync('/etc/netns');
  } catch {
    // another run may have put something there meanwhile: then it is not ours to remove
  }
}

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return () => out;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  const t = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, 3000);
  await gone;
  clearTimeout(t);
}

/** Creates the pair; `tag` (a-z0-9, up to 3 characters) tells apart several pairs in one process. */
export function createNetnsPair(tag = 'd'): NetnsPair {
  if (!/^[a-z0-9]{1,3}$/.test(tag)) throw new Error('netns tag must be 1-3 of a-z0-9');
  removeStale();
  const pid = process.pid;
  const srv = `${PREFIX}${pid}-${tag}-srv`;
  const cli = `${PREFIX}${pid}-${tag}-cli`;
  const srvIf = `lx${pid}${tag}s`;
  const cliIf = `lx${pid}${tag}c`;
  const net = `10.213.${20 + (pid % 200)}`;
  const serverIp = `${net}.1`;
  const dir = mkdtempSync(join(tmpdir(), 'lwsx-netns-'));
  const children = new Set<ChildProcess>();
  let destroyed = false;

  const cleanupSync = (): void => {
    if (destroyed) return;
    destroyed = true;
    for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    ip(['netns', 'del', srv], true);
    ip(['netns', 'del', cli], true);
    removeEtcNetnsIfEmpty();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanupSync);

  try {
    ip(['netns', 'add', srv]);
    ip(['netns', 'add', cli]);
    ip(['link', 'add', srvIf, 'type', 'veth', 'peer', 'name', cliIf]);
    ip(['link', 'set', srvIf, 'netns', srv]);
    ip(['link', 'set', cliIf, 'netns', cli]);
    ip(['-n', srv, 'addr', 'add', `${serverIp}/24`, 'dev', srvIf]);
    ip(['-n', srv, 'link', 'set', 'lo', 'up']);
    ip(['-n', srv, 'link', 'set', srvIf, 'up']);
    ip(['-n', cli, 'link', 'set', 'lo', 'up']);
    ip(['-n', cli, 'link', 'set', cliIf, 'up']);
    // without it, sending to 255.255.255.255 from an interface with no address fails: ENETUNREACH
    ip(['-n', cli, 'route', 'add', '255.255.255.255/32', 'dev', cliIf]);
  } catch (e) {
    cleanupSync();
    process.removeListener('exit', cleanupSync);
    throw e;
  }
  const mac = spawnSync(IP, ['netns', 'exec', cli, 'cat', `/sys/class/net/${cliIf}/address`], { encoding: 'utf8' }).stdout.trim();

  const spawnIn = (ns: string, cmd: string, args: string[]): ChildProcess => {
    const c = spawn(IP, ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(c);
    c.once('exit', () => children.delete(c));
    return c;
  };

  return {
    srv,
    cli,
    srvIf,
    cliIf,
    net,
    serverIp,
    cliMac: mac,
    dir,
    spawnCli: (cmd, args) => spawnIn(cli, cmd, args),
    spawnSrv: (cmd, args) => spawnIn(srv, cmd, args),
    execCli(cmd, args, timeoutMs = 60_000): Promise<Exec> {
      return new Promise((resolve) => {
        const c = spawnIn(cli, cmd, args);
        let stdout = '';
        let stderr = '';
        c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        const t = setTimeout(() => {
          if (c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
          stderr += `\n[killed after ${timeoutMs} ms]`;
        }, timeoutMs);
        c.once('close', (code) => {
          clearTimeout(t);
          resolve({ code, stdout, stderr });
        });
      });
    },
    async startDnsmasq(o: DnsmasqOptions): Promise<Dnsmasq> {
      const logFile = join(dir, `dnsmasq-${children.size}.log`);
      const args = [
        '--no-daemon',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--interface=${srvIf}`,
        '--bind-interfaces',
        '--no-ping',
        '--dhcp-authoritative',
        `--dhcp-range=${net}.${o.range[0]},${net}.${o.range[1]},255.255.255.0,${o.lease}`,
        `--dhcp-leasefile=${join(dir, 'leases')}`,
        `--dhcp-option=option:router,${serverIp}`,
        `--dhcp-option=option:dns-server,${serverIp}`,
        `--dhcp-option=option:ntp-server,${serverIp}`,
        '--domain=lws.test',
        '--local=/lws.test/',
        '--log-dhcp',
        `--log-facility=${logFile}`,
        '--user=root',
        ...(o.t1 !== undefined ? [`--dhcp-option=option:T1,${o.t1}`] : []),
        ...(o.t2 !== undefined ? [`--dhcp-option=option:T2,${o.t2}`] : []),
        ...(o.extra ?? []),
      ];
      // `ip netns exec` execs dnsmasq in place: the child's pid is dnsmasq's
      const child = spawnIn(srv, bin('dnsmasq'), args);
      const output = collect(child);
      const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
      const waitLog = async (re: RegExp, timeoutMs = 10_000): Promise<void> => {
        const until = Date.now() + timeoutMs;
        while (!re.test(log())) {
          if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${output()}${log()}`);
          if (Date.now() > until) throw new Error(`dnsmasq log never matched ${re}:\n${log()}${output()}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await waitLog(/DHCP, sockets bound exclusively to interface/);
      return { pid: child.pid as number, log, waitLog, stop: () => killAndWait(child) };
    },
    async destroy(): Promise<void> {
      await Promise.all([...children].map(killAndWait));
      cleanupSync();
      process.removeListener('exit', cleanupSync);
    },
  };
}
