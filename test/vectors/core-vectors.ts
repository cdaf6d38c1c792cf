/**
 * Deterministic results from the system core (state manager, SMD, UTF-8, ser), computed the
 * same way in Node and inside the real XS engine and then compared. Pure ECMAScript importing
 * only src/: no Node, no jest, no wall clock — time comes from a fake clock driven through a
 * real SulScheduler. Everything returned is plain JSON (bigints as decimal strings, strings
 * as UTF-16 code unit arrays so lone surrogates survive any JSON printer).
 */
import { Sul, SulScheduler } from '../../src/loop/sul.js';
import { Smd } from '../../src/system/smd.js';
import type { SmdLoop } from '../../src/system/smd.js';
import { StateManager } from '../../src/system/state.js';
import type { Notifier, TransitionRecord } from '../../src/system/state.js';
import { SYS_STATE_NAMES, SysState } from '../../src/system/states.js';
import { LwsxError } from '../../src/util/errors.js';
import {
  ru16be, ru16le, ru32be, ru32le, ru64be, ru64le, ru8,
  wu16be, wu16le, wu32be, wu32le, wu64be, wu64le, wu8,
} from '../../src/util/ser.js';
import { Utf8Validator, utf8Decode, utf8Encode } from '../../src/util/utf8.js';

/** A manual clock and a real scheduler; run() jumps the clock from deadline to deadline. */
class FakeLoop implements SmdLoop {
  now = 0;
  readonly sched = new SulScheduler();
  nowUs(): number {
    return this.now;
  }
  scheduleAt(sul: Sul, atUs: number): void {
    this.sched.scheduleAt(sul, atUs);
  }
  cancel(sul: Sul): void {
    this.sched.cancel(sul);
  }
  run(): void {
    for (let guard = 0; guard < 1000; guard++) {
      const next = this.sched.earliest();
      if (next === undefined) return;
      if (next > this.now) this.now = next;
      this.sched.service(this.now);
    }
    throw new Error('fake loop did not settle');
  }
}

function codeUnits(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
  return out;
}

function plainRecord(r: TransitionRecord): Record<string, unknown> {
  const o: Record<string, unknown> = { atUs: r.atUs, kind: r.kind, from: r.from, to: r.to, fromName: r.fromName, toName: r.toName };
  if (r.heldBy !== undefined) o.heldBy = r.heldBy;
  if (r.error !== undefined) {
    o.errorCode = r.error.code;
    o.cause = r.error.cause instanceof Error ? r.error.cause.message : String(r.error.cause);
  }
  return o;
}

/**
 * Boot walk to OPERATIONAL with two notifiers that hold (DHCP for 5 ms, NTP for 20 ms) and
 * resume from sul callbacks, plus a policy notifier that throws once and retries 1 ms later.
 */
function stateWalk(): Record<string, unknown> {
  const loop = new FakeLoop();
  const records: Record<string, unknown>[] = [];
  const mgr = new StateManager({
    name: 'system',
    stateNames: SYS_STATE_NAMES,
    initial: SysState.CONTEXT_CREATED,
    nowUs: () => loop.now,
    onTransition: (r) => records.push(plainRecord(r)),
  });
  const resumes: string[] = [];

  function holder(name: string, at: number, delayUs: number): Notifier {
    let done = false;
    const sul = new Sul(() => {
      done = true;
      resumes.push(`${name}:${mgr.transitionSteps(SysState.OPERATIONAL)}@${loop.now}`);
    });
    return {
      name,
      notify(_m, current, target) {
        if (current === target || target !== at || done) return 'ok';
        if (!sul.armed) loop.scheduleAt(sul, loop.now + delayUs);
        return 'hold';
      },
    };
  }

  let policyFailed = false;
  const policyRetry = new Sul(() => {
    resumes.push(`policy:${mgr.transitionSteps(SysState.OPERATIONAL)}@${loop.now}`);
  });
  const heard: string[] = [];
  mgr.register({
    name: 'observer',
    notify(_m, current, target) {
      if (current === target) heard.push(SYS_STATE_NAMES[current] as string);
      return 'ok';
    },
  });
  mgr.register(holder('dhcp', SysState.DHCP, 5000));
  mgr.register(holder('ntp', SysState.TIME_VALID, 20000));
  mgr.register({
    name: 'policy',
    notify(_m, current, target) {
      if (current !== target && target === SysState.POLICY_VALID && !policyFailed) {
        policyFailed = true;
        loop.scheduleAt(policyRetry, loop.now + 1000);
        throw new Error('policy fetch failed');
      }
      return 'ok';
    },
  });

  const first = mgr.transitionSteps(SysState.OPERATIONAL);
  loop.run();
  const jump = mgr.transition(SysState.POLICY_INVALID);
  return { first, resumes, jump, final: mgr.stateName, heard, records };
}

/** Several peers and classes, a late peer, a full queue, an expired message, a throwing peer. */
function smdOrder(): Record<string, unknown> {
  const loop = new FakeLoop();
  const errors: string[] = [];
  const smd = new Smd({ loop, maxQueueDepth: 4, ttlUs: 3000, onPeerError: (e) => errors.push(`${e.code}:${String(e.detail?.peer)}`) });
  const deliveries: string[] = [];
  const listen = (name: string, mask: number) =>
    smd.register(mask, (cls, ts, p) => deliveries.push(`${name}|${cls}|${ts}|${utf8Decode(p)}`), name);

  listen('net', 4);
  listen('all', 0xffffffff);
  const state = listen('state', 2);
  smd.register(1, () => {
    throw new Error('ui peer broke');
  }, 'ui');
  const sent: boolean[] = [];
  sent.push(smd.send(8, 'metrics (only "all" listens)'));
  sent.push(smd.send(2, '{"state":"DHCP"}'));
  loop.now += 100;
  sent.push(smd.send(4 | 2, '{"rt":"add"}'));
  listen('late', 0xffffffff);
  sent.push(smd.send(1, '{"type":"button","event":"click"}'));
  sent.push(smd.send(1 << 24, 'user class: queue full'));
  sent.push(smd.send(2, 'also refused: queue full'));
  loop.run();
  smd.unregister(state);
  sent.push(smd.send(2, 'after unregister'));
  loop.now += 5000; // expires before its delivery pass
  loop.run();
  sent.push(smd.send(4, 'fresh'));
  loop.run();
  return { sent, deliveries, errors, stats: { ...smd.stats } };
}

function utf8Vectors(): Record<string, unknown> {
  const strings = ['', 'ASCII ~', 'é', '€uro', '😀', '\u{10FFFF}', '\u0000\u007f\u0080\u07ff\u0800\uffff', '\ud800', 'a\udc00b', '\udbff\udfff', 'Ünïcödé ✓ 漢字 🚀'];
  const roundTrips = strings.map((s) => {
    const bytes = utf8Encode(s);
    return { input: codeUnits(s), bytes: Array.from(bytes), decoded: codeUnits(utf8Decode(bytes)) };
  });
  const bad = [[0x80], [0xc0, 0xaf], [0xe0, 0x9f, 0xbf], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8], [0xe2, 0x28, 0xa1], [0x41, 0xf0, 0x9f, 0x98]];
  const errors = bad.map((b) => {
    try {
      return { bytes: b, decoded: codeUnits(utf8Decode(Uint8Array.from(b))) };
    } catch (e) {
      const le = e as LwsxError;
      return { bytes: b, code: le.code, detail: le.detail };
    }
  });
  const v = new Utf8Validator();
  const stream = utf8Encode('ok 😀 ');
  const chunked = [v.push(stream.subarray(0, 4)), v.end(), v.push(stream.subarray(4)), v.end(), v.push(Uint8Array.from([0xed, 0xa0])), v.end()];
  return { roundTrips, errors, chunked };
}

function serVectors(): Record<string, unknown> {
  const b = new Uint8Array(30);
  let o = 0;
  o = wu8(b, o, 0x1ab);
  o = wu16be(b, o, 0xbeef);
  o = wu16le(b, o, 0xbeef);
  o = wu32be(b, o, 0xdeadbeef);
  o = wu32le(b, o, -2);
  o = wu64be(b, o, 0x0123456789abcdefn);
  o = wu64le(b, o, 2 ** 53 + 2);
  const reads = [
    ru8(b, 0),
    ru16be(b, 1),
    ru16le(b, 3),
    ru32be(b, 5),
    ru32le(b, 9),
    ru64be(b, 13).toString(),
    ru64le(b, 21).toString(),
  ];
  let bounds: unknown;
  try {
    ru32be(b, 27);
  } catch (e) {
    const le = e as LwsxError;
    bounds = { code: le.code, detail: le.detail };
  }
  return { length: o, bytes: Array.from(b.subarray(0, o)), reads, bounds };
}

export function runCoreVectors(): Record<string, unknown> {
  return { stateWalk: stateWalk(), smd: smdOrder(), utf8: utf8Vectors(), ser: serVectors() };
}
