import { formatRegionVerId, regionVerIdKey } from './region-ver-id.js';

describe('region version ids', () => {
  test('a map key and a readable form', () => {
    expect(regionVerIdKey({ id: 3n, confVer: 4n, version: 6n })).toBe('3:4:6');
    expect(formatRegionVerId({ id: 3n, confVer: 4n, version: 6n })).toContain('region id: 3');
  });
});
