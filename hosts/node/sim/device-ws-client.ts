/**
 * The simulated device's WebSocket client (--ws-connect): as lws starts client connections, it
 * connects once the system is OPERATIONAL, resolving names through the device's own DNS. Each
 * time it opens it sends `send` (if any); every message it receives becomes an event. When the
 * connection drops or fails it reconnects after the delay the retry table gives (the policy's
 * "default" retry entry, lws_retry_bo_t semantics: a success resets the table; once more
 * consecutive failures than `conceal` have happened it gives up with ALL_RETRIES_FAILED).
 * The policy's svalidping / svalidhup become ws PING validity checks. CONTEXT_DESTROYING (stop or
 * reboot) closes it with 1001 and stops the retries.
 */
import { readCaFile } from './ca-file.js';
import type { Context } from '../../../src/loop/context.js';
import { Sul } from '../../../src/loop/sul.js';
import { getDelayMs, makeRetryPolicy, RetryState } from '../../../src/loop/retry.js';
import type { RetryPolicy } from '../../../src/loop/retry.js';
import type { Policy } from '../../../src/ss/policy/policy.js';
import type { WsiValidity } from '../../../src/loop/wsi.js';
import { wsConnect } from '../../../src/protocols/ws/ws-client.js';
import type { WsClientOptions } from '../../../src/protocols/ws/ws-client.js';
import type { WsSocket } from '../../../src/protocols/ws/ws-socket.js';
import type { DnsResolver } from '../../../src/services/dns/resolver.js';
import { SysState } from '../../../src/system/states.js';
import { LwsxError, UsageError } from '../../../src/util/errors.js';

export interface WsClientConfig {
  /** ws:// or wss:// */
  url: string;
  /** the subprotocol to ask for */
  protocol?: string;
  /** text sent each time the connection opens */
  send?: string;
  /** PEM or DER CA certificate(s) to trust for wss, besides the system store */
  caFile?: string;
}

export interface WsTarget {
  url: string;
  tls: boolean;
  host: string;
  port: number;
  /** path and query, as sent in the request line */
  path: string;
}

/** Parses a ws:// or wss:// URL; anything else is UsageError ERR_WS_URL naming what is wrong. */
export function parseWsUrl(url: string): WsTarget {
  const bad = (why: string): UsageError => new UsageError('ERR_WS_URL', `--ws-connect ${JSON.stringify(url)}: ${why}`, { url });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad('not a URL (expected ws://host[:port]/path or wss://...)');
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw bad(`scheme must be ws or wss, not ${u.protocol.slice(0, -1)}`);
  if (u.hash) throw bad('a WebSocket URL has no fragment (RFC 6455 §3)');
  if (u.username || u.password) throw bad('user information is not supported');
  if (!u.hostname) throw bad('no host');
  const tls = u.protocol === 'wss:';
  // WHATWG URL keeps IPv6 literals in brackets
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { url: u.href, tls, host, port: u.port ? Number(u.port) : tls ? 443 : 80, path: (u.pathname || '/') + u.search };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Checks a subprotocol name (an RFC 7230 token): UsageError ERR_WS_PROTOCOL_NAME. */
export function checkWsProtocol(name: string): void {
  if (!TOKEN.test(name)) throw new UsageError('ERR_WS_PROTOCOL_NAME', `--ws-protocol "${name}" is not a token`, { protocol: name });
}

/** The DER certificates in a --ws-ca file: UsageError ERR_WS_CA if there are none. */
export function readWsCa(path: string): Uint8Array[] {
  return readCaFile(path, '--ws-ca', 'ERR_WS_CA');
}

/** Checks a whole client config before anything opens; returns the parsed target and trust. */
export function checkWsClientConfig(c: WsClientConfig): { target: WsTarget; trust: Uint8Array[] | undefined } {
  const target = parseWsUrl(c.url);
  if (c.protocol !== undefined) checkWsProtocol(c.protocol);
  if (c.caFile !== undefined && !target.tls) throw new UsageError('ERR_WS_OPTION', '--ws-ca applies to wss:// URLs only', { url: c.url });
  return { target, trust: c.caFile === undefined ? undefined : readWsCa(c.caFile) };
}

/** What the client reports: the simulator adds boot and time and prints them. */
export type WsClientNote =
  | { event: 'connecting'; url: string; attempt: number }
  | { event: 'open' }
  | { event: 'message'; bytes: number; text?: string; base64?: string }
  /** errorCause: the underlying typed error's code (a TLS verification failure under ERR_CONNECT_TLS) */
  | { event: 'close'; code: number; reason: string; errorCode?: string; errorCause?: string; error?: string }
  | { event: 'retry'; delayMs: number; failures: number }
  | { event: 'failed'; code: string; message: string; failures: number };

/** When the policy names no "default" retry: the host-sim table, retrying for ever. */
const FALLBACK_RETRY = makeRetryPolicy({ table: [1000, 2000, 3000, 5000, 10000], conceal: 0xffff, jitterPercent: 20 });

/** The parsed policy's `retry` entry `name` (an lws_retry_bo_t), or undefined when there is none. */
export function retryFromPolicy(policy: Policy | undefined, name: string): RetryPolicy | undefined {
  return policy?.retry[name];
}

export interface DeviceWsClientOptions extends WsClientConfig {
  dns: DnsResolver;
  onNote(n: WsClientNote): void;
}

export class DeviceWsClient {
  readonly target: WsTarget;
  private readonly ctx: Context;
  private readonly opts: DeviceWsClientOptions;
  private readonly trust: Uint8Array[] | undefined;
  private readonly retry = new RetryState();
  private readonly retrySul = new Sul();
  private policy: RetryPolicy | undefined;
  private ws: WsSocket | undefined;
  private state: 'idle' | 'connecting' | 'open' | 'waiting' | 'failed' | 'stopped' = 'idle';
  private attempts = 0;
  private received = 0;
  /** the policy was swapped (POLICY_INVALID): re-read the retry table at OPERATIONAL */
  private stale = false;

  constructor(ctx: Context, opts: DeviceWsClientOptions) {
    const { target, trust } = checkWsClientConfig(opts);
    this.ctx = ctx;
    this.opts = opts;
    this.target = target;
    this.trust = trust;
    ctx.system.onTransitionRecord((rec) => {
      if (rec.kind === 'held' || rec.kind === 'error') return;
      if (rec.to === SysState.OPERATIONAL && this.state === 'idle') this.begin();
      else if (rec.to === SysState.OPERATIONAL && this.stale) this.reread();
      else if (rec.to === SysState.CONTEXT_DESTROYING) this.stop();
    });
    ctx.policyLoader.onPolicyInvalid(() => {
      this.stale = true;
    });
  }

  /** For the status page. */
  status(): Record<string, unknown> {
    return { url: this.target.url, state: this.state, attempts: this.attempts, failures: this.retry.count, received: this.received };
  }

  private begin(): void {
    // stopped from an earlier listener of this same OPERATIONAL step (--exit-when-operational)
    if (this.ctx.isDestroyed) return;
    this.stale = false;
    this.policy = retryFromPolicy(this.ctx.policyLoader.policy, 'default') ?? FALLBACK_RETRY;
    this.connect();
  }

  /**
   * Back in OPERATIONAL after a policy swap: the new policy's table, from its start. A client
   * waiting to retry, or that had given up, tries again now (lws recreates streams the same way);
   * an open or opening one keeps its connection and uses the new table when it next fails.
   */
  private reread(): void {
    if (this.state === 'stopped' || this.ctx.isDestroyed) return;
    this.stale = false;
    this.policy = retryFromPolicy(this.ctx.policyLoader.policy, 'default') ?? FALLBACK_RETRY;
    this.retry.reset();
    if (this.state === 'waiting' || this.state === 'failed') {
      this.ctx.cancel(this.retrySul);
      this.connect();
    }
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    this.state = 'connecting';
    this.attempts++;
    const t = this.target;
    this.opts.onNote({ event: 'connecting', url: t.url, attempt: this.attempts });
    const p = this.policy as RetryPolicy;
    const co: WsClientOptions = {
      host: t.host,
      port: t.port,
      path: t.path,
      resolve: async (name) => {
        const r = await this.opts.dns.lookup(name);
        const list = r.addresses.map((a) => a.address);
        r.release();
        return list;
      },
    };
    if (t.tls) co.tls = this.trust ? { trust: this.trust } : true;
    if (this.opts.protocol !== undefined) co.protocols = [this.opts.protocol];
    if (p.secsSinceValidPing > 0 && p.secsSinceValidHangup > 0) {
      co.validity = { secsSinceValidPing: p.secsSinceValidPing, secsSinceValidHangup: p.secsSinceValidHangup } satisfies WsiValidity;
    }
    try {
      wsConnect(this.ctx, co, {
        onOpen: (ws) => {
          this.ws = ws;
          this.state = 'open';
          // lws: a connection that came up resets the backoff
          this.retry.reset();
          this.opts.onNote({ event: 'open' });
          if (this.opts.send !== undefined) ws.send(this.opts.send);
        },
        onMessage: (_ws, data) => {
          this.received++;
          if (typeof data === 'string') this.opts.onNote({ event: 'message', bytes: data.length, text: data });
          else this.opts.onNote({ event: 'message', bytes: data.length, base64: Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64') });
        },
        onClose: (_ws, code, reason, err) => this.closed(code, reason, err),
      });
    } catch (e) {
      this.closed(1006, '', e instanceof LwsxError ? e : new UsageError('ERR_WS_CONNECT', String(e), {}, e));
    }
  }

  private closed(code: number, reason: string, err: LwsxError | undefined): void {
    this.ws = undefined;
    const n: WsClientNote = { event: 'close', code, reason };
    if (err) {
      n.errorCode = err.code;
      if (typeof err.detail?.['cause'] === 'string') n.errorCause = err.detail['cause'];
      n.error = err.message;
    }
    this.opts.onNote(n);
    if (this.state === 'stopped' || this.ctx.isDestroyed) return;
    const d = getDelayMs(this.policy, this.retry, this.ctx.random16);
    if (!d.conceal) {
      this.state = 'failed';
      this.opts.onNote({ event: 'failed', code: 'ALL_RETRIES_FAILED', message: `gave up on ${this.target.url} after ${this.retry.count} failures`, failures: this.retry.count });
      return;
    }
    this.state = 'waiting';
    this.opts.onNote({ event: 'retry', delayMs: d.ms, failures: this.retry.count });
    this.ctx.schedule(this.retrySul, d.ms * 1000, () => this.connect());
  }

  private stop(): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.ctx.cancel(this.retrySul);
    this.ws?.close(1001, 'device going away');
  }
}
