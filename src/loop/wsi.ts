/**
 * wsi — one connection: one host socket and one sans-IO protocol machine, pumped by the loop.
 *
 * - Reads go through the machine as they arrive; its events go to the user. The user can stop
 *   reading (`pauseRx`) and the host's own flow control then closes the TCP window.
 * - Writes never block: the machine's output goes to the socket until the socket says it has
 *   no room; the rest waits in a backlog, and "writeable" callbacks are withheld until it drains.
 *   While the user handles what one read produced, output is only queued; it goes out when the
 *   handler returns, small pieces joined into one write (an echo, or a response's head and
 *   body, is one segment and one syscall, however many sends made it).
 *   `callOnWritable()` calls coalesce into one callback, as lws_callback_on_writable does.
 * - Connection validity, as lws: after `secsSinceValidPing` without proof of life the role
 *   pings (`machine.validityPing`); after `secsSinceValidHangup` the wsi hangs up with
 *   ERR_VALIDITY_TIMEOUT. Received bytes count as proof of life unless the role says otherwise;
 *   a role that knows better (a ws pong) calls `validityConfirmed()`.
 * - The machine's own timers (a close handshake) run on a sul at `nextDeadlineUs()`.
 */
import type { AcceptedTCP, TCP, TlsOptions } from '../net/host.js';
import { systemClientCreds } from '../net/tls-client-creds.js';
import { LwsxError } from '../util/errors.js';
import type { Context } from './context.js';
import { Sul } from './sul.js';

export class WsiError extends LwsxError {}

/** What the wsi needs of a protocol machine (DESIGN.md's ProtocolMachine). */
export interface WsiMachine<E> {
  receive(bytes: Uint8Array, nowUs: number): E[];
  pendingOutput(): Uint8Array[];
  nextDeadlineUs(): number | undefined;
  onTimer(nowUs: number): E[];
  /** send the role's ping (ws PING, MQTT PINGREQ); absent: validity can only hang up */
  validityPing?(nowUs: number): void;
  /** the peer closed its sending side (FIN): a close-delimited body ends here */
  receiveEof?(nowUs: number): E[];
  /** true once the machine is finished and the connection should close after its output */
  readonly closed?: boolean;
}

export interface WsiValidity {
  secsSinceValidPing: number;
  secsSinceValidHangup: number;
}

export interface WsiCallbacks<E> {
  /** the socket is connected (and TLS is up): the machine's first output has been queued */
  onConnected?(wsi: Wsi<E>): void;
  onEvents(wsi: Wsi<E>, events: E[]): void;
  /** after callOnWritable(), once the backlog is empty */
  onWritable?(wsi: Wsi<E>): void;
  /** the wsi is gone: `err` says why, undefined for an orderly close */
  onClose(wsi: Wsi<E>, err: LwsxError | undefined): void;
}

export interface WsiOptions<E> {
  machine: WsiMachine<E>;
  callbacks: WsiCallbacks<E>;
  validity?: WsiValidity;
  /** received bytes count as proof of life (default true) */
  rxIsProofOfLife?: boolean;
  /** bytes read from the socket per read() */
  rxChunk?: number;
  /** name for logs */
  name?: string;
}

export type ConnectPhase = 'dns' | 'tcp' | 'tls' | 'first-response';

export interface ConnectOptions<E> extends WsiOptions<E> {
  host: string;
  port: number;
  /** TLS options (servername defaults to host); absent for plain TCP */
  tls?: Omit<TlsOptions, 'host' | 'address' | 'port'>;
  /** turns a name into addresses to try in turn (IPv6 and IPv4); numeric hosts need none */
  resolve?: (name: string) => Promise<string[]>;
  /** per-phase limits in ms; a phase over its limit fails with ERR_CONNECT_TIMEOUT naming it */
  timeouts?: Partial<Record<ConnectPhase, number>>;
}

const DEFAULT_TIMEOUTS: Record<ConnectPhase, number> = { dns: 5000, tcp: 5000, tls: 10000, 'first-response': 30000 };

/** queued pieces up to this many bytes in all are joined into one socket write */
const COALESCE_BYTES = 16384;

const NUMERIC = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/;

type Ctx = Pick<Context, 'host' | 'nowUs' | 'scheduleAt' | 'cancel' | 'logger' | 'defer' | 'track' | 'untrack' | 'system'>;

export class Wsi<E> {
  readonly name: string;
  private socket: TCP | undefined;
  private readonly ctx: Ctx;
  private machine: WsiMachine<E>;
  private cb: WsiCallbacks<E>;
  private readonly backlog: Uint8Array[] = [];
  /** bytes in `backlog`, kept as it changes: callers ask per message */
  private backlogLen = 0;
  private room = 1;
  private wantWritable = false;
  private writableQueued = false;
  private rxPaused = false;
  private rxPending = false;
  /** handling a read's events: flush() queues, readAll() writes once the handler returns */
  private corked = false;
  private closed = false;
  private readonly rxChunk: number;
  private readonly rxIsProofOfLife: boolean;
  private readonly validity: WsiValidity | undefined;
  private readonly validitySul = new Sul();
  private readonly machineSul = new Sul();
  private readonly phaseSul = new Sul();
  private lastProofUs: number;
  private pinged = false;
  /** connect: the phase in progress, so a timeout can name it */
  private phase: ConnectPhase | undefined;

  constructor(ctx: Ctx, opts: WsiOptions<E>) {
    this.ctx = ctx;
    this.machine = opts.machine;
    this.cb = opts.callbacks;
    this.name = opts.name ?? 'wsi';
    this.rxChunk = opts.rxChunk ?? 16384;
    this.rxIsProofOfLife = opts.rxIsProofOfLife ?? true;
    this.validity = opts.validity;
    this.lastProofUs = ctx.nowUs();
    ctx.track(this);
  }

  /** Wraps a connected socket (a listener's accepted connection). */
  static adopt<E>(ctx: Ctx, accepted: AcceptedTCP, opts: WsiOptions<E>): Wsi<E> {
    const w = new Wsi<E>(ctx, opts);
    w.socket = accepted.adopt(w.socketCallbacks(() => {}));
    w.started();
    return w;
  }

  /**
   * Connects a client: resolves the name, tries each address in turn, with a typed error naming
   * the phase that failed (ERR_CONNECT_DNS, ERR_CONNECT_TCP, ERR_CONNECT_TLS,
   * ERR_CONNECT_TIMEOUT) if none works.
   */
  static connect<E>(ctx: Ctx, opts: ConnectOptions<E>): Wsi<E> {
    const w = new Wsi<E>(ctx, opts);
    void w.dial(opts);
    return w;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes queued but not yet taken by the socket. */
  get backlogBytes(): number {
    return this.backlogLen;
  }

  /**
   * Hands the connection to another protocol (lws's role change, e.g. HTTP → WebSocket after a
   * 101): from now on bytes go to `machine` and events to `callbacks`. `rest` is what already
   * arrived for the new protocol; its events are returned for the caller to handle first.
   */
  switchProtocol<F>(machine: WsiMachine<F>, callbacks: WsiCallbacks<F>): Wsi<F> {
    // what the old protocol still has to say (the 101 itself) goes out first
    this.takeOutput();
    const self = this as unknown as Wsi<F>;
    self.machine = machine;
    self.cb = callbacks;
    this.ctx.cancel(this.machineSul);
    self.armMachineTimer();
    return self;
  }

  /** Sends the machine's pending output (call after driving the machine's send methods). */
  flush(): void {
    if (this.closed) return;
    this.takeOutput();
    if (this.corked) return;
    this.drain();
    if (this.machine.closed && this.backlog.length === 0) this.close();
  }

  /** Asks for one onWritable callback once the backlog is empty; repeated calls coalesce. */
  callOnWritable(): void {
    this.wantWritable = true;
    this.maybeWritable();
  }

  /** Stops reading: bytes wait in the host (whose flow control then closes the TCP window). */
  pauseRx(): void {
    this.rxPaused = true;
  }

  resumeRx(): void {
    if (!this.rxPaused) return;
    this.rxPaused = false;
    if (this.rxPending) this.ctx.defer(() => this.readAll());
  }

  /** Proof of life (lws_validity_confirmed): restarts the ping / hangup timers. */
  validityConfirmed(): void {
    this.proofOfLife(this.ctx.nowUs());
  }

  /** Closes now; `err` is reported to onClose (undefined for an orderly close). */
  close(err?: LwsxError): void {
    if (this.closed) return;
    // closed from inside a handler: what it queued still goes out first, also what it sent
    // without a flush (a ws.send during dispatch only queues in the machine)
    if (this.corked) {
      this.corked = false;
      this.takeOutput();
      this.drain();
    }
    this.closed = true;
    this.ctx.untrack(this);
    this.ctx.cancel(this.validitySul);
    this.ctx.cancel(this.machineSul);
    this.ctx.cancel(this.phaseSul);
    try {
      this.socket?.close();
    } catch {
      // already gone underneath us
    }
    this.cb.onClose(this, err);
  }

  private async dial(opts: ConnectOptions<E>): Promise<void> {
    const t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    let addresses: string[];
    if (NUMERIC.test(opts.host) || !opts.resolve) {
      addresses = [opts.host];
    } else {
      this.enterPhase('dns', t.dns);
      try {
        addresses = await opts.resolve(opts.host);
      } catch (e) {
        if (this.closed) return;
        this.close(new WsiError('ERR_CONNECT_DNS', `${this.name}: cannot resolve ${opts.host}: ${(e as Error)?.message ?? e}`, { phase: 'dns', host: opts.host, cause: (e as LwsxError)?.code }, e));
        return;
      }
      if (this.closed) return;
      if (addresses.length === 0) {
        this.close(new WsiError('ERR_CONNECT_DNS', `${this.name}: ${opts.host} has no addresses`, { phase: 'dns', host: opts.host }));
        return;
      }
    }
    let last: LwsxError | undefined;
    for (const address of addresses) {
      const err = await this.tryAddress(address, opts, t);
      if (this.closed) return;
      if (!err) return this.started();
      last = err;
      this.ctx.logger.info('wsi', `${this.name}: ${address} failed, ${err.code}`);
    }
    this.close(last);
  }

  /** One address: resolves undefined once connected (and TLS is up), or the typed failure. */
  private tryAddress(address: string, opts: ConnectOptions<E>, t: Record<ConnectPhase, number>): Promise<LwsxError | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (e: LwsxError | undefined): void => {
        if (settled) return;
        settled = true;
        this.ctx.cancel(this.phaseSul);
        if (e) {
          try {
            this.socket?.close();
          } catch {
            // it failed already
          }
          this.socket = undefined;
        }
        resolve(e);
      };
      const phase: ConnectPhase = opts.tls ? 'tls' : 'tcp';
      this.enterPhase(phase, opts.tls ? t.tcp + t.tls : t.tcp, () =>
        settle(new WsiError('ERR_CONNECT_TIMEOUT', `${this.name}: ${phase} to ${address}:${opts.port} took longer than allowed`, { phase, address, port: opts.port })),
      );
      const cbs = this.socketCallbacks(() => settle(undefined), (e) => {
        const code = opts.tls ? 'ERR_CONNECT_TLS' : 'ERR_CONNECT_TCP';
        settle(new WsiError(code, `${this.name}: ${phase} to ${address}:${opts.port} failed: ${e?.message ?? 'closed'}`, { phase, address, port: opts.port, cause: (e as LwsxError)?.code }, e));
      });
      const host = this.ctx.host;
      // nodelay, as lws sets TCP_NODELAY: the wsi joins its own small writes, Nagle would only hold them
      try {
        if (opts.tls) {
          if (!host.tls) throw new WsiError('ERR_CONNECT_TLS', `${this.name}: this host has no TLS`, { phase: 'tls' });
          this.socket = host.tls({ ...systemClientCreds(opts.tls, this.ctx.system.blobs), address, port: opts.port, servername: opts.tls.servername ?? (NUMERIC.test(opts.host) ? undefined : opts.host), nodelay: true, ...cbs } as TlsOptions);
        } else {
          this.socket = host.tcp({ address, port: opts.port, nodelay: true, ...cbs });
        }
      } catch (e) {
        settle(e instanceof LwsxError ? e : new WsiError('ERR_CONNECT_TCP', String(e), { phase, address }, e));
      }
    }).then((e) => {
      // a connected client waits for its first response within the limit
      if (!e && !this.closed) {
        this.enterPhase('first-response', t['first-response']);
      }
      return e as LwsxError | undefined;
    });
  }

  private enterPhase(phase: ConnectPhase, ms: number, onTimeout?: () => void): void {
    this.phase = phase;
    this.ctx.scheduleAt(this.phaseSul, this.ctx.nowUs() + ms * 1000, () => {
      if (onTimeout) onTimeout();
      else this.close(new WsiError('ERR_CONNECT_TIMEOUT', `${this.name}: ${phase} took longer than ${ms} ms`, { phase }));
    });
  }

  /**
   * The callbacks given to the host socket. Until `connected` runs once, an error goes to
   * `failed` (the dialer tries the next address); afterwards it closes the wsi.
   */
  private socketCallbacks(connected: () => void, failed?: (e?: Error) => void): { onReadable(n: number): void; onWritable(n: number): void; onError(e?: Error): void } {
    let up = failed === undefined;
    return {
      onWritable: (n: number) => {
        if (!up) {
          up = true;
          connected();
        }
        this.room = n;
        this.drain();
      },
      onReadable: () => {
        if (this.rxPaused) {
          this.rxPending = true;
          return;
        }
        this.readAll();
      },
      onError: (e?: Error) => {
        if (!up) return failed?.(e);
        if (this.closed) return;
        const le = e instanceof LwsxError ? e : new WsiError('ERR_WSI_SOCKET', `${this.name}: socket failed: ${e?.message ?? 'closed'}`, {}, e);
        // the peer's FIN: the machine may still have something to say (a close-delimited body ends)
        if (le.code === 'ERR_TCP_CLOSED' && this.machine.receiveEof) {
          const events = this.machine.receiveEof(this.ctx.nowUs());
          if (events.length) this.cb.onEvents(this, events);
          if (this.closed) return;
          this.flush();
          if (this.closed) return;
          this.close(this.machine.closed ? undefined : le);
          return;
        }
        // a peer's orderly close after the machine is done is not an error
        this.close(this.machine.closed ? undefined : le);
      },
    };
  }

  private started(): void {
    this.lastProofUs = this.ctx.nowUs();
    this.armValidity();
    this.cb.onConnected?.(this);
    this.flush();
    this.armMachineTimer();
  }

  private readAll(): void {
    this.rxPending = false;
    const sock = this.socket;
    if (!sock) return;
    while (!this.closed && !this.rxPaused) {
      const buf = sock.read(this.rxChunk);
      if (!buf) return;
      if (this.phase === 'first-response') {
        this.phase = undefined;
        this.ctx.cancel(this.phaseSul);
      }
      const now = this.ctx.nowUs();
      if (this.rxIsProofOfLife) this.proofOfLife(now);
      let events: E[];
      try {
        events = this.machine.receive(new Uint8Array(buf), now);
      } catch (e) {
        // the machine's typed protocol error: it may have queued what to tell the peer
        this.flush();
        this.close(e instanceof LwsxError ? e : new WsiError('ERR_WSI_PROTOCOL', String(e), {}, e));
        return;
      }
      if (events.length) {
        this.corked = true;
        try {
          this.cb.onEvents(this, events);
        } finally {
          this.corked = false;
        }
      }
      this.flush();
      this.armMachineTimer();
    }
    if (this.rxPaused) this.rxPending = true;
  }

  /** Moves the machine's pending output to the backlog. */
  private takeOutput(): void {
    for (const b of this.machine.pendingOutput()) {
      if (!b.length) continue;
      this.backlog.push(b);
      this.backlogLen += b.length;
    }
  }

  private drain(): void {
    const sock = this.socket;
    if (!sock || this.closed) return;
    const q = this.backlog;
    while (q.length && this.room > 0) {
      let b = q.shift() as Uint8Array;
      // join the small pieces that follow into one write
      let n = b.length;
      let k = 0;
      while (k < q.length && n + (q[k] as Uint8Array).length <= COALESCE_BYTES) n += (q[k++] as Uint8Array).length;
      if (k > 0) {
        const joined = new Uint8Array(n);
        joined.set(b);
        let at = b.length;
        for (const c of q.splice(0, k)) {
          joined.set(c, at);
          at += c.length;
        }
        b = joined;
      }
      this.backlogLen -= b.length;
      this.room = sock.write(b);
    }
    this.maybeWritable();
  }

  private maybeWritable(): void {
    if (!this.wantWritable || this.backlog.length || this.room <= 0 || this.writableQueued || this.closed || !this.socket) return;
    this.writableQueued = true;
    // from the loop, never from inside the caller's own write
    this.ctx.defer(() => {
      this.writableQueued = false;
      if (!this.wantWritable || this.closed || this.backlog.length || this.room <= 0) return;
      this.wantWritable = false;
      this.cb.onWritable?.(this);
    });
  }

  private armMachineTimer(): void {
    const at = this.machine.nextDeadlineUs();
    if (at === undefined) {
      this.ctx.cancel(this.machineSul);
      return;
    }
    // most reads leave the machine's deadline where it was
    if (this.machineSul.armed && this.machineSul.us === at) return;
    this.ctx.scheduleAt(this.machineSul, at, () => {
      if (this.closed) return;
      const events = this.machine.onTimer(this.ctx.nowUs());
      if (events.length) this.cb.onEvents(this, events);
      this.flush();
      this.armMachineTimer();
    });
  }

  private proofOfLife(nowUs: number): void {
    this.lastProofUs = nowUs;
    this.pinged = false;
    this.armValidity();
  }

  /** When the validity timer is due: the ping, or once pinged, the hang-up. */
  private validityDueUs(v: WsiValidity): number {
    return this.lastProofUs + (this.pinged ? v.secsSinceValidHangup : v.secsSinceValidPing) * 1e6;
  }

  private armValidity(): void {
    const v = this.validity;
    if (!v || this.closed) return;
    const next = this.validityDueUs(v);
    // proof of life mostly moves the deadline later: an armed timer that fires no later than
    // needed stays, and re-checks when it fires, so a busy connection does not re-arm per read
    if (this.validitySul.armed && this.validitySul.us <= next) return;
    this.ctx.scheduleAt(this.validitySul, next, () => this.onValidityTimer());
  }

  private onValidityTimer(): void {
    const v = this.validity as WsiValidity;
    const now = this.ctx.nowUs();
    const due = this.validityDueUs(v);
    if (now < due) {
      // proof of life came since this was armed
      this.ctx.scheduleAt(this.validitySul, due, () => this.onValidityTimer());
      return;
    }
    if (now - this.lastProofUs >= v.secsSinceValidHangup * 1e6 || (!this.machine.validityPing && this.pinged)) {
      this.close(new WsiError('ERR_VALIDITY_TIMEOUT', `${this.name}: no proof of life for ${v.secsSinceValidHangup} s`, { secs: v.secsSinceValidHangup }));
      return;
    }
    this.pinged = true;
    if (this.machine.validityPing) {
      this.machine.validityPing(now);
      this.flush();
    }
    this.armValidity();
  }
}
