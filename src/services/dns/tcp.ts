/**
 * One DNS exchange over TCP (RFC 1035 section 4.2.2, RFC 7766): what the resolver does when a
 * UDP answer comes back truncated. Each message is preceded by its length as two bytes, big
 * endian. We connect, write the query once the host says the socket is writable (that is also
 * how a completed connect is signalled), gather the reply across however many reads it takes
 * (the length prefix itself may be split), then close.
 *
 * Bounded: the reply is at most 65535 bytes by construction of the prefix, a reply shorter than
 * a DNS header is refused at once, and the whole exchange has a deadline.
 */
import { Sul } from '../../loop/sul.js';
import type { Host, TCP } from '../../net/host.js';
import type { TxnLoop } from '../../net/udp-transaction.js';
import type { DnsServer } from './servers.js';

export type TcpFailure = { code: 'ERR_DNS_TCP' | 'ERR_DNS_TIMEOUT' | 'ERR_DNS_MALFORMED'; why: string; cause?: unknown };

export interface TcpLoop extends TxnLoop {
  readonly host: Host;
  defer(fn: () => void): void;
}

export class DnsTcpExchange {
  private sock: TCP | undefined;
  private readonly deadline = new Sul();
  private sent = false;
  private finished = false;
  private readonly prefix = new Uint8Array(2);
  private prefixHave = 0;
  private reply: Uint8Array | undefined;
  private replyHave = 0;

  constructor(
    private readonly loop: TcpLoop,
    readonly server: DnsServer,
    private readonly query: Uint8Array,
    private readonly timeoutUs: number,
    private readonly onDone: (reply: Uint8Array | undefined, failure: TcpFailure | undefined) => void,
  ) {}

  start(): void {
    this.loop.scheduleAt(this.deadline, this.loop.nowUs() + this.timeoutUs, () =>
      this.finish(undefined, { code: 'ERR_DNS_TIMEOUT', why: `no TCP answer within ${this.timeoutUs / 1000} ms` }),
    );
    try {
      this.sock = this.loop.host.tcp({
        address: this.server.address,
        port: this.server.port,
        nodelay: true,
        onWritable: () => this.writeQuery(),
        onReadable: () => this.readReply(),
        onError: (e?: Error) => this.finish(undefined, { code: 'ERR_DNS_TCP', why: e?.message ?? 'connection failed', cause: e }),
      });
    } catch (e) {
      // report from the loop, not from inside whoever started us
      this.loop.defer(() => this.finish(undefined, { code: 'ERR_DNS_TCP', why: (e as Error)?.message ?? String(e), cause: e }));
    }
  }

  /** Stops without reporting. */
  cancel(): void {
    this.finished = true;
    this.close();
  }

  private writeQuery(): void {
    if (this.sent || this.finished || !this.sock) return;
    this.sent = true;
    const framed = new Uint8Array(this.query.length + 2);
    framed[0] = this.query.length >>> 8;
    framed[1] = this.query.length & 0xff;
    framed.set(this.query, 2);
    // write() takes every byte (it queues); its return value is only back-pressure advice
    this.sock.write(framed);
  }

  private readReply(): void {
    for (;;) {
      if (this.finished || !this.sock) return;
      const chunk = this.sock.read();
      if (!chunk) return;
      const bytes = new Uint8Array(chunk);
      let at = 0;
      while (at < bytes.length && this.prefixHave < 2) this.prefix[this.prefixHave++] = bytes[at++] as number;
      if (this.prefixHave < 2) continue;
      if (!this.reply) {
        const len = ((this.prefix[0] as number) << 8) | (this.prefix[1] as number);
        if (len < 12) {
          this.finish(undefined, { code: 'ERR_DNS_MALFORMED', why: `TCP answer length ${len} is shorter than a DNS header` });
          return;
        }
        this.reply = new Uint8Array(len);
      }
      const take = Math.min(bytes.length - at, this.reply.length - this.replyHave);
      this.reply.set(bytes.subarray(at, at + take), this.replyHave);
      this.replyHave += take;
      // bytes past the reply would be a message we never asked for: ignored
      if (this.replyHave === this.reply.length) {
        this.finish(this.reply, undefined);
        return;
      }
    }
  }

  private finish(reply: Uint8Array | undefined, failure: TcpFailure | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.close();
    this.onDone(reply, failure);
  }

  private close(): void {
    this.loop.cancel(this.deadline);
    const s = this.sock;
    this.sock = undefined;
    s?.close();
  }
}
