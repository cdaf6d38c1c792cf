import { describe, expect, test } from '@jest/globals';
import { NotifierError, StateManager } from '../../src/system/state.js';
import type { Notifier, NotifyResult, TransitionRecord } from '../../src/system/state.js';
import { SYS_STATE_NAMES, SysState, sysStateFromName } from '../../src/system/states.js';
import { codeOf } from '../helpers/errors.js';


const NAMES = ['A', 'B', 'C', 'D', 'E', 'SIDE'] as const;

function mgr(extra: Partial<ConstructorParameters<typeof StateManager>[0]> = {}) {
  let now = 1000;
  const heard: TransitionRecord[] = [];
  const errors: NotifierError[] = [];
  const m = new StateManager({
    name: 'test',
    stateNames: NAMES,
    nowUs: () => now++,
    onTransition: (r) => heard.push(r),
    onNotifierError: (e) => errors.push(e),
    ...extra,
  });
  return { m, heard, errors };
}

/** A notifier that records what it is asked and answers from a function. */
function spy(name: string, calls: string[], answer: (cur: number, tgt: number) => NotifyResult = () => 'ok'): Notifier {
  return {
    name,
    notify(_m, cur, tgt) {
      calls.push(`${name}:${NAMES[cur]}>${NAMES[tgt]}`);
      return answer(cur, tgt);
    },
  };
}

const brief = (log: readonly TransitionRecord[]) =>
  log.map((r) => `${r.kind} ${r.fromName}>${r.toName}${r.heldBy ? ` by ${r.heldBy}` : ''}`);

describe('lws_system states', () => {
  test('names and numbers in lws order', () => {
    expect(SYS_STATE_NAMES).toEqual([
      'UNKNOWN', 'CONTEXT_CREATED', 'PRE_PRIV_DROP', 'INITIALIZED', 'COLLECTING_STDIN', 'IFACE_COLDPLUG', 'DHCP',
      'CPD_PRE_TIME', 'TIME_VALID', 'CPD_POST_TIME', 'POLICY_VALID', 'REGISTERED', 'AUTH1', 'AUTH2',
      'ONE_TIME_UPDATES', 'OPERATIONAL', 'POLICY_INVALID', 'CONTEXT_DESTROYING', 'AWAITING_MODAL_UPDATING',
      'MODAL_UPDATING',
    ]);
    SYS_STATE_NAMES.forEach((n, i) => expect(SysState[n]).toBe(i));
    expect(Object.keys(SysState)).toEqual([...SYS_STATE_NAMES]);
    expect(Object.isFrozen(SysState)).toBe(true);
  });

  test('sysStateFromName', () => {
    expect(sysStateFromName('OPERATIONAL')).toBe(15);
    expect(sysStateFromName('UNKNOWN')).toBe(0);
    for (const bad of ['operational', 'LWS_SYSTATE_OPERATIONAL', 'toString', '__proto__', '']) {
      expect(codeOf(() => sysStateFromName(bad))).toBe('ERR_STATE_UNKNOWN');
    }
    expect(codeOf(() => sysStateFromName(undefined as unknown as string))).toBe('ERR_STATE_UNKNOWN');
  });

  test('drives a real boot walk by name', () => {
    const m = new StateManager({ name: 'system', stateNames: SYS_STATE_NAMES, initial: SysState.CONTEXT_CREATED, nowUs: () => 0 });
    expect(m.transitionSteps(SysState.OPERATIONAL)).toBe('reached');
    expect(m.stateName).toBe('OPERATIONAL');
    expect(m.log.length).toBe(14);
    expect(m.transition(SysState.POLICY_INVALID)).toBe('reached');
    expect(m.log.at(-1)).toMatchObject({ kind: 'jump', fromName: 'OPERATIONAL', toName: 'POLICY_INVALID' });
  });
});

describe('StateManager basics', () => {
  test('accessors', () => {
    const { m } = mgr({ initial: 2 });
    expect(m.managerName).toBe('test');
    expect(m.state).toBe(2);
    expect(m.stateName).toBe('C');
    expect(m.name(5)).toBe('SIDE');
    expect(codeOf(() => m.name(6))).toBe('ERR_STATE_UNKNOWN');
    expect(m.log).toEqual([]);
  });

  test('constructor validation', () => {
    expect(codeOf(() => mgr({ initial: 6 }))).toBe('ERR_STATE_UNKNOWN');
    expect(codeOf(() => mgr({ initial: -1 }))).toBe('ERR_STATE_UNKNOWN');
    expect(codeOf(() => mgr({ stateNames: [] }))).toBe('ERR_STATE_CONFIG');
    expect(codeOf(() => mgr({ logDepth: -1 }))).toBe('ERR_STATE_CONFIG');
    expect(codeOf(() => mgr({ logDepth: 1.5 }))).toBe('ERR_STATE_CONFIG');
  });

  test('walks one state at a time; notifiers asked most recent first, then all hear success', () => {
    const { m, heard } = mgr();
    const calls: string[] = [];
    m.register(spy('first', calls));
    m.register(spy('second', calls));
    expect(m.transitionSteps(2)).toBe('reached');
    expect(calls).toEqual([
      'second:A>B', 'first:A>B', 'second:B>B', 'first:B>B',
      'second:B>C', 'first:B>C', 'second:C>C', 'first:C>C',
    ]);
    expect(brief(m.log)).toEqual(['step A>B', 'step B>C']);
    expect(heard).toEqual(m.log);
    expect(m.log.map((r) => r.atUs)).toEqual([1000, 1001]);
  });

  test('no notifiers: straight through; same target is a no-op', () => {
    const { m } = mgr();
    expect(m.transitionSteps(4)).toBe('reached');
    expect(m.transitionSteps(4)).toBe('reached');
    expect(m.transition(4)).toBe('reached');
    expect(m.log.length).toBe(4);
  });

  test('walking down is ERR_STATE_ORDER; unknown targets are ERR_STATE_UNKNOWN', () => {
    const { m } = mgr({ initial: 3 });
    expect(codeOf(() => m.transitionSteps(1))).toBe('ERR_STATE_ORDER');
    for (const bad of [6, -1, 1.5, Number.NaN]) {
      expect(codeOf(() => m.transitionSteps(bad))).toBe('ERR_STATE_UNKNOWN');
      expect(codeOf(() => m.transition(bad))).toBe('ERR_STATE_UNKNOWN');
    }
    expect(m.state).toBe(3);
    expect(m.log).toEqual([]);
  });

  test('transition() jumps in one move, either direction', () => {
    const { m } = mgr({ initial: 4 });
    const calls: string[] = [];
    m.register(spy('n', calls));
    expect(m.transition(5)).toBe('reached');
    expect(m.transition(0)).toBe('reached');
    expect(calls).toEqual(['n:E>SIDE', 'n:SIDE>SIDE', 'n:SIDE>A', 'n:A>A']);
    expect(brief(m.log)).toEqual(['jump E>SIDE', 'jump SIDE>A']);
  });

  test('unregister stops notifications; it is idempotent; duplicates are refused', () => {
    const { m } = mgr();
    const calls: string[] = [];
    const n = spy('n', calls);
    const off = m.register(n);
    expect(codeOf(() => m.register(n))).toBe('ERR_NOTIFIER_DUPLICATE');
    off();
    off();
    m.transitionSteps(1);
    expect(calls).toEqual([]);
    m.register(n); // may come back after leaving
    m.transitionSteps(2);
    expect(calls).toEqual(['n:B>C', 'n:C>C']);
  });

  test('the log is bounded, oldest dropped first; onTransition hears everything', () => {
    const { m, heard } = mgr({ logDepth: 2 });
    m.transitionSteps(4);
    expect(brief(m.log)).toEqual(['step C>D', 'step D>E']);
    expect(heard.length).toBe(4);
    const { m: m0, heard: h0 } = mgr({ logDepth: 0 });
    m0.transitionSteps(2);
    expect(m0.log).toEqual([]);
    expect(h0.length).toBe(2);
  });
});

describe('hold and resume', () => {
  test('a hold stops the walk at the first objector; later notifiers are not asked', () => {
    const { m } = mgr();
    const calls: string[] = [];
    m.register(spy('late', calls));
    m.register(spy('gate', calls, (_c, t) => (t === 2 ? 'hold' : 'ok')));
    m.register(spy('early', calls));
    expect(m.transitionSteps(4)).toBe('held');
    expect(m.state).toBe(1);
    expect(calls.slice(-2)).toEqual(['early:B>C', 'gate:B>C']);
    expect(brief(m.log)).toEqual(['step A>B', 'held B>C by gate']);
  });

  test('the holder resumes later and the walk goes on from where it stopped', () => {
    const { m } = mgr();
    let ready = false;
    m.register({ name: 'dhcp', notify: (_m, c, t) => (c !== t && t === 2 && !ready ? 'hold' : 'ok') });
    expect(m.transitionSteps(4)).toBe('held');
    ready = true;
    expect(m.transitionSteps(4)).toBe('reached');
    expect(brief(m.log)).toEqual(['step A>B', 'held B>C by dhcp', 'step B>C', 'step C>D', 'step D>E']);
  });

  test('a held jump leaves the state alone', () => {
    const { m } = mgr({ initial: 4 });
    m.register({ name: 'busy', notify: (_m, c, t) => (c !== t && t === 5 ? 'hold' : 'ok') });
    expect(m.transition(5)).toBe('held');
    expect(m.state).toBe(4);
    expect(brief(m.log)).toEqual(['held E>SIDE by busy']);
  });

  test('answers to the success notification are ignored', () => {
    const { m } = mgr();
    m.register({ name: 'grumpy', notify: (_m, c, t) => (c === t ? 'hold' : 'ok') });
    expect(m.transitionSteps(3)).toBe('reached');
  });
});

describe('notifier errors', () => {
  test('a throwing notifier holds the step, is reported and logged, and the manager stays usable', () => {
    const { m, errors } = mgr();
    const boom = new Error('boom');
    let broken = true;
    const calls: string[] = [];
    m.register(spy('after', calls));
    m.register({
      name: 'flaky',
      notify: (_m, c, t) => {
        if (broken && c !== t && t === 2) throw boom;
        return 'ok';
      },
    });
    expect(m.transitionSteps(3)).toBe('held');
    expect(m.state).toBe(1);
    expect(calls).toEqual(['after:A>B', 'after:B>B']); // not asked about the failed step
    expect(errors.length).toBe(1);
    const e = errors[0] as NotifierError;
    expect(e).toBeInstanceOf(NotifierError);
    expect(e.code).toBe('ERR_NOTIFIER_THREW');
    expect(e.cause).toBe(boom);
    expect(e.detail).toEqual({ manager: 'test', notifier: 'flaky', from: 1, to: 2, fromName: 'B', toName: 'C' });
    const rec = m.log.at(-1) as TransitionRecord;
    expect(rec).toMatchObject({ kind: 'error', from: 1, to: 2, heldBy: 'flaky' });
    expect(rec.error).toBe(e);
    broken = false;
    expect(m.transitionSteps(3)).toBe('reached');
  });

  test('an answer other than ok/hold is ERR_NOTIFIER_RESULT and holds', () => {
    const { m, errors } = mgr();
    m.register({ name: 'sloppy', notify: () => undefined as unknown as NotifyResult });
    expect(m.transitionSteps(1)).toBe('held');
    expect(errors[0]?.code).toBe('ERR_NOTIFIER_RESULT');
    expect(errors[0]?.cause).toBeUndefined();
  });

  test('throwing while hearing a success is reported; the step stands and the others still hear it', () => {
    const { m, errors } = mgr();
    const calls: string[] = [];
    m.register(spy('other', calls));
    m.register({
      name: 'loud',
      notify: (_m, c, t) => {
        if (c === t) throw new Error('on success');
        return 'ok';
      },
    });
    expect(m.transitionSteps(1)).toBe('reached');
    expect(calls).toEqual(['other:A>B', 'other:B>B']);
    expect(brief(m.log)).toEqual(['step A>B', 'error B>B by loud']);
    expect(errors.length).toBe(1);
  });

  test('without onNotifierError the error is still logged', () => {
    const m = new StateManager({ name: 'quiet', stateNames: NAMES, nowUs: () => 0 });
    m.register({ name: 'x', notify: () => { throw 'str'; } });
    expect(m.transitionSteps(1)).toBe('held');
    expect(m.log[0]?.error?.cause).toBe('str');
  });

  test('a throwing onTransition hook propagates but does not wedge the manager', () => {
    let explode = true;
    const m = new StateManager({
      name: 'hooked',
      stateNames: NAMES,
      nowUs: () => 0,
      onTransition: () => {
        if (explode) throw new Error('hook');
      },
    });
    expect(() => m.transitionSteps(2)).toThrow('hook');
    expect(m.state).toBe(1);
    explode = false;
    expect(m.transitionSteps(2)).toBe('reached');
  });
});

describe('re-entrancy', () => {
  test('a notifier that holds and then finishes synchronously resumes via a queued call', () => {
    const { m } = mgr();
    let done = false;
    const results: string[] = [];
    m.register({
      name: 'sync',
      notify(mgr2, c, t) {
        if (c === t || t !== 2 || done) return 'ok';
        // start the "async" work, which completes at once, then hold
        done = true;
        results.push(mgr2.transitionSteps(4));
        return 'hold';
      },
    });
    expect(m.transitionSteps(4)).toBe('reached');
    expect(results).toEqual(['queued']);
    expect(brief(m.log)).toEqual(['step A>B', 'held B>C by sync', 'step B>C', 'step C>D', 'step D>E']);
  });

  test('a queued call never runs inside the step in progress', () => {
    const { m } = mgr();
    const order: string[] = [];
    m.register({
      name: 'watch',
      notify(mgr2, c, t) {
        order.push(`${NAMES[c]}>${NAMES[t]}@${NAMES[mgr2.state]}`);
        if (c === 1 && t === 1) mgr2.transition(5);
        return 'ok';
      },
    });
    m.register({ name: 'front', notify: () => 'ok' });
    m.transitionSteps(1);
    // the jump asked during B's success round ran only after that round ended
    expect(order).toEqual(['A>B@A', 'B>B@B', 'B>SIDE@B', 'SIDE>SIDE@SIDE']);
    expect(m.state).toBe(5);
  });

  test('a queued jump pre-empts the walk in progress, which then ends', () => {
    const { m } = mgr();
    m.register({
      name: 'policy',
      notify(mgr2, c, t) {
        if (c === t && c === 2) mgr2.transition(5);
        return 'ok';
      },
    });
    expect(m.transitionSteps(4)).toBe('held');
    expect(m.state).toBe(5);
    expect(brief(m.log)).toEqual(['step A>B', 'step B>C', 'jump C>SIDE']);
  });

  test('queued requests run in the order made, each after the step that made them', () => {
    const { m } = mgr();
    const results: string[] = [];
    let once = true;
    m.register({
      name: 'chain',
      notify(mgr2, c, t) {
        if (once && c === t && c === 1) {
          once = false;
          results.push(mgr2.transition(0)); // back to A
          results.push(mgr2.transitionSteps(3)); // then up to D
        }
        return 'ok';
      },
    });
    expect(m.transitionSteps(2)).toBe('held'); // it ends at D, not at its own target C
    expect(results).toEqual(['queued', 'queued']);
    expect(brief(m.log)).toEqual(['step A>B', 'jump B>A', 'step A>B', 'step B>C', 'step C>D']);
    expect(m.state).toBe(3);
  });

  test('re-entrant calls are validated when made', () => {
    const { m, errors } = mgr({ initial: 2 });
    const codes: Array<string | undefined> = [];
    m.register({
      name: 'confused',
      notify(mgr2, c, t) {
        if (c !== t) {
          codes.push(codeOf(() => mgr2.transitionSteps(0)));
          codes.push(codeOf(() => mgr2.transition(99)));
        }
        return 'ok';
      },
    });
    expect(m.transitionSteps(3)).toBe('reached');
    expect(codes).toEqual(['ERR_STATE_ORDER', 'ERR_STATE_UNKNOWN']);
    expect(errors).toEqual([]);
  });

  test('calls from onTransition are queued too', () => {
    const results: string[] = [];
    const m: StateManager = new StateManager({
      name: 'h',
      stateNames: NAMES,
      nowUs: () => 0,
      onTransition: (r) => {
        if (r.kind === 'step' && r.to === 2) results.push(m.transitionSteps(4));
      },
    });
    expect(m.transitionSteps(2)).toBe('held'); // the queued walk carried it past C
    expect(results).toEqual(['queued']);
    expect(m.state).toBe(4);
  });

  test('a notifier unregistered mid-round is not asked again in that round', () => {
    const { m } = mgr();
    const calls: string[] = [];
    let offVictim: () => void = () => {};
    offVictim = m.register(spy('victim', calls));
    m.register({
      name: 'killer',
      notify() {
        offVictim();
        return 'ok';
      },
    });
    m.transitionSteps(1);
    expect(calls).toEqual([]);
  });

  test('a notifier registered mid-round is asked from the next round on', () => {
    const { m } = mgr();
    const calls: string[] = [];
    const late = spy('late', calls);
    let added = false;
    m.register({
      name: 'adder',
      notify(mgr2) {
        if (!added) {
          added = true;
          mgr2.register(late);
        }
        return 'ok';
      },
    });
    m.transitionSteps(2);
    expect(calls).toEqual(['late:B>B', 'late:B>C', 'late:C>C']);
  });
});

describe('re-entry from a side state (lws_system: POLICY_INVALID walks up again from POLICY_VALID)', () => {
  // SIDE (5) re-enters the walk at C (2), as POLICY_INVALID does at POLICY_VALID
  const reentry = { from: 5, to: 2 };

  test('a walk from the side state jumps to the re-entry state, then steps up', () => {
    const { m, heard } = mgr({ initial: 4, reentry });
    const calls: string[] = [];
    m.register(spy('n', calls));
    expect(m.transition(5)).toBe('reached');
    expect(m.transitionSteps(4)).toBe('reached');
    expect(brief(m.log)).toEqual(['jump E>SIDE', 'jump SIDE>C', 'step C>D', 'step D>E']);
    expect(heard.map((r) => r.toName)).toEqual(['SIDE', 'C', 'D', 'E']);
    // notifiers are asked about the jump back like any other move
    expect(calls).toContain('n:SIDE>C');
  });

  test('the jump back may be held, and a later walk resumes from the side state', () => {
    const { m } = mgr({ initial: 5, reentry });
    let hold = true;
    m.register(spy('auth', [], (c, t) => (hold && c === 5 && t === 2 ? 'hold' : 'ok')));
    expect(m.transitionSteps(4)).toBe('held');
    expect(m.state).toBe(5);
    hold = false;
    expect(m.transitionSteps(4)).toBe('reached');
    expect(brief(m.log)).toEqual(['held SIDE>C by auth', 'jump SIDE>C', 'step C>D', 'step D>E']);
  });

  test('a walk queued from the side state\'s success round re-enters when it runs', () => {
    const { m } = mgr({ initial: 4, reentry });
    const results: string[] = [];
    m.register({
      name: 'policy',
      notify(mgr2, c, t) {
        if (c === t && c === 5) results.push(mgr2.transitionSteps(4));
        return 'ok';
      },
    });
    expect(m.transition(5)).toBe('held'); // it ends at E, not at its own target SIDE
    expect(results).toEqual(['queued']);
    expect(brief(m.log)).toEqual(['jump E>SIDE', 'jump SIDE>C', 'step C>D', 'step D>E']);
  });

  test('only the side state re-enters, only to targets from the re-entry state up', () => {
    const { m } = mgr({ initial: 5, reentry });
    // below the re-entry state is still walking down
    expect(codeOf(() => m.transitionSteps(1))).toBe('ERR_STATE_ORDER');
    m.transition(3);
    expect(codeOf(() => m.transitionSteps(2))).toBe('ERR_STATE_ORDER');
    // without the option, the side state cannot walk down at all
    const plain = mgr({ initial: 5 }).m;
    expect(codeOf(() => plain.transitionSteps(4))).toBe('ERR_STATE_ORDER');
  });

  test('a re-entry that does not lead down, or names no state, is ERR_STATE_CONFIG / ERR_STATE_UNKNOWN', () => {
    expect(codeOf(() => mgr({ reentry: { from: 2, to: 3 } }))).toBe('ERR_STATE_CONFIG');
    expect(codeOf(() => mgr({ reentry: { from: 2, to: 2 } }))).toBe('ERR_STATE_CONFIG');
    expect(codeOf(() => mgr({ reentry: { from: 9, to: 2 } }))).toBe('ERR_STATE_UNKNOWN');
  });
});
