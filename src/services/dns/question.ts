/**
 * One question on the wire: a name and a type (A or AAAA), asked until it has an answer it can
 * trust or it runs out of tries. It ends exactly once, with a decoded reply or a typed failure.
 *
 * UDP first, retransmitted on the retry policy's schedule by a UdpTransaction that owns this
 * question's timer and counter; each retransmission goes to the next server in the ranking
 * (the one that just timed out is marked so). A reply must come from a server we asked, carry
 * our id, decode, be a response and echo our question; one that fails those last checks is a
 * malformed answer. A truncated reply (TC) is asked again, same id, over TCP to the server that
 * truncated it.
 */
import type { RetryPolicy } from '../../loop/retry.js';
import { UdpTransaction } from '../../net/udp-transaction.js';
import { DnsClass, DnsFlag, decodeMessage, encodeQuery, rcodeOf } from './codec.js';
import type { DnsMessage } from './codec.js';
import { DnsLookupError, DnsParseError } from './errors.js';
import type { DnsLookupCode } from './errors.js';
import { lowerAscii } from './name.js';
import type { DnsServer } from './servers.js';
import { DnsTcpExchange } from './tcp.js';
import type { TcpFailure } from './tcp.js';
import type { DnsLoop, DnsReceiver, DnsTransport } from './transport.js';

export interface QuestionDeps {
  readonly loop: DnsLoop;
  readonly transport: DnsTransport;
  readonly retry: RetryPolicy;
  readonly tcpTimeoutUs: number;
  /** counts for the resolver's stats */
  readonly counters: { questions: number; transmissions: number; tcp: number };
}

export type QuestionResult = { reply: DnsMessage; server: DnsServer } | { error: DnsLookupError };

const TYPE_NAMES: Record<number, string> = { 1: 'A', 28: 'AAAA' };

interface Sent {
  count: number;
  firstUs: number;
}

export class DnsQuestion implements DnsReceiver {
  readonly askedServers = new Map<string, DnsServer>();
  private readonly sent = new Map<DnsServer, Sent>();
  private readonly id: number;
  private readonly query: Uint8Array;
  private readonly txn: UdpTransaction;
  private tcp: DnsTcpExchange | undefined;
  /** the servers, best first: transmission n goes to order[(n - 1) % length] */
  private readonly order: DnsServer[];
  private lastServer: DnsServer | undefined;
  private ended = false;

  constructor(
    private readonly deps: QuestionDeps,
    /** canonical name */
    readonly name: string,
    readonly qtype: number,
    servers: readonly DnsServer[],
    private readonly onEnd: (r: QuestionResult) => void,
  ) {
    this.order = servers.slice();
    this.id = deps.transport.allocateId(this);
    this.query = encodeQuery(this.id, name, qtype);
    this.txn = new UdpTransaction(
      deps.loop,
      deps.retry,
      (attempt) => this.transmit(attempt),
      () => {
        if (this.lastServer) this.lastServer.timedOut(this.deps.loop.nowUs());
        this.fail('ERR_DNS_TIMEOUT', `no answer after ${this.txn.transmissions} transmissions`, { transmissions: this.txn.transmissions });
      },
      `dns ${this.what}`,
    );
  }

  get what(): string {
    return `${this.name} ${TYPE_NAMES[this.qtype] ?? this.qtype}`;
  }

  start(): void {
    this.deps.counters.questions++;
    this.txn.start();
  }

  /** Stops without reporting. */
  cancel(): void {
    if (this.ended) return;
    this.ended = true;
    this.cleanup();
  }

  onDatagram(bytes: Uint8Array, server: DnsServer): void {
    if (this.ended || !this.txn.active) return; // a late UDP copy while TCP is under way
    this.txn.done();
    const s = this.sent.get(server);
    const now = this.deps.loop.nowUs();
    // Karn: a server asked more than once gives no RTT sample; which copy was answered is unknown
    server.answered(s && s.count === 1 ? now - s.firstUs : undefined);
    this.accept(bytes, server, 'udp');
  }

  private transmit(attempt: number): void {
    const n = this.order.length;
    const server = this.order[(attempt - 1) % n] as DnsServer;
    if (attempt > 1 && this.lastServer) this.lastServer.timedOut(this.deps.loop.nowUs());
    this.lastServer = server;
    this.askedServers.set(server.key, server);
    const s = this.sent.get(server);
    if (s) s.count++;
    else this.sent.set(server, { count: 1, firstUs: this.deps.loop.nowUs() });
    this.deps.counters.transmissions++;
    try {
      this.deps.transport.send(this.query, server);
    } catch (e) {
      this.txn.done();
      // end from the loop: we may be inside start(), inside the caller's resolve()
      this.deps.loop.defer(() => this.fail('ERR_DNS_SOCKET', `cannot send to ${server.key}: ${(e as Error)?.message ?? String(e)}`, { server: server.key }, e));
    }
  }

  private accept(bytes: Uint8Array, server: DnsServer, via: 'udp' | 'tcp'): void {
    let msg: DnsMessage;
    try {
      msg = decodeMessage(bytes);
    } catch (e) {
      if (!(e instanceof DnsParseError)) throw e;
      this.fail('ERR_DNS_MALFORMED', `${server.key} sent an undecodable answer: ${e.message}`, { server: server.key, via, offset: e.detail?.['offset'] }, e);
      return;
    }
    const problem = this.mismatch(msg);
    if (problem) {
      this.fail('ERR_DNS_MALFORMED', `${server.key} answered badly: ${problem}`, { server: server.key, via });
      return;
    }
    if (via === 'udp' && msg.flags & DnsFlag.TC) {
      this.startTcp(server);
      return;
    }
    this.ended = true;
    this.cleanup();
    this.onEnd({ reply: msg, server });
  }

  /** Why `msg` is not an answer to our question, or undefined when it is. */
  private mismatch(msg: DnsMessage): string | undefined {
    if (!(msg.flags & DnsFlag.QR)) return 'not a response (QR clear)';
    if ((msg.flags >> 11) & 0xf) return `opcode ${(msg.flags >> 11) & 0xf}`;
    // some servers drop the question from an error reply: the rcode still stands
    if (msg.questions.length === 0 && rcodeOf(msg) !== 0) return undefined;
    const q = msg.questions[0];
    if (msg.questions.length !== 1 || !q) return `${msg.questions.length} questions echoed`;
    if (lowerAscii(q.name) !== this.name || q.type !== this.qtype || q.class !== DnsClass.IN) {
      return `it echoes ${q.name}/${q.type}/${q.class}, not our question`;
    }
    return undefined;
  }

  private startTcp(server: DnsServer): void {
    this.deps.counters.tcp++;
    this.deps.loop.logger.info('dns', `${this.what}: truncated over UDP, asking ${server.key} over TCP`);
    this.tcp = new DnsTcpExchange(this.deps.loop, server, this.query, this.deps.tcpTimeoutUs, (reply, failure) => this.onTcp(server, reply, failure));
    this.tcp.start();
  }

  private onTcp(server: DnsServer, reply: Uint8Array | undefined, failure: TcpFailure | undefined): void {
    this.tcp = undefined;
    if (this.ended) return;
    if (reply) {
      this.accept(reply, server, 'tcp');
      return;
    }
    const f = failure as TcpFailure;
    this.fail(f.code, `TCP to ${server.key}: ${f.why}`, { server: server.key, via: 'tcp' }, f.cause);
  }

  private fail(code: DnsLookupCode, why: string, detail: Record<string, unknown>, cause?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.cleanup();
    const error = new DnsLookupError(code, `dns ${this.what}: ${why}`, { name: this.name, qtype: this.qtype, ...detail }, cause);
    this.onEnd({ error });
  }

  private cleanup(): void {
    this.txn.done();
    this.tcp?.cancel();
    this.tcp = undefined;
    this.deps.transport.releaseId(this.id, this);
  }
}
