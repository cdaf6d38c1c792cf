/** Request targets: forms, percent-decoding, query arguments. */
import fc from 'fast-check';
import { H1Error } from '../../src/protocols/h1/errors.js';
import { parseQuery, parseRequestTarget, percentDecode } from '../../src/protocols/h1/url.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(H1Error);
    expect((e as H1Error).status).toBe(400);
    return (e as H1Error).code;
  }
  return undefined;
};

test('origin-form: path decoded, query kept raw', () => {
  expect(parseRequestTarget('GET', '/a/%E2%82%AC%20x/?k=v%26w&z')).toEqual({ form: 'origin', scheme: undefined, authority: undefined, rawPath: '/a/%E2%82%AC%20x/', path: '/a/€ x/', query: 'k=v%26w&z' });
  expect(parseRequestTarget('GET', '/')).toMatchObject({ path: '/', query: undefined });
  expect(parseRequestTarget('GET', '/?')).toMatchObject({ path: '/', query: '' });
  // '+' is a space only in queries
  expect(parseRequestTarget('GET', '/a+b').path).toBe('/a+b');
});

test('absolute-form, authority-form, asterisk-form', () => {
  expect(parseRequestTarget('GET', 'HTTP://h.example:81')).toMatchObject({ form: 'absolute', scheme: 'http', authority: 'h.example:81', path: '/', query: undefined });
  expect(parseRequestTarget('GET', 'https://h?x=1')).toMatchObject({ form: 'absolute', scheme: 'https', authority: 'h', rawPath: '/', query: 'x=1' });
  expect(parseRequestTarget('GET', 'http://u@h/p%41')).toMatchObject({ authority: 'u@h', path: '/pA' });
  expect(parseRequestTarget('CONNECT', '[::1]:8443')).toMatchObject({ form: 'authority', authority: '[::1]:8443' });
  expect(parseRequestTarget('OPTIONS', '*')).toMatchObject({ form: 'asterisk' });
});

test.each([
  ['GET', 'a'],
  ['GET', '*'],
  ['GET', 'http:/x'],
  ['GET', '1http://x/'],
  ['GET', 'http:///x'],
  ['GET', '/a#f'],
  ['GET', '/%'],
  ['GET', '/%4'],
  ['GET', '/%zz'],
  ['GET', '/%C3'],
  ['GET', '/%ED%A0%80'],
  ['GET', '/%00'],
  ['CONNECT', 'host'],
  ['CONNECT', 'host:'],
  ['CONNECT', 'host:8x'],
  ['CONNECT', '/path'],
  ['CONNECT', 'http://h:1/'],
])('%s %s is refused', (m, t) => {
  expect(code(() => parseRequestTarget(m, t))).toBe('ERR_H1_TARGET');
});

test('query arguments: + and %XX decoded, order and duplicates kept, empty pieces skipped', () => {
  expect(parseQuery('a=1&b=x+y&a=%3D%26&&flag&=v&e=')).toEqual([
    ['a', '1'],
    ['b', 'x y'],
    ['a', '=&'],
    ['flag', ''],
    ['', 'v'],
    ['e', ''],
  ]);
  expect(parseQuery('')).toEqual([]);
  expect(parseQuery('k=%E6%97%A5%E6%9C%AC')).toEqual([['k', '日本']]);
  expect(code(() => parseQuery('a=%G1'))).toBe('ERR_H1_TARGET');
  expect(code(() => parseQuery('a=%FF'))).toBe('ERR_H1_TARGET');
});

test('percentDecode inverts encodeURIComponent on any string', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => {
      expect(percentDecode(encodeURIComponent(s))).toBe(s);
      expect(percentDecode(encodeURIComponent(s).replace(/%20/g, '+'), true)).toBe(s);
    }),
    { numRuns: 500 },
  );
});

test('percentDecode on arbitrary strings: a string or the typed error, and agrees with decodeURIComponent', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9%/+]{0,24}$/), (s) => {
      let ref: string | undefined;
      try {
        ref = decodeURIComponent(s);
      } catch {
        ref = undefined;
      }
      let ours: string | undefined;
      try {
        ours = percentDecode(s);
      } catch (e) {
        expect(e).toBeInstanceOf(H1Error);
      }
      expect(ours).toBe(ref);
    }),
    { numRuns: 2000 },
  );
});
