/**
 * The SNTP client (RFC 4330): asks one server at a time for the time, sets the device's clock
 * through the board's setClock op, and does it again every resync interval.
 *
 * A sync round walks the sources (see sources.ts) from the top. Each server gets one exchange:
 * a UdpTransaction retransmits on the exchange policy (lws's ntpclient wsi policy: 1 s, 1.25 s,
 * 5 s) until a reply or a timeout. A failed exchange moves to the next server after a delay from
 * the round's retry policy (lws's outer policy: 300 ms … 1.5 s, concealed forever), so a device
 * without network keeps trying, as lws does. Every failure is reported, typed, to `onError`.
 *
 * Where we differ from lws's ntpclient, on purpose: the fraction is 2^-32 s, not ns; the clock
 * is corrected by the four-timestamp offset (half the round trip compensated), not set to the
 * server's transmit time; the reply must echo our transmit timestamp and come from the server we
 * asked; Kiss-o'-Death is honoured; and the time is kept fresh by periodic resyncs.
 */
import type { Context } from '../../loop/context.js';
import { RETRY_CONCEAL_ALWAYS, RetryState, getDelayMs, makeRetryPolicy } from '../../loop/retry.js';
import type { RetryPolicy } from '../../loop/retry.js';
import { Sul } from '../../loop/sul.js';
import type { WallTimers } from '../../loop/wall-timers.js';
import { DatagramPort } from '../../net/dgram.js';
import type { Datagram } from '../../net/host.js';
import { UdpTransaction } from '../../net/udp-transaction.js';
import { BlobType } from '../../system/blob.js';
import type { StateManager } from '../../system/state.js';
import { SysState } from '../../system/states.js';
import { LwsxError, UsageError } from '../../util/errors.js';
import { SntpError } from './error.js';
import { TIME_VALID_THRESHOLD_US } from './threshold.js';
import { encodeSntpRequest, parseSntpReply, sntpSample } from './packet.js';
import type { SntpSample } from './packet.js';
import { SntpSources } from './sources.js';
import type { SntpSource } from './sources.js';
import { unixUsToNtp } from './timestamp.js';
import type { NtpTimestamp } from './timestamp.js';

export const SNTP_PORT = 123;
/** lws's ntpclient falls back to the public pool when nothing else is configured. */
export const SNTP_DEFAULT_SERVER = 'pool.ntp.org';
export const SNTP_RESYNC_INTERVAL_MS = 3_600_000;
/** First RATE penalty: NTP's default minimum poll interval, 2^6 s. */
export const SNTP_RATE_BACKOFF_MS = 64_000;

/** lws ntpclient's per-server policy (bo2): three retransmissions, then give that server up. */
export const SNTP_EXCHANGE_POLICY: RetryPolicy = makeRetryPolicy({ table: [1000, 1250, 5000], conceal: 3, jitterPercent: 20 });
/** lws ntpclient's outer policy (bo): between servers, forever. */
export const SNTP_RETRY_POLICY: RetryPolicy = makeRetryPolicy({
  table: [300, 500, 650, 800, 800, 900, 1000, 1100, 1500],
  conceal: RETRY_CONCEAL_ALWAYS,
  jitterPercent: 20,
});

/** Requests of one exchange whose replies we still accept (a late reply to a retransmitted one is fine). */
const SENT_KEPT = 16;

export interface SntpClientOptions {
  /** server port when a server does not name one ("host:port", "[v6]:port"): 123 */
  port?: number;
  /** the last resort after the blob, DHCP and the board ("pool.ntp.org"; "" for none) */
  defaultServer?: string;
  /** turns a server name into an address literal; numeric servers need none */
  resolve?: (name: string) => Promise<string>;
  /** ms between successful syncs (1 h) */
  resyncIntervalMs?: number;
  /** retransmissions to one server */
  exchangePolicy?: RetryPolicy;
  /** delays between exchanges of a round, and whether the round ever gives up */
  retryPolicy?: RetryPolicy;
  /** first penalty after a RATE kiss, doubled for each RATE in a row up to the resync interval */
  rateBackoffMs?: number;
  /** a server time before this (unix µs) is not believed: default the TIME_VALID threshold */
  validAfterUs?: number;
  /** wall-clock timers to move when setting the clock steps it */
  wallTimers?: WallTimers;
  /** every failure, typed: timeouts, Kiss-o'-Death, unsynchronised servers, resolve errors */
  onError?: (e: LwsxError, server: string | undefined) => void;
}

export interface SntpSync extends SntpSample {
  server: string;
  address: string;
  /** how much setting the clock moved the device's wall clock (µs; 0 without setClock) */
  stepUs: number;
  /** monotonic µs of the sync */
  atUs: number;
}

export interface SntpStats {
  rounds: number;
  exchanges: number;
  transmissions: number;
  syncs: number;
  failures: number;
}

interface Exchange {
  readonly source: SntpSource;
  address: string;
  readonly serverPort: number;
  port?: DatagramPort;
  txn?: UdpTransaction;
  readonly sent: Array<{ ts: NtpTimestamp; t1Us: number }>;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** An address literal the host can send to as it is (no resolving). */
export function isAddressLiteral(s: string): boolean {
  return IPV4.test(s) || (s.includes(':') && IPV6.test(s));
}

/**
 * A server as configured: "host", "host:port", "[v6]:port" or a bare IPv6 literal. Undefined
 * when the port is not 1..65535.
 */
export function splitServer(server: string, defaultPort: number): { host: string; port: number } | undefined {
  let host = server;
  let port: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(server);
  if (bracket) {
    host = bracket[1] as string;
    port = bracket[2];
  } else if (server.indexOf(':') >= 0 && server.indexOf(':') === server.lastIndexOf(':')) {
    host = server.slice(0, server.indexOf(':'));
    port = server.slice(server.indexOf(':') + 1);
  }
  if (port === undefined) return { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
  return { host, port: Number(port) };
}

export class SntpClient {
  readonly sources: SntpSources;
  readonly stats: SntpStats = { rounds: 0, exchanges: 0, transmissions: 0, syncs: 0, failures: 0 };
  readonly validAfterUs: number;
  /** the last successful sync */
  last: SntpSync | undefined;
  private readonly ctx: Context;
  private readonly port: number;
  private readonly defaultServer: string;
  private readonly resolve: ((name: string) => Promise<string>) | undefined;
  private readonly resyncUs: number;
  private readonly exchangePolicy: RetryPolicy;
  private readonly retryPolicy: RetryPolicy;
  private readonly rateBackoffUs: number;
  private readonly wallTimers: WallTimers | undefined;
  private readonly onError: ((e: LwsxError, server: string | undefined) => void) | undefined;
  private readonly retry = new RetryState();
  private readonly sul = new Sul();
  private readonly listeners: Array<(s: SntpSync) => void> = [];
  private dhcp: string[] = [];
  private exchange: Exchange | undefined;
  /** position in the usable source list this round has reached */
  private index = 0;
  private running = false;
  private warnedNoSetClock = false;

  constructor(ctx: Context, opts: SntpClientOptions = {}) {
    this.ctx = ctx;
    this.port = option('port', opts.port ?? SNTP_PORT, 1, 65535);
    this.defaultServer = opts.defaultServer ?? SNTP_DEFAULT_SERVER;
    this.resolve = opts.resolve;
    this.resyncUs = option('resyncIntervalMs', opts.resyncIntervalMs ?? SNTP_RESYNC_INTERVAL_MS, 1, 2 ** 31) * 1000;
    this.exchangePolicy = opts.exchangePolicy ?? SNTP_EXCHANGE_POLICY;
    this.retryPolicy = opts.retryPolicy ?? SNTP_RETRY_POLICY;
    this.rateBackoffUs = option('rateBackoffMs', opts.rateBackoffMs ?? SNTP_RATE_BACKOFF_MS, 0, 2 ** 31) * 1000;
    this.validAfterUs = option('validAfterUs', opts.validAfterUs ?? TIME_VALID_THRESHOLD_US, 0, Number.MAX_SAFE_INTEGER);
    this.wallTimers = opts.wallTimers;
    this.onError = opts.onError;
    this.sources = new SntpSources(() => this.configured());
    // the context going away takes our socket and timer with it
    ctx.system.register({
      name: 'sntp-client',
      notify: (_m: StateManager, current: number, target: number) => {
        if (current === target && current === SysState.CONTEXT_DESTROYING) this.stop();
        return 'ok';
      },
    });
  }

  /** At least one sync has succeeded. */
  get synced(): boolean {
    return this.last !== undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts syncing (on the next loop pass), then every resync interval. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.ctx.schedule(this.sul, 0, () => this.beginRound());
  }

  /** Syncs again now, unless an exchange is in flight. */
  resync(): void {
    if (!this.running || this.exchange) return;
    this.ctx.cancel(this.sul);
    this.beginRound();
  }

  /** Stops: no more exchanges or resyncs; an exchange in flight is abandoned. */
  stop(): void {
    this.running = false;
    if (this.exchange) this.endExchange(this.exchange);
    this.ctx.cancel(this.sul);
  }

  /** The NTP servers DHCP offered (option 42). A client still waiting for its first sync tries them at once. */
  setDhcpServers(servers: readonly string[]): void {
    this.dhcp = servers.slice();
    if (this.running && !this.synced && !this.exchange) {
      this.ctx.cancel(this.sul);
      this.attempt();
    }
  }

  /** Hears every successful sync. Returns its unsubscribe. */
  onSync(fn: (s: SntpSync) => void): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** The sources in priority order: blob, DHCP, board, default. */
  configured(): SntpSource[] {
    const out: SntpSource[] = [];
    const blob = this.ctx.system.blobs.get(BlobType.NTP_SERVER);
    if (blob.size > 0) {
      try {
        out.push({ server: blob.text().trim(), kind: 'blob' });
      } catch (e) {
        this.ctx.logger.warn('sntp', 'NTP_SERVER blob is not UTF-8: ignored', { code: (e as LwsxError).code });
      }
    }
    for (const s of this.dhcp) out.push({ server: s, kind: 'dhcp' });
    const board = this.ctx.system.board.description.ntpServer;
    if (board) out.push({ server: board, kind: 'board' });
    if (this.defaultServer) out.push({ server: this.defaultServer, kind: 'default' });
    return out;
  }

  private beginRound(): void {
    if (!this.running) return;
    this.stats.rounds++;
    this.index = 0;
    this.retry.reset();
    this.attempt();
  }

  /** Starts an exchange with the next usable source, or waits for one. */
  private attempt(): void {
    if (!this.running || this.exchange) return;
    const pick = this.sources.pick(this.index, this.ctx.nowUs());
    if (pick.kind === 'none') {
      this.failed(undefined, new SntpError('ERR_SNTP_NO_SERVER', 'no NTP server: none configured, or every one refused us'));
      return;
    }
    if (pick.kind === 'wait') {
      this.ctx.logger.info('sntp', 'every server is rate limiting us: waiting', { forMs: Math.round((pick.untilUs - this.ctx.nowUs()) / 1000) });
      this.ctx.scheduleAt(this.sul, pick.untilUs, () => this.attempt());
      return;
    }
    this.index = pick.index;
    const server = pick.source.server;
    const where = splitServer(server, this.port);
    const ex: Exchange = { source: pick.source, address: where?.host ?? server, serverPort: where?.port ?? this.port, sent: [] };
    this.exchange = ex;
    this.stats.exchanges++;
    if (!where) {
      this.exchangeFailed(ex, new SntpError('ERR_SNTP_RESOLVE', `NTP server "${server}": the port must be 1..65535`, { server, field: 'port' }));
      return;
    }
    if (isAddressLiteral(where.host)) {
      this.open(ex);
      return;
    }
    if (!this.resolve) {
      this.exchangeFailed(ex, new SntpError('ERR_SNTP_RESOLVE', `NTP server "${server}" is a name and no resolver was given`, { server }));
      return;
    }
    let lookup: Promise<string>;
    try {
      lookup = this.resolve(where.host);
    } catch (e) {
      lookup = Promise.reject(e);
    }
    // the answer arrives outside the loop: come back onto it before touching anything
    const back = (fn: () => void): void => {
      if (!this.ctx.isDestroyed) this.ctx.defer(() => { if (this.exchange === ex) fn(); });
    };
    lookup.then(
      (address) =>
        back(() => {
          if (typeof address === 'string' && isAddressLiteral(address)) {
            ex.address = address;
            this.open(ex);
          } else {
            this.exchangeFailed(ex, new SntpError('ERR_SNTP_RESOLVE', `resolving NTP server "${server}" gave no address literal`, { server, address }));
          }
        }),
      (e: unknown) =>
        back(() => {
          const why = e instanceof Error ? e.message : String(e);
          this.exchangeFailed(ex, new SntpError('ERR_SNTP_RESOLVE', `resolving NTP server "${server}" failed: ${why}`, { server, code: (e as LwsxError)?.code }, e));
        }),
    );
  }

  private open(ex: Exchange): void {
    try {
      const opts: ConstructorParameters<typeof DatagramPort>[1] = {
        name: 'sntp',
        onDatagram: (d) => this.onDatagram(ex, d),
        onError: (e) => this.exchangeFailed(ex, asLwsxError(e)),
      };
      if (ex.address.includes(':')) opts.address = '::';
      ex.port = new DatagramPort(this.ctx, opts);
      ex.txn = new UdpTransaction(this.ctx, this.exchangePolicy, () => this.transmit(ex), (e) => this.exchangeFailed(ex, e), `sntp ${ex.source.server}`);
      ex.txn.start();
    } catch (e) {
      this.exchangeFailed(ex, asLwsxError(e));
    }
  }

  private transmit(ex: Exchange): void {
    const t1Us = this.ctx.wallUs();
    const ts = unixUsToNtp(t1Us);
    ex.sent.push({ ts, t1Us });
    if (ex.sent.length > SENT_KEPT) ex.sent.shift();
    this.stats.transmissions++;
    (ex.port as DatagramPort).send(encodeSntpRequest(ts), ex.address, ex.serverPort);
  }

  private onDatagram(ex: Exchange, d: Datagram): void {
    const t4Us = this.ctx.wallUs();
    if (this.exchange !== ex) return;
    if (d.address !== ex.address || d.port !== ex.serverPort) {
      this.ctx.logger.info('sntp', 'datagram from a server we did not ask: ignored', { from: d.address, port: d.port });
      return;
    }
    let reply;
    try {
      reply = parseSntpReply(new Uint8Array(d.data), ex.sent.map((s) => s.ts));
    } catch (e) {
      const err = asLwsxError(e);
      if (err.code === 'ERR_SNTP_PARSE' || err.code === 'ERR_SNTP_BOGUS') {
        // not an answer to us (RFC 4330 §5: discard it); the exchange goes on waiting
        this.ctx.logger.info('sntp', `reply ignored: ${err.message}`, { code: err.code, server: ex.source.server });
        this.onError?.(err, ex.source.server);
        return;
      }
      this.exchangeFailed(ex, err);
      return;
    }
    const sent = ex.sent[reply.request] as { ts: NtpTimestamp; t1Us: number };
    const sample = sntpSample(reply.packet, sent.t1Us, t4Us);
    if (sample.serverUs < this.validAfterUs) {
      this.exchangeFailed(ex, new SntpError('ERR_SNTP_BOGUS', 'ntp server time is before the time-valid threshold', {
        field: 'transmit',
        serverUs: sample.serverUs,
        validAfterUs: this.validAfterUs,
      }));
      return;
    }
    this.applySample(ex, sample);
  }

  private applySample(ex: Exchange, sample: SntpSample): void {
    const server = ex.source.server;
    this.endExchange(ex);
    this.sources.answered(server);
    const stepUs = this.setClock(sample.offsetUs);
    const sync: SntpSync = { ...sample, server, address: ex.address, stepUs, atUs: this.ctx.nowUs() };
    this.last = sync;
    this.stats.syncs++;
    this.retry.reset();
    this.ctx.logger.notice('sntp', 'time synced', {
      server,
      offsetUs: Math.round(sample.offsetUs),
      delayUs: Math.round(sample.delayUs),
      stratum: sample.stratum,
      stepUs,
    });
    this.ctx.schedule(this.sul, this.resyncUs, () => this.beginRound());
    for (const fn of this.listeners.slice()) {
      try {
        fn(sync);
      } catch (e) {
        this.ctx.logger.err('sntp', `sync listener threw: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }

  /**
   * Corrects the board's clock by the offset and moves the wall timers by what the clock
   * actually stepped: measured, not assumed, since a board may round (an RTC keeps seconds) or
   * keep no clock at all. Returns the step in µs.
   */
  private setClock(offsetUs: number): number {
    const ops = this.ctx.system.board.ops;
    if (!ops.setClock) {
      if (!this.warnedNoSetClock) {
        this.warnedNoSetClock = true;
        this.ctx.logger.warn('sntp', 'the board has no setClock op: the time is known but the clock is not set');
      }
      return 0;
    }
    const wall0 = this.ctx.wallUs();
    const mono0 = this.ctx.nowUs();
    ops.setClock.call(ops, Math.round(wall0 + offsetUs));
    const stepUs = Math.round(this.ctx.wallUs() - wall0 - (this.ctx.nowUs() - mono0));
    if (stepUs !== 0) this.wallTimers?.clockStepped(stepUs);
    return stepUs;
  }

  private exchangeFailed(ex: Exchange, err: LwsxError): void {
    if (this.exchange !== ex) return;
    this.endExchange(ex);
    const server = ex.source.server;
    if (err.code === 'ERR_SNTP_KOD') {
      const code = String(err.detail?.['code']);
      if (code === 'RATE') {
        const penaltyUs = this.sources.rateLimited(server, this.ctx.nowUs(), this.rateBackoffUs, Math.max(this.resyncUs, this.rateBackoffUs));
        this.ctx.logger.warn('sntp', 'server asks us to slow down (RATE): using it less often', { server, penaltyMs: Math.round(penaltyUs / 1000) });
      } else {
        // the list shrinks under the index: it now points at the next server already
        this.sources.refuse(server, code);
        this.ctx.logger.warn('sntp', `server refused us (${code}): not asking it again`, { server });
      }
    } else {
      this.index++;
    }
    this.failed(server, err);
  }

  /** Reports a failure and schedules the next attempt of this round, or gives the round up. */
  private failed(server: string | undefined, err: LwsxError): void {
    this.stats.failures++;
    this.ctx.logger.warn('sntp', err.message, { code: err.code, server, detail: err.detail });
    this.onError?.(err, server);
    if (!this.running) return;
    const d = getDelayMs(this.retryPolicy, this.retry, this.ctx.random16);
    if (d.conceal) {
      this.ctx.schedule(this.sul, d.ms * 1000, () => this.attempt());
      return;
    }
    const gaveUp = new SntpError('ERR_SNTP_FAILED', `sntp: no time after ${this.retry.count} attempts; next round in ${this.resyncUs / 1000} ms`, { attempts: this.retry.count }, err);
    this.ctx.logger.err('sntp', gaveUp.message, { code: gaveUp.code });
    this.onError?.(gaveUp, undefined);
    this.ctx.schedule(this.sul, this.resyncUs, () => this.beginRound());
  }

  private endExchange(ex: Exchange): void {
    ex.txn?.done();
    ex.port?.close();
    if (this.exchange === ex) this.exchange = undefined;
  }
}

function option(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new UsageError('ERR_SNTP_OPTION', `sntp client option ${name} must be an integer ${min}..${max}`, { field: name, value: v });
  }
  return v;
}

function asLwsxError(e: unknown): LwsxError {
  if (e instanceof LwsxError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new SntpError('ERR_SNTP_SOCKET', `sntp socket failed: ${why}`, {}, e);
}
