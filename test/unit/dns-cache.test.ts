/** The DNS cache: TTL expiry, LRU bound, and held entries never evicted. */
import { expect, test } from '@jest/globals';
import fc from 'fast-check';
import { DnsCache } from '../../src/services/dns/cache.js';
import type { DnsAnswer } from '../../src/services/dns/cache.js';

const answer = (address: string): DnsAnswer => ({ kind: 'addresses', canonicalName: 'x', v4: [{ family: 4, address, ttl: 60 }], v6: [] });
const S = 1_000_000;

test('an entry is found until its expiry, then never again', () => {
  const c = new DnsCache(10);
  c.put('k', answer('10.0.0.1'), 5 * S, 0);
  expect(c.get('k', 5 * S - 1)?.value).toEqual(answer('10.0.0.1'));
  expect(c.get('k', 5 * S)).toBeUndefined();
  expect(c.get('k', 0)).toBeUndefined();
  expect(c.stats).toMatchObject({ hits: 1, misses: 2, expirations: 1 });
});

test('already-expired or zero-capacity answers are delivered detached, not cached', () => {
  const c = new DnsCache(10);
  expect(c.put('k', answer('10.0.0.1'), 7, 7).cached).toBe(false);
  expect(c.size).toBe(0);
  const none = new DnsCache(0);
  expect(none.put('k', answer('10.0.0.1'), 10 * S, 0).cached).toBe(false);
});

test('full: the least recently used unheld entry goes, an expired one first', () => {
  const c = new DnsCache(3);
  c.put('a', answer('1.1.1.1'), 100 * S, 0);
  c.put('b', answer('2.2.2.2'), 100 * S, 0);
  c.put('c', answer('3.3.3.3'), 100 * S, 0);
  c.get('a', 1); // a is now the most recent: b is the least
  c.put('d', answer('4.4.4.4'), 100 * S, 1);
  expect(c.get('b', 2)).toBeUndefined();
  expect(c.get('a', 2)).toBeDefined();
  const short = new DnsCache(2);
  short.put('old', answer('1.1.1.1'), 100 * S, 0);
  short.put('soon', answer('2.2.2.2'), 5 * S, 0);
  short.put('new', answer('3.3.3.3'), 100 * S, 6 * S);
  expect(short.get('old', 6 * S)).toBeDefined();
  expect(short.stats).toMatchObject({ evictions: 0, expirations: 1 });
});

test('a held entry is never evicted; with every entry held a new answer is not cached', () => {
  const c = new DnsCache(2);
  const a = c.put('a', answer('1.1.1.1'), 100 * S, 0);
  const b = c.put('b', answer('2.2.2.2'), 100 * S, 0);
  c.acquire(a);
  c.acquire(b);
  const d = c.put('d', answer('4.4.4.4'), 100 * S, 1);
  expect(d.cached).toBe(false);
  expect(c.stats.uncachedFull).toBe(1);
  expect(c.get('a', 2)).toBe(a);
  expect(c.get('b', 2)).toBe(b);
  c.release(a);
  // a is now the least recently used unheld entry: it makes room
  const e = c.put('e', answer('5.5.5.5'), 100 * S, 3);
  expect(e.cached).toBe(true);
  expect(a.cached).toBe(false);
  expect(c.get('b', 4)).toBe(b);
});

test('replacing a key detaches the old entry; its holder keeps the old data', () => {
  const c = new DnsCache(4);
  const old = c.put('k', answer('1.1.1.1'), 100 * S, 0);
  c.acquire(old);
  c.put('k', answer('2.2.2.2'), 100 * S, 1);
  expect(old.cached).toBe(false);
  expect(old.value).toEqual(answer('1.1.1.1'));
  expect(c.get('k', 2)?.value).toEqual(answer('2.2.2.2'));
});

test('random operations: never more than capacity, never a held entry lost', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), key: fc.integer({ min: 0, max: 7 }), ttl: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('hold' as const), key: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('release' as const), key: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('tick' as const), by: fc.integer({ min: 1, max: 5 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 80 }), (cap, ops) => {
      const c = new DnsCache(cap);
      let now = 0;
      const held = new Map<number, ReturnType<DnsCache['put']>[]>();
      const replaced = new Set<ReturnType<DnsCache['put']>>();
      for (const o of ops) {
        if (o.kind === 'tick') now += o.by * S;
        else if (o.kind === 'put') {
          c.put(String(o.key), answer(`10.0.0.${o.key}`), now + o.ttl * S, now);
          for (const e of held.get(o.key) ?? []) replaced.add(e);
        }
        else if (o.kind === 'get') c.get(String(o.key), now);
        else if (o.kind === 'hold') {
          const e = c.get(String(o.key), now);
          if (e) {
            c.acquire(e);
            held.set(o.key, [...(held.get(o.key) ?? []), e]);
          }
        } else {
          const e = held.get(o.key)?.pop();
          if (e) c.release(e);
        }
        expect(c.size).toBeLessThanOrEqual(cap);
        // a held entry that has not expired or been replaced is still what the cache returns
        for (const [key, list] of held) {
          for (const e of list) {
            if (e.expiresUs > now && !replaced.has(e)) expect(c.get(String(key), now)).toBe(e);
          }
        }
      }
    }),
    { numRuns: 500 },
  );
});
