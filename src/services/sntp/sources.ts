/**
 * Which NTP server to ask, in priority order: the NTP_SERVER blob (the application's choice),
 * then the servers DHCP offered (option 42), then the board's default, then the client's
 * configured default. A sync round starts at the top and walks down the list one failure at a
 * time, so a dead first choice costs one exchange, not the device its time.
 *
 * Kiss-o'-Death is remembered per server: DENY and RSTR strike the server off for the client's
 * lifetime (RFC 5905 §7.4: "the client MUST demobilize any associations to that server");
 * RATE puts it on a penalty that doubles with each RATE in a row, during which lower sources are
 * used instead.
 */

export type SntpSourceKind = 'blob' | 'dhcp' | 'board' | 'default';

export interface SntpSource {
  server: string;
  kind: SntpSourceKind;
}

interface ServerState {
  /** DENY or RSTR: never ask again */
  refused?: string;
  /** RATE: not before this monotonic µs */
  notBeforeUs: number;
  /** RATEs in a row, for the doubling */
  rateStreak: number;
}

export type SourcePick =
  | { kind: 'use'; source: SntpSource; index: number }
  | { kind: 'wait'; untilUs: number }
  | { kind: 'none' };

export class SntpSources {
  private readonly state = new Map<string, ServerState>();

  constructor(
    /** the configured sources, highest priority first (read afresh each time: blobs and DHCP change) */
    private readonly read: () => SntpSource[],
  ) {}

  /** Every configured server not refused, highest priority first, each server once. */
  usable(): SntpSource[] {
    const seen = new Set<string>();
    const out: SntpSource[] = [];
    for (const s of this.read()) {
      if (!s.server || seen.has(s.server)) continue;
      seen.add(s.server);
      if (this.state.get(s.server)?.refused === undefined) out.push(s);
    }
    return out;
  }

  /**
   * The source to try at position `from` of usable() or after it, skipping servers on a RATE
   * penalty; wrapping to the top once. `wait` when all are on penalty, `none` when there are none.
   */
  pick(from: number, nowUs: number): SourcePick {
    const list = this.usable();
    if (list.length === 0) return { kind: 'none' };
    let soonest = Infinity;
    for (let k = 0; k < list.length; k++) {
      const index = (from + k) % list.length;
      const source = list[index] as SntpSource;
      const notBefore = this.state.get(source.server)?.notBeforeUs ?? 0;
      if (notBefore <= nowUs) return { kind: 'use', source, index };
      soonest = Math.min(soonest, notBefore);
    }
    return { kind: 'wait', untilUs: soonest };
  }

  /** DENY / RSTR: this server is struck off. */
  refuse(server: string, code: string): void {
    this.get(server).refused = code;
  }

  /** RATE: penalise the server for baseUs × 2^(RATEs in a row), at most maxUs. Returns the penalty. */
  rateLimited(server: string, nowUs: number, baseUs: number, maxUs: number): number {
    const st = this.get(server);
    const penalty = Math.min(maxUs, baseUs * 2 ** Math.min(st.rateStreak, 30));
    st.rateStreak++;
    st.notBeforeUs = nowUs + penalty;
    return penalty;
  }

  /** The server answered: its RATE streak is over. */
  answered(server: string): void {
    const st = this.state.get(server);
    if (st) {
      st.rateStreak = 0;
      st.notBeforeUs = 0;
    }
  }

  /** The kiss code a server was refused with, or undefined. */
  refusedBy(server: string): string | undefined {
    return this.state.get(server)?.refused;
  }

  /** Monotonic µs before which a rate-limited server is not asked (0: none). */
  notBefore(server: string): number {
    return this.state.get(server)?.notBeforeUs ?? 0;
  }

  private get(server: string): ServerState {
    let st = this.state.get(server);
    if (!st) {
      st = { notBeforeUs: 0, rateStreak: 0 };
      this.state.set(server, st);
    }
    return st;
  }
}
