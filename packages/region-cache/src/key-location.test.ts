// client-go region_cache_test.go TestBucketClampingToRegion: a bucket is clipped to its region.
import { toBytes as b } from '@tikv/common';
import { bucketVersion, type KeyLocation, locateBucket } from './key-location.js';

const str = (k: Uint8Array | undefined): string => Buffer.from(k ?? new Uint8Array(0)).toString();

describe('locateBucket', () => {
  it('TestBucketClampingToRegion', () => {
    const mk = (start: string, end: string, keys: string[]): KeyLocation => ({
      region: { id: 1n, confVer: 1n, version: 1n },
      startKey: b(start),
      endKey: b(end),
      buckets: { version: 1n, keys: keys.map(b) },
    });
    const cases: [string, string, string, string, string, string, string][] = [
      ['within region', 'a', 'z', 'f', 'm', 'f', 'm'],
      ['start before region', 'f', 'z', 'a', 'm', 'f', 'm'],
      ['end after region', 'a', 'm', 'f', 'z', 'f', 'm'],
      ['both outside', 'f', 'm', 'a', 'z', 'f', 'm'],
      ['unbounded bucket end', 'a', 'm', 'f', '', 'f', 'm'],
      ['unbounded region end', 'a', '', 'f', 'z', 'f', 'z'],
    ];
    for (const [name, rs, re, bs, be, ws, we] of cases) {
      const loc = mk(rs, re, [bs, be]);
      const bucket = locateBucket(loc, b(ws));
      expect([name, str(bucket?.startKey), str(bucket?.endKey)]).toEqual([name, ws, we]);
    }
    expect(locateBucket(mk('f', 'm', ['g', 'h']), b('z'))).toBeUndefined();
    const noBuckets: KeyLocation = { ...mk('a', 'z', []), buckets: undefined };
    expect(str(locateBucket(noBuckets, b('c'))?.endKey)).toBe('z');
    expect(bucketVersion(noBuckets)).toBe(0n);
  });
});
