import {
  apiModesFrom,
  apiVersionFrom,
  parseEndpoints,
  startTarget,
  TargetKind,
  targetKindFrom,
} from '../src/cluster-target.js';

describe('cluster target selection', () => {
  test('no environment means an embedded cluster', () => {
    expect(targetKindFrom({})).toBe(TargetKind.Embedded);
  });

  test('TIKV_PD_ENDPOINTS selects an existing cluster, even with testcontainers asked for', () => {
    expect(targetKindFrom({ TIKV_PD_ENDPOINTS: '127.0.0.1:2379', TIKV_E2E_TESTCONTAINERS: '1' })).toBe(
      TargetKind.External,
    );
    expect(targetKindFrom({ TIKV_PD_ENDPOINTS: '   ' })).toBe(TargetKind.Embedded);
  });

  test('TIKV_E2E_TESTCONTAINERS=1 selects containers', () => {
    expect(targetKindFrom({ TIKV_E2E_TESTCONTAINERS: '1' })).toBe(TargetKind.Testcontainers);
    expect(targetKindFrom({ TIKV_E2E_TESTCONTAINERS: '0' })).toBe(TargetKind.Embedded);
  });

  test('endpoints are split, trimmed and stripped of a scheme', () => {
    expect(parseEndpoints(' http://127.0.0.1:2379, 127.0.0.2:2379 ,,')).toEqual([
      '127.0.0.1:2379',
      '127.0.0.2:2379',
    ]);
  });

  test('TIKV_E2E_API_VERSION names the API version of a cluster the suites did not start', () => {
    expect(apiVersionFrom({})).toBe('V1');
    expect(apiVersionFrom({ TIKV_E2E_API_VERSION: ' 1 ' })).toBe('V1');
    expect(apiVersionFrom({ TIKV_E2E_API_VERSION: 'v2' })).toBe('V2');
    expect(apiVersionFrom({ TIKV_E2E_API_VERSION: '2' })).toBe('V2');
    expect(() => apiVersionFrom({ TIKV_E2E_API_VERSION: '3' })).toThrow(RangeError);
  });

  test('the embedded cluster runs API V1 and V2; other targets the one mode the environment names', () => {
    expect(apiModesFrom({})).toEqual([
      { apiVersion: 'V1', keyspace: '' },
      { apiVersion: 'V2', keyspace: 'e2e_ks' },
    ]);
    expect(apiModesFrom({}, [{ apiVersion: 'V2', keyspace: 'x' }])).toEqual([
      { apiVersion: 'V2', keyspace: 'x' },
    ]);
    const external = { TIKV_PD_ENDPOINTS: '127.0.0.1:2379' };
    expect(apiModesFrom(external)).toEqual([{ apiVersion: 'V1', keyspace: '' }]);
    expect(apiModesFrom({ ...external, TIKV_E2E_KEYSPACE: 'ks' })).toEqual([
      { apiVersion: 'V1', keyspace: '' },
    ]);
    expect(apiModesFrom({ ...external, TIKV_E2E_API_VERSION: '2', TIKV_E2E_KEYSPACE: ' ks ' })).toEqual([
      { apiVersion: 'V2', keyspace: 'ks' },
    ]);
    expect(apiModesFrom({ TIKV_E2E_TESTCONTAINERS: '1', TIKV_E2E_API_VERSION: '2' })).toEqual([
      { apiVersion: 'V2', keyspace: '' },
    ]);
  });

  test('an external target starts nothing and closes cleanly', async () => {
    const target = await startTarget({
      env: { TIKV_PD_ENDPOINTS: '127.0.0.1:1', TIKV_E2E_API_VERSION: '2' },
    });
    expect(target.kind).toBe(TargetKind.External);
    expect(target.apiVersion).toBe('V2');
    expect(target.pdEndpoints).toEqual(['127.0.0.1:1']);
    expect(target.mock).toBeUndefined();
    await target.close();
  });

  test('the embedded target serves PD on loopback and releases it on close', async () => {
    const target = await startTarget({ env: {}, stores: 2 });
    try {
      expect(target.kind).toBe(TargetKind.Embedded);
      expect(target.pdEndpoints[0]).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(target.mock?.stores()).toHaveLength(2);
      expect(target.apiVersion).toBe('V1');
    } finally {
      await target.close();
    }
    expect(target.mock?.closed).toBe(true);
  });

  test('the embedded target sends region keys in the encoding asked for (txn suites in API V1)', async () => {
    const target = await startTarget({ env: {}, stores: 1, regionKeyEncoding: 'memcomparable' });
    try {
      expect(target.mock?.options.regionKeyEncoding).toBe('memcomparable');
    } finally {
      await target.close();
    }
  });

  test('the embedded target starts in API V2 with the keyspaces asked for, on the given clock', async () => {
    const target = await startTarget({
      env: {},
      stores: 1,
      apiVersion: 'V2',
      keyspaces: ['one', 'two'],
      nowMs: () => 1_700_000_000_000,
    });
    try {
      expect(target.apiVersion).toBe('V2');
      expect(target.mock?.keyspaces().map((k) => [k.name, k.state])).toEqual([
        ['DEFAULT', 'enabled'],
        ['one', 'enabled'],
        ['two', 'enabled'],
      ]);
    } finally {
      await target.close();
    }
  });
});
