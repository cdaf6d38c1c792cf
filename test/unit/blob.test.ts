import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { BLOB_SLOT_COUNT, Blob, BlobType, Blobs } from '../../src/system/blob.js';
import { utf8Encode } from '../../src/util/utf8.js';
import { codeOf } from '../helpers/errors.js';


describe('BlobType', () => {
  test('values follow lws_system_blob_item_t', () => {
    expect(BlobType).toEqual({
      AUTH: 0,
      CLIENT_CERT_DER: 2,
      CLIENT_KEY_DER: 3,
      DEVICE_SERIAL: 4,
      DEVICE_FW_VERSION: 5,
      DEVICE_TYPE: 6,
      NTP_SERVER: 7,
      MQTT_CLIENT_ID: 8,
      MQTT_USERNAME: 9,
      MQTT_PASSWORD: 10,
    });
    expect(BLOB_SLOT_COUNT).toBe(11);
  });
});

describe('Blob', () => {
  test('a new blob is empty', () => {
    const b = new Blob();
    expect(b.size).toBe(0);
    expect(b.get().length).toBe(0);
    expect(b.copyOut(new Uint8Array(4))).toBe(0);
    expect(b.text()).toBe('');
  });

  test('setDirect keeps a view, no copy', () => {
    const src = Uint8Array.from([1, 2, 3, 4]);
    const b = new Blob();
    b.setDirect(src);
    expect(b.size).toBe(4);
    expect(b.get()).toBe(src);
    src[0] = 9;
    expect(b.get()[0]).toBe(9);
  });

  test('append copies each chunk and get joins them', () => {
    const b = new Blob();
    const c1 = Uint8Array.from([1, 2]);
    b.append(c1);
    b.append(new Uint8Array(0));
    b.append(Uint8Array.from([3, 4, 5]));
    c1[0] = 99;
    expect(b.size).toBe(5);
    const joined = b.get();
    expect(Array.from(joined)).toEqual([1, 2, 3, 4, 5]);
    expect(b.get()).toBe(joined); // kept joined
    b.append(Uint8Array.from([6]));
    expect(Array.from(b.get())).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('copyOut from an offset, limited by the destination', () => {
    const b = new Blob();
    b.append(Uint8Array.from([1, 2, 3]));
    b.append(Uint8Array.from([4, 5]));
    b.append(Uint8Array.from([6, 7, 8, 9]));
    const into = new Uint8Array(4);
    expect(b.copyOut(into, 2)).toBe(4);
    expect(Array.from(into)).toEqual([3, 4, 5, 6]);
    expect(b.copyOut(into, 7)).toBe(2);
    expect(Array.from(into.subarray(0, 2))).toEqual([8, 9]);
    expect(b.copyOut(into, 9)).toBe(0);
    expect(b.copyOut(new Uint8Array(0), 0)).toBe(0);
  });

  test('copyOut from a direct blob', () => {
    const b = new Blob();
    b.setDirect(Uint8Array.from([10, 11, 12]));
    const into = new Uint8Array(8);
    expect(b.copyOut(into, 1)).toBe(2);
    expect(Array.from(into.subarray(0, 2))).toEqual([11, 12]);
  });

  test('copyOut agrees with slicing get(), for any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 6 }), fc.nat(40), fc.nat(12), (chunks, off, cap) => {
        const b = new Blob();
        for (const c of chunks) b.append(c);
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
        let o = 0;
        for (const c of chunks) {
          all.set(c, o);
          o += c.length;
        }
        const into = new Uint8Array(cap);
        if (off > all.length) {
          expect(codeOf(() => b.copyOut(into, off))).toBe('ERR_BLOB_RANGE');
          return;
        }
        const n = b.copyOut(into, off);
        const want = all.subarray(off, off + cap);
        expect(n).toBe(want.length);
        expect(Array.from(into.subarray(0, n))).toEqual(Array.from(want));
        expect(Array.from(b.get())).toEqual(Array.from(all));
      }),
      { numRuns: 500 },
    );
  });

  test('copyOut offset beyond size, negative or fractional is ERR_BLOB_RANGE', () => {
    const b = new Blob();
    b.setDirect(Uint8Array.from([1, 2]));
    for (const off of [3, -1, 0.5]) expect(codeOf(() => b.copyOut(new Uint8Array(2), off))).toBe('ERR_BLOB_RANGE');
  });

  test('appending to a direct blob is ERR_BLOB_DIRECT until reset', () => {
    const b = new Blob();
    b.setDirect(Uint8Array.from([1]));
    expect(codeOf(() => b.append(Uint8Array.from([2])))).toBe('ERR_BLOB_DIRECT');
    b.reset();
    expect(b.size).toBe(0);
    b.append(Uint8Array.from([2]));
    expect(Array.from(b.get())).toEqual([2]);
  });

  test('setDirect replaces appended chunks', () => {
    const b = new Blob();
    b.append(Uint8Array.from([1, 2, 3]));
    b.setDirect(Uint8Array.from([7]));
    expect(b.size).toBe(1);
    expect(Array.from(b.get())).toEqual([7]);
  });

  test('text() decodes UTF-8 and rejects invalid bytes', () => {
    const b = new Blob();
    b.append(utf8Encode('séri'));
    b.append(utf8Encode('al-€'));
    expect(b.text()).toBe('sérial-€');
    b.reset();
    b.append(Uint8Array.from([0xc3]));
    expect(() => b.text()).toThrow(expect.objectContaining({ code: 'ERR_UTF8' }));
  });
});

describe('Blobs', () => {
  test('every slot is its own blob; AUTH has two', () => {
    const blobs = new Blobs();
    const seen = new Set<Blob>();
    seen.add(blobs.get(BlobType.AUTH, 0));
    seen.add(blobs.get(BlobType.AUTH, 1));
    for (const t of Object.values(BlobType)) seen.add(blobs.get(t));
    expect(seen.size).toBe(BLOB_SLOT_COUNT);
    expect(blobs.get(BlobType.AUTH)).toBe(blobs.get(BlobType.AUTH, 0));
    blobs.get(BlobType.DEVICE_SERIAL).setDirect(utf8Encode('SN1'));
    expect(blobs.get(BlobType.DEVICE_SERIAL).text()).toBe('SN1');
  });

  test('bad type or index is ERR_BLOB_TYPE', () => {
    const blobs = new Blobs();
    const bad: Array<[number, number]> = [
      [BlobType.AUTH, 2],
      [BlobType.AUTH, -1],
      [BlobType.CLIENT_CERT_DER, 1],
      [1, 0], // the second AUTH slot is not a type of its own
      [11, 0],
      [-1, 0],
      [2.5, 0],
      [BlobType.NTP_SERVER, 0.5],
    ];
    for (const [t, i] of bad) expect(codeOf(() => blobs.get(t as BlobType, i))).toBe('ERR_BLOB_TYPE');
  });
});
