import { parseCliArgs } from './cli-args.js';

describe('parseCliArgs', () => {
  it('maps flags to options', () => {
    expect(
      parseCliArgs([
        '--',
        '--pd-port',
        '2379',
        '--stores',
        '3',
        '--api-version',
        'V2',
        '--split-keys',
        'a,b',
        '--store-ports',
        '1,2',
      ]),
    ).toEqual({
      pdPort: 2379,
      stores: 3,
      storePorts: [1, 2],
      regions: undefined,
      splitKeys: ['a', 'b'],
      apiVersion: 'V2',
      host: undefined,
      unref: false,
    });
    expect(parseCliArgs(['--help'])).toBe('help');
  });
  it('rejects bad values', () => {
    expect(() => parseCliArgs(['--stores', 'x'])).toThrow(RangeError);
    expect(() => parseCliArgs(['--api-version', 'V3'])).toThrow(RangeError);
  });
});
