/**
 * The DHCPv4 client (RFC 2131 §4.4): the full state machine, on the context's loop.
 *
 *   INIT ─DISCOVER→ SELECTING ─OFFER/REQUEST→ REQUESTING ─ACK→ BOUND ─T1→ RENEWING ─T2→ REBINDING
 *   INIT-REBOOT ─REQUEST→ REBOOTING ─ACK→ BOUND          NAK, lease expiry, failed exchange → INIT
 *
 * Where libwebsockets' client stops at BOUND, this one renews at T1 (REQUEST unicast to the
 * server), rebinds at T2 (broadcast, any server may answer), and starts again from INIT when the
 * lease expires. DISCOVER, REQUEST (selecting, rebooting) retransmit through a UdpTransaction
 * on the retry policy; RENEWING and REBINDING retransmit as §4.4.5 says, after half the time left
 * to T2 (or to expiry), but no sooner than `renewRetryMinMs`. An ACKed address goes through the
 * `addressCheck` hook first (ARP, the board): one reported in use is DECLINEd and the client
 * waits `declineWaitMs` before starting over. `release()` (and the context going to
 * CONTEXT_DESTROYING, through DhcpNotifier) sends RELEASE.
 *
 * All traffic goes through one DatagramPort named "dhcp" on 0.0.0.0:68 with broadcast enabled,
 * so `dhcp/udp_tx_loss` and `dhcp/udp_rx_loss` faults apply to it. Every request sets the BOOTP
 * broadcast flag, because until the address is configured the interface cannot receive a unicast
 * reply; in RENEWING and REBINDING ciaddr is set and servers answer to it.
 *
 * Choices where the RFC leaves room: the first acceptable OFFER is taken (no waiting for more);
 * an unanswered INIT-REBOOT goes to INIT rather than using the remembered lease (we do not know
 * how much of it is left); NAKs and failed exchanges start over at once the first time, then
 * paced by the retry table; the RFC's random 1-10 s wait before the first DISCOVER is left to
 * the board (boot timing already differs per device). An `addressCheck` that never settles
 * leaves the client in REQUESTING: the hook owns its own timeout.
 *
 * The lease is applied with `ctx.netif.bound()` (the board's configureInterface op, and the
 * boot walk's DHCP state released), on every ACK including renewals; `onLease` hands it to
 * whoever wants its DNS and NTP servers, `onLeaseLost` says when it must no longer be used.
 */
import type { Context } from '../../loop/context.js';
import { RetryState, getDelayMs, makeRetryPolicy } from '../../loop/retry.js';
import type { RetryPolicy } from '../../loop/retry.js';
import { Sul } from '../../loop/sul.js';
import { DatagramPort } from '../../net/dgram.js';
import type { Datagram } from '../../net/host.js';
import { UdpTransaction } from '../../net/udp-transaction.js';
import type { InterfaceConfig } from '../../system/ops.js';
import { UsageError } from '../../util/errors.js';
import { DhcpLeaseError, DhcpParseError } from './errors.js';
import { ipv4FromString, ipv4ToString, macFromString } from './ipv4.js';
import { DHCP_INFINITE_LEASE, leaseFromReply } from './lease.js';
import type { DhcpLease } from './lease.js';
import { DHCP_MESSAGE_TYPE_NAMES, DhcpMessageType } from './options.js';
import { BOOTREPLY, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, HTYPE_ETHERNET, parseDhcp } from './packet.js';
import type { DhcpPacket } from './packet.js';
import { buildClientMessage } from './request.js';
import type { ClientIdentity } from './request.js';

export type DhcpState = 'STOPPED' | 'INIT' | 'SELECTING' | 'REQUESTING' | 'BOUND' | 'RENEWING' | 'REBINDING' | 'INIT-REBOOT' | 'REBOOTING';

export type DhcpLeaseLostReason = 'expired' | 'nak' | 'released';

/** What the addressCheck hook says about an offered address. */
export type DhcpAddressVerdict = 'ok' | 'in-use';

export interface DhcpTransmit {
  type: string;
  to: string;
  xid: number;
  state: DhcpState;
  /** false when fault injection (or a closed socket) ate it */
  sent: boolean;
}

/**
 * RFC 2131 §4.1: 4 s, doubling to 64 s, randomised. lws jitter only adds, so 25 % gives
 * 4..5 s, 8..10 s, …; five transmissions, then the exchange starts over.
 */
export const DHCP_RETRY_RFC2131: RetryPolicy = makeRetryPolicy({ table: [4000, 8000, 16000, 32000, 64000], conceal: 4, jitterPercent: 25 });

export interface DhcpClientOptions {
  /** the interface the lease is for (InterfaceConfig.name) */
  ifname: string;
  /** its MAC, "aa:bb:cc:dd:ee:ff": chaddr and the client identifier (61) */
  mac: string;
  /** sent as option 12 (dnsmasq registers it in its DNS) */
  hostname?: string;
  /** retransmission of DISCOVER and of REQUEST while selecting or rebooting; default DHCP_RETRY_RFC2131 */
  retry?: RetryPolicy;
  /** the shortest wait between REQUESTs while RENEWING/REBINDING (RFC: 60 s) */
  renewRetryMinMs?: number;
  /** how long to wait after a DECLINE before starting over (RFC: at least 10 s) */
  declineWaitMs?: number;
  /** a lease remembered from before (a reboot): start in INIT-REBOOT and ask for it back */
  previousLease?: { address: string };
  /** checks an ACKed address before it is used; 'in-use' DECLINEs it */
  addressCheck?: (lease: DhcpLease) => DhcpAddressVerdict | Promise<DhcpAddressVerdict>;
  /** a lease was applied: the first, or a renewal/rebinding (`renewed`) */
  onLease?: (lease: DhcpLease, renewed: boolean) => void;
  /** the lease may no longer be used: the address must come off the interface */
  onLeaseLost?: (reason: DhcpLeaseLostReason, lease: DhcpLease) => void;
  onState?: (state: DhcpState, from: DhcpState) => void;
  onTransmit?: (t: DhcpTransmit) => void;
}

export interface DhcpStats {
  /** requests handed to the socket, dropped by faults included */
  transmissions: number;
  /** per message type: DISCOVER, REQUEST, DECLINE, RELEASE */
  sent: Record<string, number>;
  /** replies parsed and matched to our exchange */
  received: number;
  /** datagrams that were not DHCP (DhcpParseError) */
  malformed: number;
  /** offers and ACKs whose lease did not pass leaseFromReply */
  rejected: number;
  /** leases applied (first binds and renewals) */
  leases: number;
  naks: number;
  declines: number;
}

const BROADCAST = '255.255.255.255';

export class DhcpClient {
  readonly stats: DhcpStats = { transmissions: 0, sent: {}, received: 0, malformed: 0, rejected: 0, leases: 0, naks: 0, declines: 0 };
  private readonly ctx: Context;
  private readonly opts: DhcpClientOptions;
  private readonly mac: Uint8Array;
  private readonly identity: ClientIdentity;
  private readonly policy: RetryPolicy;
  private readonly renewMinUs: number;
  private readonly declineWaitUs: number;
  private st: DhcpState = 'STOPPED';
  private port: DatagramPort | undefined;
  private xid = 0;
  private txn: UdpTransaction | undefined;
  /** when this acquisition or renewal began: the secs field */
  private exchangeStartUs = 0;
  /** when the request now outstanding was first sent: the lease counts from it */
  private requestSentUs = 0;
  private offered: { address: number; serverId: number } | undefined;
  private current: DhcpLease | undefined;
  /** an address we believe is still leased to us: asked back in INIT-REBOOT */
  private rebootAddress: number | undefined;
  /** our last address, suggested in DISCOVER (option 50) */
  private hintAddress: number | undefined;
  private t2At = 0;
  private expiryAt = 0;
  private readonly leaseSul = new Sul();
  private readonly retxSul = new Sul();
  private readonly restartSul = new Sul();
  /** consecutive starts over without a lease: the first is at once, then the retry table */
  private restarts = 0;
  private readonly restartRetry = new RetryState();
  /** an addressCheck is running for an ACK; replies meanwhile are ignored */
  private checking = false;
  /** bumped whenever an exchange is abandoned, so a late addressCheck result is ignored */
  private generation = 0;

  constructor(ctx: Context, opts: DhcpClientOptions) {
    if (typeof opts?.ifname !== 'string' || !opts.ifname) throw new UsageError('ERR_DHCP_OPTION', 'dhcp: ifname must be a non-empty string', { field: 'ifname' });
    this.ctx = ctx;
    this.opts = opts;
    this.mac = macFromString(opts.mac);
    this.identity = opts.hostname === undefined ? { mac: this.mac } : { mac: this.mac, hostname: opts.hostname };
    this.policy = opts.retry ?? DHCP_RETRY_RFC2131;
    this.renewMinUs = nonNegativeMs('renewRetryMinMs', opts.renewRetryMinMs, 60_000) * 1000;
    this.declineWaitUs = nonNegativeMs('declineWaitMs', opts.declineWaitMs, 10_000) * 1000;
    if (opts.previousLease) this.rebootAddress = ipv4FromString(opts.previousLease.address);
    if (opts.hostname !== undefined && (typeof opts.hostname !== 'string' || !/^[A-Za-z0-9-]{1,63}$/.test(opts.hostname))) {
      throw new UsageError('ERR_DHCP_OPTION', 'dhcp: hostname must be 1..63 letters, digits or hyphens', { field: 'hostname' });
    }
  }

  get state(): DhcpState {
    return this.st;
  }

  /** The lease in force (BOUND, RENEWING, REBINDING), or undefined. */
  get lease(): DhcpLease | undefined {
    return this.current;
  }

  /** Starts acquiring a lease (INIT-REBOOT when one is remembered). No-op unless STOPPED. */
  start(): void {
    if (this.st !== 'STOPPED') return;
    this.restarts = 0;
    this.restartRetry.reset();
    if (this.rebootAddress !== undefined) this.startReboot(this.rebootAddress);
    else this.startDiscover();
  }

  /** Gives the lease back (RELEASE, unicast to its server) and stops. */
  release(): void {
    const l = this.current;
    if (l) {
      this.newXid();
      this.exchangeStartUs = this.ctx.nowUs();
      this.send(DhcpMessageType.RELEASE, l.serverId, { ciaddr: ipv4FromString(l.address), serverId: ipv4FromString(l.serverId), flags: 0 });
      this.ctx.logger.notice('dhcp', 'released', { ifname: this.opts.ifname, address: l.address, server: l.serverId });
      this.lose('released');
      this.rebootAddress = undefined;
    }
    this.stop();
  }

  /**
   * Stops without giving the lease back: timers and socket go, and a lease still held is
   * remembered for INIT-REBOOT at the next start().
   */
  stop(): void {
    if (this.current) this.rebootAddress = ipv4FromString(this.current.address);
    this.current = undefined;
    this.abandonExchange();
    this.ctx.cancel(this.leaseSul);
    this.ctx.cancel(this.restartSul);
    this.port?.close();
    this.port = undefined;
    this.setState('STOPPED');
  }

  private setState(s: DhcpState): void {
    if (s === this.st) return;
    const from = this.st;
    this.st = s;
    this.ctx.logger.info('dhcp', `${from} -> ${s}`, { ifname: this.opts.ifname });
    this.opts.onState?.(s, from);
  }

  private newXid(): void {
    // 32 random bits, from the context's entropy (lws_get_random)
    this.xid = ((this.ctx.random16() << 16) | this.ctx.random16()) >>> 0;
  }

  /** Drops whatever exchange is running: its transaction, retransmissions and a pending check. */
  private abandonExchange(): void {
    this.txn?.done();
    this.txn = undefined;
    this.ctx.cancel(this.retxSul);
    this.checking = false;
    this.generation++;
  }

  // ---- acquiring

  private startDiscover(): void {
    this.abandonExchange();
    this.offered = undefined;
    this.setState('INIT');
    this.newXid();
    this.exchangeStartUs = this.ctx.nowUs();
    this.setState('SELECTING');
    const hint = this.hintAddress;
    this.exchange(
      'DISCOVER',
      () => this.send(DhcpMessageType.DISCOVER, BROADCAST, hint === undefined ? {} : { requestedIp: hint }),
      () => this.startOver('no OFFER'),
    );
  }

  private startReboot(address: number): void {
    this.abandonExchange();
    this.rebootAddress = undefined; // asked once; if that fails, INIT asks for a new one
    this.hintAddress = address;
    this.setState('INIT-REBOOT');
    this.newXid();
    this.exchangeStartUs = this.ctx.nowUs();
    this.setState('REBOOTING');
    this.exchange(
      'REQUEST (INIT-REBOOT)',
      () => this.send(DhcpMessageType.REQUEST, BROADCAST, { requestedIp: address }),
      () => this.startOver('no answer to INIT-REBOOT'),
    );
  }

  private exchange(what: string, transmit: () => void, onTimeout: () => void): void {
    this.txn?.done();
    const txn = new UdpTransaction(
      this.ctx,
      this.policy,
      (attempt) => {
        if (attempt === 1) this.requestSentUs = this.ctx.nowUs();
        transmit();
      },
      (e) => {
        if (this.txn !== txn) return;
        this.txn = undefined;
        this.ctx.logger.warn('dhcp', e.message, { ifname: this.opts.ifname, code: e.code });
        onTimeout();
      },
      `dhcp ${what} xid 0x${this.xid.toString(16)}`,
    );
    this.txn = txn;
    txn.start();
  }

  /** Back to INIT: at once the first time, then paced by the retry table (a NAKing server must not make us spin). */
  private startOver(why: string, delayUs?: number): void {
    this.abandonExchange();
    this.setState('INIT');
    const wait = delayUs ?? (this.restarts++ === 0 ? 0 : getDelayMs(this.policy, this.restartRetry, this.ctx.random16).ms * 1000);
    this.ctx.logger.notice('dhcp', `starting over: ${why}`, { ifname: this.opts.ifname, waitMs: wait / 1000 });
    this.ctx.schedule(this.restartSul, wait, () => this.startDiscover());
  }

  // ---- the lease's life

  private bind(lease: DhcpLease): void {
    const renewed = this.current !== undefined;
    this.abandonExchange();
    this.current = lease;
    this.hintAddress = ipv4FromString(lease.address);
    this.restarts = 0;
    this.restartRetry.reset();
    this.stats.leases++;
    this.setState('BOUND');
    this.ctx.logger.notice('dhcp', renewed ? 'lease renewed' : 'bound', {
      ifname: this.opts.ifname,
      address: `${lease.address}/${lease.prefixLength}`,
      server: lease.serverId,
      leaseSecs: lease.leaseSecs,
      t1Secs: lease.t1Secs,
      t2Secs: lease.t2Secs,
    });
    const cfg: InterfaceConfig = {
      name: this.opts.ifname,
      address: { family: 'IPv4', address: lease.address, prefixLength: lease.prefixLength },
      dns: lease.dns.slice(),
      ntp: lease.ntp.slice(),
      leaseSecs: lease.leaseSecs,
    };
    if (lease.routers.length) cfg.router = lease.routers[0] as string;
    try {
      this.ctx.netif.bound(cfg);
    } catch (e) {
      // the board could not apply it; the lease is still ours and renewal will apply it again
      this.ctx.logger.err('dhcp', `configureInterface failed: ${(e as Error)?.message ?? String(e)}`, { ifname: this.opts.ifname });
    }
    this.opts.onLease?.(lease, renewed);
    if (this.st !== 'BOUND' || this.current !== lease) return; // onLease released or stopped us
    if (lease.leaseSecs === DHCP_INFINITE_LEASE) {
      this.ctx.cancel(this.leaseSul);
      return;
    }
    const at = (secs: number): number => lease.startUs + Math.round(secs * 1e6);
    this.t2At = at(lease.t2Secs);
    this.expiryAt = at(lease.leaseSecs);
    this.ctx.scheduleAt(this.leaseSul, at(lease.t1Secs), () => this.enterRenewing());
  }

  private enterRenewing(): void {
    const l = this.current as DhcpLease;
    this.setState('RENEWING');
    this.newXid();
    this.exchangeStartUs = this.requestSentUs = this.ctx.nowUs();
    this.ctx.scheduleAt(this.leaseSul, this.t2At, () => this.enterRebinding());
    this.renewRequest(l.serverId, this.t2At);
  }

  private enterRebinding(): void {
    this.ctx.cancel(this.retxSul);
    this.setState('REBINDING');
    // the xid and the lease start stay: a late ACK to the unicast REQUEST is just as good
    this.ctx.scheduleAt(this.leaseSul, this.expiryAt, () => this.expire());
    this.renewRequest(BROADCAST, this.expiryAt);
  }

  /** One REQUEST with ciaddr set; the next after half the time left to `untilUs` (§4.4.5). */
  private renewRequest(to: string, untilUs: number): void {
    const l = this.current as DhcpLease;
    this.send(DhcpMessageType.REQUEST, to, { ciaddr: ipv4FromString(l.address) });
    const now = this.ctx.nowUs();
    const next = now + Math.max(this.renewMinUs, (untilUs - now) / 2);
    if (next < untilUs) this.ctx.scheduleAt(this.retxSul, next, () => this.renewRequest(to, untilUs));
  }

  private expire(): void {
    this.ctx.logger.warn('dhcp', 'lease expired', { ifname: this.opts.ifname, address: this.current?.address });
    this.lose('expired');
    this.startOver('lease expired', 0);
  }

  private lose(reason: DhcpLeaseLostReason): void {
    const l = this.current;
    this.current = undefined;
    this.ctx.cancel(this.leaseSul);
    this.ctx.cancel(this.retxSul);
    if (l) this.opts.onLeaseLost?.(reason, l);
  }

  // ---- receiving

  private onDatagram(d: Datagram): void {
    if (d.port !== DHCP_SERVER_PORT) return;
    let p: DhcpPacket;
    try {
      p = parseDhcp(new Uint8Array(d.data));
    } catch (e) {
      if (!(e instanceof DhcpParseError)) throw e;
      this.stats.malformed++;
      this.ctx.logger.debug('dhcp', e.message, { from: d.address, offset: e.detail?.['offset'] });
      return;
    }
    if (p.op !== BOOTREPLY || p.htype !== HTYPE_ETHERNET || p.hlen !== 6 || p.xid !== this.xid || !sameBytes(p.chaddr, this.mac)) return;
    if (this.checking) return;
    const type = p.options.messageType;
    switch (this.st) {
      case 'SELECTING':
        if (type === DhcpMessageType.OFFER) this.onOffer(p);
        return;
      case 'REQUESTING':
      case 'REBOOTING':
      case 'RENEWING':
      case 'REBINDING':
        if (type === DhcpMessageType.ACK) this.onAck(p);
        else if (type === DhcpMessageType.NAK) this.onNak(p);
        return;
      default:
        return; // BOUND, INIT, STOPPED: nothing is outstanding
    }
  }

  private accepted(p: DhcpPacket, startUs: number): DhcpLease | undefined {
    try {
      return leaseFromReply(p, startUs, (field, why, value) => this.ctx.logger.warn('dhcp', `${field} ${why}`, { value }));
    } catch (e) {
      if (!(e instanceof DhcpLeaseError)) throw e;
      this.stats.rejected++;
      this.ctx.logger.warn('dhcp', e.message, { ifname: this.opts.ifname, ...e.detail });
      return undefined;
    }
  }

  private onOffer(p: DhcpPacket): void {
    // the first usable offer wins, as udhcpc and lws do: §4.4.1 lets us choose
    if (!this.accepted(p, 0)) return;
    this.stats.received++;
    const offer = { address: p.yiaddr, serverId: p.options.serverId as number };
    this.txn?.done();
    this.offered = offer;
    this.setState('REQUESTING');
    this.exchange(
      'REQUEST',
      () => this.send(DhcpMessageType.REQUEST, BROADCAST, { requestedIp: offer.address, serverId: offer.serverId }),
      () => this.startOver('no ACK'),
    );
  }

  /** The server this state's reply must come from, or undefined when any may answer. */
  private expectedServer(): number | undefined {
    if (this.st === 'REQUESTING') return this.offered?.serverId;
    if (this.st === 'RENEWING') return ipv4FromString((this.current as DhcpLease).serverId);
    return undefined;
  }

  private expectedAddress(): number | undefined {
    if (this.st === 'REQUESTING') return this.offered?.address;
    if (this.st === 'REBOOTING') return this.hintAddress;
    return this.current ? ipv4FromString(this.current.address) : undefined;
  }

  private onAck(p: DhcpPacket): void {
    const server = this.expectedServer();
    if (p.yiaddr !== this.expectedAddress() || (server !== undefined && p.options.serverId !== server)) {
      this.ctx.logger.debug('dhcp', 'ACK for another address or from another server: ignored', { yiaddr: ipv4ToString(p.yiaddr) });
      return;
    }
    const lease = this.accepted(p, this.requestSentUs);
    if (!lease) return;
    this.stats.received++;
    if (this.st === 'RENEWING' || this.st === 'REBINDING') {
      this.bind(lease);
      return;
    }
    // a new address: §4.4.1 says check it is not in use before taking it
    this.txn?.done();
    this.txn = undefined;
    const check = this.opts.addressCheck;
    if (!check) {
      this.bind(lease);
      return;
    }
    this.checking = true;
    const gen = this.generation;
    const decide = (v: DhcpAddressVerdict): void => {
      if (gen !== this.generation || !this.checking) return;
      this.checking = false;
      if (v === 'in-use') this.decline(lease);
      else this.bind(lease);
    };
    const failed = (e: unknown): void => {
      // no verdict is not "in use": declining on a broken check would refuse every address
      this.ctx.logger.err('dhcp', `addressCheck failed: ${(e as Error)?.message ?? String(e)}`, { address: lease.address });
      decide('ok');
    };
    let v: DhcpAddressVerdict | Promise<DhcpAddressVerdict>;
    try {
      v = check(lease);
    } catch (e) {
      failed(e);
      return;
    }
    if (typeof (v as Promise<DhcpAddressVerdict>)?.then === 'function') (v as Promise<DhcpAddressVerdict>).then(decide, failed);
    else decide(v as DhcpAddressVerdict);
  }

  private onNak(p: DhcpPacket): void {
    const server = this.expectedServer();
    if (server !== undefined && p.options.serverId !== undefined && p.options.serverId !== server) return;
    this.stats.received++;
    this.stats.naks++;
    this.ctx.logger.notice('dhcp', 'NAK', {
      ifname: this.opts.ifname,
      state: this.st,
      server: p.options.serverId === undefined ? undefined : ipv4ToString(p.options.serverId),
      message: p.options.message,
    });
    // the server says this address is wrong here: do not ask for it again
    this.hintAddress = undefined;
    this.lose('nak');
    this.startOver('NAK');
  }

  private decline(lease: DhcpLease): void {
    this.stats.declines++;
    this.ctx.logger.warn('dhcp', 'address in use: declined', { ifname: this.opts.ifname, address: lease.address, server: lease.serverId });
    // RFC 2131 table 5: DECLINE (like RELEASE) has flags 0, since no reply comes
    this.send(DhcpMessageType.DECLINE, BROADCAST, { requestedIp: ipv4FromString(lease.address), serverId: ipv4FromString(lease.serverId), flags: 0 });
    this.hintAddress = undefined;
    this.startOver('declined', this.declineWaitUs);
  }

  // ---- sending

  private ensurePort(): DatagramPort {
    this.port ??= new DatagramPort(this.ctx, {
      name: 'dhcp',
      address: '0.0.0.0',
      port: DHCP_CLIENT_PORT,
      broadcast: true,
      onDatagram: (d) => this.onDatagram(d),
      onError: (e) => {
        // the socket is gone (bind refused, interface gone): the next send opens a new one
        this.ctx.logger.err('dhcp', `socket failed: ${e?.message ?? 'unknown error'}`, { ifname: this.opts.ifname });
        this.port?.close();
        this.port = undefined;
      },
    });
    return this.port;
  }

  private send(type: DhcpMessageType, to: string, f: { ciaddr?: number; requestedIp?: number; serverId?: number; flags?: number }): void {
    const secs = (this.ctx.nowUs() - this.exchangeStartUs) / 1e6;
    const bytes = buildClientMessage(type, this.identity, { xid: this.xid, secs, ...f });
    const name = DHCP_MESSAGE_TYPE_NAMES[type];
    this.stats.transmissions++;
    this.stats.sent[name] = (this.stats.sent[name] ?? 0) + 1;
    let sent = false;
    try {
      sent = this.ensurePort().send(bytes, to, DHCP_SERVER_PORT);
    } catch (e) {
      this.ctx.logger.err('dhcp', `${name} not sent: ${(e as Error)?.message ?? String(e)}`, { to });
      this.port?.close();
      this.port = undefined;
    }
    this.ctx.logger.debug('dhcp', `${name} -> ${to}`, { xid: this.xid, sent });
    this.opts.onTransmit?.({ type: name, to, xid: this.xid, state: this.st, sent });
  }
}

function nonNegativeMs(field: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 0) throw new UsageError('ERR_DHCP_OPTION', `dhcp: ${field} must be a whole number of ms >= 0`, { field, value: v });
  return v;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
