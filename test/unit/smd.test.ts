import { describe, expect, test } from '@jest/globals';
import { Sul, SulScheduler } from '../../src/loop/sul.js';
import {
  SMD_CLASS_DNS, SMD_CLASS_INTERACTION, SMD_CLASS_METRICS, SMD_CLASS_NETWORK, SMD_CLASS_SYSTEM_STATE,
  SMD_CLASS_USER_BASE_BITNUM, SMD_DEFAULT_QUEUE_DEPTH, SMD_DEFAULT_TTL_US, SMD_MAX_PAYLOAD,
  Smd, SmdPeerError, smdUserClass,
} from '../../src/system/smd.js';
import type { SmdLoop, SmdOptions } from '../../src/system/smd.js';
import { utf8Decode } from '../../src/util/utf8.js';
import { codeOf } from '../helpers/errors.js';

/** A loop on a real SulScheduler and a clock the test moves by hand. */
class FakeLoop implements SmdLoop {
  now = 1_000_000;
  readonly sul = new SulScheduler();
  nowUs(): number {
    return this.now;
  }
  scheduleAt(sul: Sul, atUs: number): void {
    this.sul.scheduleAt(sul, atUs);
  }
  cancel(sul: Sul): void {
    this.sul.cancel(sul);
  }
  /** one loop iteration at the current time */
  tick(): void {
    this.sul.service(this.now);
  }
  advance(us: number): void {
    this.now += us;
    this.tick();
  }
}

function setup(opts: Partial<SmdOptions> = {}) {
  const loop = new FakeLoop();
  const smd = new Smd({ loop, ...opts });
  const got: string[] = [];
  const peer = (name: string, mask: number) =>
    smd.register(mask, (cls, ts, p) => got.push(`${name} ${cls} ${ts} ${utf8Decode(p)}`), name);
  return { loop, smd, got, peer };
}


describe('classes', () => {
  test('lws class bits', () => {
    expect([SMD_CLASS_INTERACTION, SMD_CLASS_SYSTEM_STATE, SMD_CLASS_NETWORK, SMD_CLASS_METRICS, SMD_CLASS_DNS]).toEqual([1, 2, 4, 8, 16]);
    expect(SMD_CLASS_USER_BASE_BITNUM).toBe(24);
    expect(smdUserClass(0)).toBe(1 << 24);
    expect(smdUserClass(7)).toBe(0x80000000);
    for (const bad of [-1, 8, 1.5]) expect(codeOf(() => smdUserClass(bad))).toBe('ERR_SMD_CLASS');
  });

  test('defaults are lws FreeRTOS ones', () => {
    const { smd } = setup();
    expect(smd.maxQueueDepth).toBe(SMD_DEFAULT_QUEUE_DEPTH);
    expect(SMD_DEFAULT_QUEUE_DEPTH).toBe(20);
    expect(smd.ttlUs).toBe(SMD_DEFAULT_TTL_US);
    expect(SMD_DEFAULT_TTL_US).toBe(5_000_000);
    expect(SMD_MAX_PAYLOAD).toBe(384);
  });

  test('bad options are ERR_SMD_CONFIG', () => {
    expect(codeOf(() => setup({ maxQueueDepth: 0 }))).toBe('ERR_SMD_CONFIG');
    expect(codeOf(() => setup({ maxQueueDepth: 2.5 }))).toBe('ERR_SMD_CONFIG');
    expect(codeOf(() => setup({ ttlUs: 0 }))).toBe('ERR_SMD_CONFIG');
    expect(codeOf(() => setup({ ttlUs: Number.POSITIVE_INFINITY }))).toBe('ERR_SMD_CONFIG');
  });
});

describe('send', () => {
  test('nobody interested: false, nothing queued, nothing scheduled', () => {
    const { smd, loop, peer } = setup();
    expect(smd.send(SMD_CLASS_NETWORK, 'x')).toBe(false);
    peer('ui', SMD_CLASS_INTERACTION);
    expect(smd.send(SMD_CLASS_NETWORK, new Uint8Array(4))).toBe(false);
    expect(smd.send(0, 'x')).toBe(false);
    expect(smd.pending).toBe(0);
    expect(loop.sul.count).toBe(0);
    expect(smd.stats).toEqual({ sent: 0, delivered: 0, dropped: 0, expired: 0, peerErrors: 0 });
  });

  test('delivery happens on a later loop iteration, never inside send', () => {
    const { smd, loop, got, peer } = setup();
    peer('a', SMD_CLASS_NETWORK);
    expect(smd.send(SMD_CLASS_NETWORK, 'up')).toBe(true);
    expect(got).toEqual([]);
    expect(smd.pending).toBe(1);
    loop.tick();
    expect(got).toEqual([`a 4 ${loop.now} up`]);
    expect(smd.pending).toBe(0);
    expect(smd.stats).toMatchObject({ sent: 1, delivered: 1 });
  });

  test('every interested peer gets it, sender included; order is timestamp then registration', () => {
    const { smd, loop, got, peer } = setup();
    const t0 = loop.now;
    peer('net', SMD_CLASS_NETWORK);
    peer('all', 0xffffffff);
    peer('state', SMD_CLASS_SYSTEM_STATE);
    const sender = smd.register(SMD_CLASS_SYSTEM_STATE, (cls, ts, p) => got.push(`sender ${cls} ${ts} ${utf8Decode(p)}`), 'sender');
    smd.send(SMD_CLASS_SYSTEM_STATE, '{"state":"DHCP"}');
    loop.now += 10;
    smd.send(SMD_CLASS_NETWORK | SMD_CLASS_SYSTEM_STATE, 'both');
    loop.now += 10;
    smd.send(smdUserClass(3), 'user');
    loop.tick();
    expect(got).toEqual([
      `all 2 ${t0} {"state":"DHCP"}`,
      `state 2 ${t0} {"state":"DHCP"}`,
      `sender 2 ${t0} {"state":"DHCP"}`,
      `net 6 ${t0 + 10} both`,
      `all 6 ${t0 + 10} both`,
      `state 6 ${t0 + 10} both`,
      `sender 6 ${t0 + 10} both`,
      `all ${2 ** 27} ${t0 + 20} user`,
    ]);
    expect(sender.name).toBe('sender');
    expect(smd.stats).toMatchObject({ sent: 3, delivered: 8 });
  });

  test('the payload is copied at send time and shared by the peers', () => {
    const { smd, loop } = setup();
    const seen: Uint8Array[] = [];
    smd.register(1, (_c, _t, p) => seen.push(p));
    smd.register(1, (_c, _t, p) => seen.push(p));
    const buf = Uint8Array.from([1, 2, 3]);
    smd.send(1, buf);
    buf[0] = 9;
    loop.tick();
    expect(Array.from(seen[0] as Uint8Array)).toEqual([1, 2, 3]);
    expect(seen[1]).toBe(seen[0]);
  });

  test('class masks are 32-bit', () => {
    const { smd, loop, got, peer } = setup();
    peer('top', 0x80000000);
    expect(smd.send(2 ** 31, 'hi')).toBe(true);
    expect(smd.send(2 ** 32, 'wraps to 0')).toBe(false);
    loop.tick();
    expect(got).toEqual([`top ${2 ** 31} ${loop.now} hi`]);
  });

  test('a payload over 384 bytes is ERR_SMD_PAYLOAD_SIZE; 384 is fine', () => {
    const { smd, peer } = setup();
    peer('a', 1);
    expect(smd.send(1, new Uint8Array(384))).toBe(true);
    expect(codeOf(() => smd.send(1, new Uint8Array(385)))).toBe('ERR_SMD_PAYLOAD_SIZE');
    expect(codeOf(() => smd.send(1, '€'.repeat(129)))).toBe('ERR_SMD_PAYLOAD_SIZE');
    expect(smd.pending).toBe(1);
  });
});

describe('bounds', () => {
  test('a full queue refuses with false and counts the drop', () => {
    const { smd, loop, got, peer } = setup({ maxQueueDepth: 2 });
    peer('a', 1);
    expect(smd.send(1, 'one')).toBe(true);
    expect(smd.send(1, 'two')).toBe(true);
    expect(smd.send(1, 'three')).toBe(false);
    expect(smd.stats).toMatchObject({ sent: 2, dropped: 1 });
    loop.tick();
    expect(got.map((g) => g.split(' ').at(-1))).toEqual(['one', 'two']);
    expect(smd.send(1, 'four')).toBe(true); // room again once delivered
  });

  test('messages older than the TTL at delivery are dropped and counted', () => {
    const { smd, loop, got, peer } = setup({ ttlUs: 1000 });
    peer('a', 1);
    smd.send(1, 'stale');
    loop.now += 600;
    smd.send(1, 'fresh');
    loop.now += 500; // stale is 1100 µs old, fresh 500
    loop.tick();
    expect(got.map((g) => g.split(' ').at(-1))).toEqual(['fresh']);
    expect(smd.stats).toMatchObject({ sent: 2, delivered: 1, expired: 1 });
  });

  test('exactly TTL old is still delivered (lws expires when older than the TTL)', () => {
    const { smd, loop, got, peer } = setup({ ttlUs: 1000 });
    peer('a', 1);
    smd.send(1, 'edge');
    loop.advance(1000);
    expect(got.length).toBe(1);
  });
});

describe('peers', () => {
  test('a peer registered after the send does not get it', () => {
    const { smd, loop, got, peer } = setup();
    peer('early', 1);
    smd.send(1, 'm1');
    peer('late', 1);
    loop.tick();
    expect(got.map((g) => g.split(' ')[0])).toEqual(['early']);
    smd.send(1, 'm2');
    loop.tick();
    expect(got.slice(1).map((g) => g.split(' ')[0])).toEqual(['early', 'late']);
  });

  test('a peer unregistered before delivery does not get it; the union shrinks', () => {
    const { smd, loop, got, peer } = setup();
    const a = peer('a', SMD_CLASS_NETWORK);
    peer('b', SMD_CLASS_INTERACTION);
    smd.send(SMD_CLASS_NETWORK, 'x');
    smd.unregister(a);
    smd.unregister(a); // harmless
    loop.tick();
    expect(got).toEqual([]);
    expect(smd.send(SMD_CLASS_NETWORK, 'y')).toBe(false);
    expect(smd.send(SMD_CLASS_INTERACTION, 'z')).toBe(true);
  });

  test('a peer unregistered by another peer mid-delivery is skipped', () => {
    const { smd, loop, got, peer } = setup();
    let victim: ReturnType<typeof peer> | undefined;
    smd.register(1, () => smd.unregister(victim!), 'killer');
    victim = peer('victim', 1);
    smd.send(1, 'x');
    loop.tick();
    expect(got).toEqual([]);
  });

  test('a throwing peer does not stop the others; reported through onPeerError', () => {
    const errors: SmdPeerError[] = [];
    const { smd, loop, got, peer } = setup({ onPeerError: (e) => errors.push(e) });
    const boom = new Error('boom');
    smd.register(SMD_CLASS_NETWORK, () => {
      throw boom;
    }, 'bad');
    peer('good', SMD_CLASS_NETWORK);
    smd.send(SMD_CLASS_NETWORK, 'x');
    smd.send(SMD_CLASS_NETWORK, 'y');
    loop.tick();
    expect(got.map((g) => g.split(' ').at(-1))).toEqual(['x', 'y']);
    expect(errors.length).toBe(2);
    expect(errors[0]).toBeInstanceOf(SmdPeerError);
    expect(errors[0]?.code).toBe('ERR_SMD_PEER_THREW');
    expect(errors[0]?.detail).toEqual({ peer: 'bad', cls: SMD_CLASS_NETWORK });
    expect(errors[0]?.cause).toBe(boom);
    expect(smd.stats).toMatchObject({ delivered: 4, peerErrors: 2 });
  });

  test('a throwing peer without onPeerError is only counted', () => {
    const { smd, loop } = setup();
    smd.register(1, () => {
      throw new Error('x');
    });
    smd.send(1, 'x');
    expect(() => loop.tick()).not.toThrow();
    expect(smd.stats.peerErrors).toBe(1);
  });

  test('messages sent from a callback wait for the next iteration (no ping-pong in one pass)', () => {
    const { smd, loop } = setup();
    const seen: string[] = [];
    smd.register(1, (_c, ts, p) => {
      const s = utf8Decode(p);
      seen.push(`${s}@${ts}`);
      if (s === 'ping') smd.send(1, 'pong');
    });
    smd.send(1, 'ping');
    const t0 = loop.now;
    loop.tick();
    expect(seen).toEqual([`ping@${t0}`]);
    expect(smd.pending).toBe(1);
    loop.tick(); // same instant: the follow-up pass is at least 1 µs later
    expect(seen.length).toBe(1);
    loop.advance(1);
    expect(seen).toEqual([`ping@${t0}`, `pong@${t0}`]);
  });

  test('destroy drops messages and peers and disarms delivery', () => {
    const { smd, loop, got, peer } = setup();
    peer('a', 1);
    smd.send(1, 'x');
    smd.destroy();
    expect(loop.sul.count).toBe(0);
    expect(smd.pending).toBe(0);
    loop.tick();
    expect(got).toEqual([]);
    expect(smd.send(1, 'y')).toBe(false);
  });

  test('the mask is taken as unsigned 32-bit', () => {
    const { smd } = setup();
    expect(smd.register(-1, () => {}).classMask).toBe(0xffffffff);
    expect(smd.register(2 ** 32 + 3, () => {}).classMask).toBe(3);
  });
});
