/**
 * One name being looked up on the network: an A chase and/or an AAAA chase, merged into one
 * result when both have ended.
 *
 * A chase asks its question; when the answer is a CNAME chain that stops short, it asks again
 * at the chain's end, at most `maxRestarts` times. This is a loop driven by answers arriving on
 * the event loop, never recursion: each answer starts at most one new question and returns.
 *
 * Merging, for a lookup of both families:
 *  - any addresses → success. If the other family failed transiently (timeout, SERVFAIL…) the
 *    addresses are still delivered, as getaddrinfo does, but not cached, so the next lookup asks
 *    again; if it said "no data" the result is complete and cacheable;
 *  - else NXDOMAIN if either said so (it is about the name, whatever the type);
 *  - else the first transient error; else NODATA.
 * The cache TTL is the smallest TTL of every record used, the CNAMEs of every restart included.
 */
import { DnsType } from './codec.js';
import { interpretAnswer } from './answer.js';
import type { DnsAddress } from './cache.js';
import { DnsLookupError } from './errors.js';
import type { QuestionDeps, QuestionResult } from './question.js';
import { DnsQuestion } from './question.js';
import type { DnsServer } from './servers.js';

export interface LookupDeps extends QuestionDeps {
  /** the servers, ranked, at the moment a question starts */
  rankedServers(): DnsServer[];
  readonly maxRestarts: number;
}

export type ChaseResult =
  | { kind: 'addresses'; canonicalName: string; addresses: DnsAddress[]; ttl: number }
  | { kind: 'negative'; code: 'ERR_DNS_NXDOMAIN' | 'ERR_DNS_NODATA'; negativeTtl: number | undefined }
  | { kind: 'error'; error: DnsLookupError };

export type LookupResult =
  | {
      kind: 'addresses';
      canonicalName: string;
      v4: DnsAddress[];
      v6: DnsAddress[];
      /** seconds it stays valid: the smallest TTL of everything used */
      ttl: number;
      /** false when a family failed transiently: deliver it, but do not cache it */
      complete: boolean;
    }
  | { kind: 'negative'; code: 'ERR_DNS_NXDOMAIN' | 'ERR_DNS_NODATA'; ttl: number | undefined }
  | { kind: 'error'; error: DnsLookupError };

/** One family's question, restarted along CNAMEs. */
class Chase {
  result: ChaseResult | undefined;
  private current: string;
  private restarts = 0;
  private chainTtl = Infinity;
  private question: DnsQuestion | undefined;

  constructor(
    private readonly deps: LookupDeps,
    readonly family: 4 | 6,
    /** canonical name as asked */
    private readonly asked: string,
    private readonly onEnd: () => void,
  ) {
    this.current = asked;
  }

  get qtype(): number {
    return this.family === 4 ? DnsType.A : DnsType.AAAA;
  }

  start(): void {
    this.question = new DnsQuestion(this.deps, this.current, this.qtype, this.deps.rankedServers(), (r) => this.onQuestion(r));
    this.question.start();
  }

  cancel(): void {
    this.question?.cancel();
  }

  private onQuestion(r: QuestionResult): void {
    if ('error' in r) return this.end({ kind: 'error', error: this.forAsked(r.error) });
    const o = interpretAnswer(r.reply, this.current, this.qtype);
    switch (o.kind) {
      case 'addresses':
        return this.end({
          kind: 'addresses',
          canonicalName: o.canonicalName,
          addresses: o.addresses.map((a) => Object.freeze({ family: this.family, address: a.address, ttl: a.ttl })),
          ttl: Math.min(o.ttl, this.chainTtl),
        });
      case 'negative':
        return this.end({ kind: 'negative', code: o.code, negativeTtl: o.negativeTtl });
      case 'error':
        return this.end({
          kind: 'error',
          error: new DnsLookupError(o.code, `dns ${this.asked}: ${o.code === 'ERR_DNS_CNAME_DEPTH' ? 'CNAME loop' : `server said rcode ${o.rcode}`}`, {
            name: this.asked,
            qtype: this.qtype,
            rcode: o.rcode,
            server: r.server.key,
            ...(this.current !== this.asked ? { target: this.current } : {}),
          }),
        });
      case 'cname':
        if (this.restarts >= this.deps.maxRestarts) {
          return this.end({
            kind: 'error',
            error: new DnsLookupError('ERR_DNS_CNAME_DEPTH', `dns ${this.asked}: CNAME chain longer than ${this.deps.maxRestarts} restarts`, {
              name: this.asked,
              qtype: this.qtype,
              target: o.target,
              restarts: this.restarts,
            }),
          });
        }
        this.restarts++;
        this.chainTtl = Math.min(this.chainTtl, o.ttl);
        this.current = o.target;
        this.start();
        return;
    }
  }

  /** An error about a CNAME target still names what the user asked for. */
  private forAsked(e: DnsLookupError): DnsLookupError {
    if (this.current === this.asked) return e;
    return new DnsLookupError(e.code, e.message, { ...e.detail, name: this.asked, target: this.current }, e.cause);
  }

  private end(r: ChaseResult): void {
    this.result = r;
    this.question = undefined;
    this.onEnd();
  }
}

export class DnsLookup {
  private readonly chases: Chase[];
  private running = 0;

  constructor(
    deps: LookupDeps,
    /** canonical name */
    readonly name: string,
    readonly family: 0 | 4 | 6,
    private readonly onEnd: (r: LookupResult) => void,
  ) {
    const families: (4 | 6)[] = family === 0 ? [4, 6] : [family];
    this.chases = families.map((f) => new Chase(deps, f, name, () => this.chaseEnded()));
  }

  start(): void {
    this.running = this.chases.length;
    for (const c of this.chases) c.start();
  }

  cancel(): void {
    this.running = -1;
    for (const c of this.chases) c.cancel();
  }

  private chaseEnded(): void {
    if (this.running < 0 || --this.running > 0) return;
    this.onEnd(merge(this.chases.map((c) => c.result as ChaseResult)));
  }
}

export function merge(results: readonly ChaseResult[]): LookupResult {
  const found = results.filter((r): r is Extract<ChaseResult, { kind: 'addresses' }> => r.kind === 'addresses');
  const errors = results.filter((r): r is Extract<ChaseResult, { kind: 'error' }> => r.kind === 'error');
  const negatives = results.filter((r): r is Extract<ChaseResult, { kind: 'negative' }> => r.kind === 'negative');
  if (found.length) {
    let ttl = Math.min(...found.map((f) => f.ttl));
    for (const n of negatives) if (n.negativeTtl !== undefined) ttl = Math.min(ttl, n.negativeTtl);
    const all = found.flatMap((f) => f.addresses);
    return {
      kind: 'addresses',
      canonicalName: (found[0] as { canonicalName: string }).canonicalName,
      v4: all.filter((a) => a.family === 4),
      v6: all.filter((a) => a.family === 6),
      ttl,
      complete: errors.length === 0,
    };
  }
  const nx = negatives.find((n) => n.code === 'ERR_DNS_NXDOMAIN');
  if (nx) return { kind: 'negative', code: 'ERR_DNS_NXDOMAIN', ttl: nx.negativeTtl };
  if (errors.length) return { kind: 'error', error: (errors[0] as { error: DnsLookupError }).error };
  const ttls = negatives.map((n) => n.negativeTtl);
  return { kind: 'negative', code: 'ERR_DNS_NODATA', ttl: ttls.includes(undefined) ? undefined : Math.min(...(ttls as number[])) };
}
