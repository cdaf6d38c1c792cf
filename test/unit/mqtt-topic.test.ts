/**
 * Topic names, filters and matching: the spec's own examples (§4.7), shared subscriptions
 * (§4.8.2), then validation and matching against a plain split-on-'/' reference on random
 * strings from a small alphabet (so that wildcards, empty levels and '$' meet often).
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { isValidTopicFilter, isValidTopicName, splitShared, topicMatches } from '../../src/protocols/mqtt/topic.js';

describe('topic names', () => {
  test.each(['a', 'sport/tennis/player1', '/', '//', '/finance', 'sport/', '$SYS/broker', 'Accounts payable', 'é/😀'])('%j is valid', (t) => {
    expect(isValidTopicName(t)).toBe(true);
  });
  test.each(['', 'a/#', '#', '+', 'a/+/b', 'sport+', 'a\u0000b'])('%j is not', (t) => {
    expect(isValidTopicName(t)).toBe(false);
  });
});

describe('topic filters', () => {
  test.each(['#', '+', 'sport/#', 'sport/tennis/#', '+/tennis/#', 'sport/+/player1', '+/+', '/+', 'a//b', '/', '$SYS/#', '$share/g/a/+', '$share/g/#'])('%j is valid', (f) => {
    expect(isValidTopicFilter(f)).toBe(true);
  });
  test.each(['', 'sport/tennis#', 'sport/tennis/#/ranking', 'sport+', 'a/b+/c', '#/a', '++', 'a\u0000', '$share/', '$share/g', '$share/g/', '$share//a', '$share/g+/a', '$share/#/a', '$share/g/a/#/b'])(
    '%j is not',
    (f) => {
      expect(isValidTopicFilter(f)).toBe(false);
    },
  );

  test('3.1.1 has no shared subscriptions: $share/ is an ordinary level', () => {
    expect(isValidTopicFilter('$share/g', 4)).toBe(true);
    expect(isValidTopicFilter('$share/g', 5)).toBe(false);
  });

  test('splitShared', () => {
    expect(splitShared('$share/consumer1/sport/tennis/+')).toEqual({ shareName: 'consumer1', filter: 'sport/tennis/+' });
    expect(splitShared('$share/g//x')).toEqual({ shareName: 'g', filter: '/x' });
    expect(splitShared('sport/#')).toBeUndefined();
    expect(splitShared('$share/g')).toBeUndefined();
    expect(splitShared('$share//a')).toBeUndefined();
    expect(splitShared('$share/g#/a')).toBeUndefined();
  });
});

describe('matching: the spec\'s examples', () => {
  const cases: [string, string, boolean][] = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'sport/tennis', true],
    ['#', '/', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['+/tennis/#', 'sport/tennis/player1', true],
    ['#', '$SYS/monitor/Clients', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['$SYS/#', '$SYS', true],
    ['ACCOUNTS', 'Accounts', false],
    ['Accounts payable', 'Accounts payable', true],
    ['a/b', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
  ];
  test.each(cases)('%j ~ %j → %s', (f, t, want) => {
    expect(topicMatches(f, t)).toBe(want);
  });
});

/** The obvious implementation, to compare with the in-place one. */
function refMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function refValidPlain(f: string): boolean {
  if (f === '' || f.includes('\u0000')) return false;
  const levels = f.split('/');
  return levels.every((l, i) => (l === '#' ? i === levels.length - 1 : l === '+' || (!l.includes('+') && !l.includes('#'))));
}

function refValid(f: string, v: 4 | 5): boolean {
  if (v === 5 && f.startsWith('$share/')) {
    const rest = f.slice('$share/'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) return false;
    const name = rest.slice(0, slash);
    return !name.includes('+') && !name.includes('#') && refValidPlain(rest.slice(slash + 1));
  }
  return refValidPlain(f);
}

describe('against a reference, on random strings', () => {
  const piece = fc.constantFrom('a', 'b', 'ab', '/', '+', '#', '$', '$share/', 'é', '\u0000');
  const anyFilter = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
  const level = fc.constantFrom('a', 'b', 'ab', '', '$x');
  const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/')).filter((t) => t.length > 0);
  const filter = fc
    .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 5 }), fc.boolean())
    .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
    .filter((f) => f.length > 0);

  test('filter validation, both versions', () => {
    fc.assert(
      fc.property(anyFilter, fc.constantFrom<4 | 5>(4, 5), (f, v) => {
        expect(isValidTopicFilter(f, v)).toBe(refValid(f, v));
      }),
      { numRuns: 20000 },
    );
  });

  test('topic name validation', () => {
    fc.assert(
      fc.property(anyFilter, (t) => {
        expect(isValidTopicName(t)).toBe(t !== '' && !/[+#\u0000]/.test(t));
      }),
      { numRuns: 5000 },
    );
  });

  test('matching', () => {
    let matched = 0;
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        expect(isValidTopicFilter(f)).toBe(true);
        const want = refMatches(f, t);
        if (want) matched++;
        expect(topicMatches(f, t)).toBe(want);
      }),
      { numRuns: 30000 },
    );
    // the alphabet is small enough that both outcomes are common
    expect(matched).toBeGreaterThan(1000);
  });

  test('a topic name used as a filter matches itself', () => {
    fc.assert(
      fc.property(topic, (t) => {
        expect(topicMatches(t, t)).toBe(true);
      }),
    );
  });
});
