/**
 * `${metadata}` expansion, lws' lws_strexp rules, whole and streamed.
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { MetadataError, MetadataExpander, createMetadataExpander, expandMetadata, parsePolicy } from '../../src/ss/policy/index.js';

const st = parsePolicy(`{ "s": [{ "ota": {
  "endpoint": "\${region}.example.com", "http_url": "firmware/\${variant}/\${file}",
  "metadata": [{ "region": "", "variant": "", "file": "", "ctype": "content-type:" }] } }] }`).streamtypes.ota!;

function refusal(fn: () => unknown): MetadataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MetadataError);
    return e as MetadataError;
  }
  throw new Error('expected a MetadataError');
}

describe('expandMetadata', () => {
  test.each([
    ['${region}.example.com', { region: 'uk' }, 'uk.example.com'],
    ['firmware/${variant}/${file}', { variant: 'esp32', file: 'a.bin' }, 'firmware/esp32/a.bin'],
    // declared but unset: nothing
    ['firmware/${variant}/${file}', { variant: 'esp32' }, 'firmware/esp32/'],
    ['${region}', { region: undefined }, ''],
    // no escaping is added to values
    ['q=${file}', { file: 'a b&c/${x}' }, 'q=a b&c/${x}'],
    // `$` not followed by `{` is literal
    ['cost $5 and $', {}, 'cost $5 and $'],
    ['$$${file}', { file: 'f' }, '$$f'],
    ['a$}b', {}, 'a$}b'],
    // an unterminated `${` is swallowed
    ['abc${file', { file: 'f' }, 'abc'],
    ['', {}, ''],
    ['no refs', {}, 'no refs'],
  ])('%j with %j → %j', (tpl, values, want) => {
    expect(expandMetadata(tpl, st, values)).toBe(want);
    expect(expandMetadata(tpl, st, new Map(Object.entries(values)))).toBe(want);
  });

  test('a name not declared by the streamtype is refused, with where it was', () => {
    const e = refusal(() => expandMetadata('x/${variant}/${host}', st, { host: 'h' }));
    expect(e.code).toBe('ERR_METADATA_UNDECLARED');
    expect(e.detail).toEqual({ name: 'host', offset: 13 });
    expect(refusal(() => expandMetadata('${}', st, {})).code).toBe('ERR_METADATA_UNDECLARED');
    // inherited object properties are not values
    expect(expandMetadata('${file}', { metadata: [{ name: 'file', value: '' }, { name: 'toString', value: '' }] }, {})).toBe('');
    expect(refusal(() => expandMetadata('${toString}', st, {})).code).toBe('ERR_METADATA_UNDECLARED');
  });

  test('a name longer than 31 characters is refused as soon as the 32nd arrives', () => {
    const n31 = 'n'.repeat(31);
    const long = { metadata: [{ name: n31, value: '' }] };
    expect(expandMetadata(`\${${n31}}`, long, { [n31]: 'v' })).toBe('v');
    const x = createMetadataExpander(long, {});
    expect(x.write('ab${' + n31)).toBe('ab');
    const e = refusal(() => x.write('n'));
    expect(e.code).toBe('ERR_METADATA_NAME_TOO_LONG');
    expect(e.detail).toEqual({ name: n31, offset: 2 });
    // also when the template ends before the `}`
    expect(refusal(() => expandMetadata(`\${${n31}n`, long, {})).code).toBe('ERR_METADATA_NAME_TOO_LONG');
  });
});

describe('MetadataExpander (streaming)', () => {
  test('a template split anywhere expands to the same text, and output comes as soon as it is known', () => {
    const values = { region: 'eu-west-1', variant: 'v'.repeat(5000), file: 'f.bin' };
    const tpl = 'https://${region}.x/$$/${variant}/a$b/${file}?${ctype}&end$';
    const want = expandMetadata(tpl, st, values);
    expect(want).toBe(`https://eu-west-1.x/$$/${values.variant}/a$b/f.bin?&end$`);
    fc.assert(
      fc.property(fc.array(fc.nat(tpl.length), { maxLength: 10 }), (cuts) => {
        const x = createMetadataExpander(st, values);
        let out = '';
        let prev = 0;
        for (const c of [...cuts].sort((a, b) => a - b)) {
          out += x.write(tpl.slice(prev, c));
          prev = c;
        }
        out += x.write(tpl.slice(prev)) + x.end();
        expect(out).toBe(want);
      }),
    );
    // literal text is released at once, a reference once its `}` is seen
    const x = createMetadataExpander(st, values);
    expect(x.write('https://')).toBe('https://');
    expect(x.write('${reg')).toBe('');
    expect(x.write('ion}.')).toBe('eu-west-1.');
    expect(x.write('$')).toBe('');
    expect(x.end()).toBe('$');
  });

  test('the expander is reusable after end(), and works from plain callbacks', () => {
    const x = new MetadataExpander((n) => n === 'a', (n) => (n === 'a' ? 'A' : undefined));
    expect(x.write('${a}${') + x.end()).toBe('A');
    expect(x.write('[${a}]') + x.end()).toBe('[A]');
  });

  test('random templates over declared names: streaming equals whole, refs replaced by values', () => {
    const names = ['region', 'variant', 'file'];
    const piece = fc.oneof(
      fc.constantFrom(...names).map((n) => `\${${n}}`),
      fc.string({ unit: fc.constantFrom('a', '/', '$', '{', '}', 'é') }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.dictionary(fc.constantFrom(...names), fc.string()), fc.nat(20), (parts, values, step) => {
        const tpl = parts.join('');
        let whole: string | MetadataError;
        try {
          whole = expandMetadata(tpl, st, values);
        } catch (e) {
          expect(e).toBeInstanceOf(MetadataError);
          whole = e as MetadataError;
        }
        const x = createMetadataExpander(st, values);
        let out = '';
        try {
          for (let i = 0; i < tpl.length; i += step + 1) out += x.write(tpl.slice(i, i + step + 1));
          out += x.end();
          expect(out).toBe(whole);
        } catch (e) {
          expect(e).toBeInstanceOf(MetadataError);
          expect((e as MetadataError).code).toBe((whole as MetadataError).code);
        }
      }),
      { numRuns: 500 },
    );
  });
});
