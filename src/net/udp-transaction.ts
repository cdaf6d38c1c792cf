/**
 * One request/response exchange over UDP, as lws's README.udp describes: the transaction owns
 * its retry timer (a sul) and its retry counter, driven by a retry policy. Each concealed
 * failure retransmits after the policy's delay; when the policy stops concealing, the last
 * transmission still gets that delay to be answered, then the transaction fails with a typed
 * timeout. A reply (`done()`) cancels everything.
 */
import { RetryState, getDelayMs } from '../loop/retry.js';
import type { RetryPolicy } from '../loop/retry.js';
import { Sul } from '../loop/sul.js';
import { LwsxError } from '../util/errors.js';

export class UdpTimeoutError extends LwsxError {}

export interface TxnLoop {
  nowUs(): number;
  scheduleAt(sul: Sul, atUs: number, cb?: (sul: Sul) => void): void;
  cancel(sul: Sul): void;
  random16(): number;
}

export class UdpTransaction {
  readonly retry = new RetryState();
  /** how many times the request went out */
  transmissions = 0;
  private readonly sul = new Sul();
  private finalWait = false;
  private running = false;

  constructor(
    private readonly loop: TxnLoop,
    private readonly policy: RetryPolicy,
    /** (re)sends the request; `attempt` counts from 1 */
    private readonly transmit: (attempt: number) => void,
    private readonly onTimeout: (e: UdpTimeoutError) => void,
    /** what this is, for the error: "dns query example.com A" */
    private readonly what: string,
  ) {}

  get active(): boolean {
    return this.running;
  }

  start(): void {
    this.running = true;
    this.finalWait = false;
    this.retry.reset();
    this.transmissions = 0;
    this.send();
  }

  /** The reply came (or the owner gave up): stop retrying. */
  done(): void {
    this.running = false;
    this.loop.cancel(this.sul);
  }

  private send(): void {
    this.transmissions++;
    this.transmit(this.transmissions);
    if (!this.running) return; // transmit may have completed or cancelled us
    const d = getDelayMs(this.policy, this.retry, () => this.loop.random16());
    this.finalWait = !d.conceal;
    this.loop.scheduleAt(this.sul, this.loop.nowUs() + d.ms * 1000, () => this.onTimer());
  }

  private onTimer(): void {
    if (!this.running) return;
    if (!this.finalWait) {
      this.send();
      return;
    }
    this.running = false;
    this.onTimeout(
      new UdpTimeoutError('ERR_UDP_TIMEOUT', `${this.what}: no answer after ${this.transmissions} transmissions`, {
        what: this.what,
        transmissions: this.transmissions,
      }),
    );
  }
}
