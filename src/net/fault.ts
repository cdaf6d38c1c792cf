/**
 * Datagram fault injection, after libwebsockets' `udp_tx_loss` / `udp_rx_loss` faults:
 * `--fault-injection "dns/udp_tx_loss(30%),sntp/udp_rx_loss(.1100)"`.
 *
 * Each rule names a socket ("dns", "sntp", "dhcp", or "*" for every one) and a fault, and fires
 * either with a probability ("30%") or by a repeating bit pattern (".1100": drop, drop, pass,
 * pass, …). Every socket and direction draws from its own PRNG seeded from one seed, so a
 * failing run replays exactly, whatever other traffic there was.
 */
import { UsageError } from '../util/errors.js';

export class FaultSpecError extends UsageError {}

export type FaultName = 'udp_tx_loss' | 'udp_rx_loss';

export interface FaultRule {
  /** socket name, or "*" */
  socket: string;
  fault: FaultName;
  /** drop probability, 0..100 */
  percent?: number;
  /** repeating drop pattern, true = drop */
  pattern?: readonly boolean[];
}

export interface FaultStats {
  /** datagrams seen and dropped, per "socket/fault" */
  [key: string]: { seen: number; dropped: number };
}

/** splitmix32: small, fast, and the same in every engine. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a, to give each socket/fault its own stream from the one seed. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const RULE = /^([A-Za-z0-9_*-]+)\/(udp_tx_loss|udp_rx_loss)(?:\((?:(\d{1,3})%|\.([01]{1,64}))\))?$/;

/** Parses the lws-style command-line form: comma-separated `socket/fault(arg)` rules. */
export function parseFaultRules(spec: string): FaultRule[] {
  const rules: FaultRule[] = [];
  for (const raw of spec.split(',')) {
    const text = raw.trim();
    if (!text) continue;
    const m = RULE.exec(text);
    if (!m) {
      throw new FaultSpecError('ERR_FAULT_SPEC', `fault rule "${text}" must look like socket/udp_tx_loss(30%) or socket/udp_rx_loss(.1100)`, { rule: text });
    }
    const rule: FaultRule = { socket: m[1] as string, fault: m[2] as FaultName };
    if (m[3] !== undefined) {
      const pc = Number(m[3]);
      if (pc > 100) throw new FaultSpecError('ERR_FAULT_SPEC', `fault rule "${text}": percent must be 0..100`, { rule: text });
      rule.percent = pc;
    } else if (m[4] !== undefined) {
      rule.pattern = Array.from(m[4], (c) => c === '1');
    } else {
      rule.percent = 100; // a bare fault always fires, as in lws
    }
    rules.push(rule);
  }
  return rules;
}

interface Stream {
  rule: FaultRule;
  next: () => number;
  step: number;
  seen: number;
  dropped: number;
}

export class FaultInjector {
  readonly seed: number;
  private readonly rules: FaultRule[];
  private readonly streams = new Map<string, Stream | null>();

  constructor(rules: FaultRule[] | string = [], seed = 1) {
    this.rules = typeof rules === 'string' ? parseFaultRules(rules) : rules.slice();
    this.seed = seed >>> 0;
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  /** Should this datagram, on this socket and direction, be lost? */
  drop(socket: string, fault: FaultName): boolean {
    const key = `${socket}/${fault}`;
    let st = this.streams.get(key);
    if (st === undefined) {
      const rule = this.rules.find((r) => r.fault === fault && r.socket === socket) ?? this.rules.find((r) => r.fault === fault && r.socket === '*');
      st = rule ? { rule, next: splitmix32(this.seed ^ hash(key)), step: 0, seen: 0, dropped: 0 } : null;
      this.streams.set(key, st);
    }
    if (!st) return false;
    st.seen++;
    let hit: boolean;
    if (st.rule.pattern) hit = st.rule.pattern[st.step++ % st.rule.pattern.length] as boolean;
    else hit = st.next() % 100 < (st.rule.percent as number);
    if (hit) st.dropped++;
    return hit;
  }

  stats(): FaultStats {
    const out: FaultStats = {};
    for (const [k, st] of this.streams) if (st) out[k] = { seen: st.seen, dropped: st.dropped };
    return out;
  }
}
