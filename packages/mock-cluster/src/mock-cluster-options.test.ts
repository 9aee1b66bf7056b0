import { InvalidArgumentError, isTiKVError } from '@tikv/common';
import { MockCluster } from './mock-cluster.js';
import { type MockClusterOptions, resolveMockClusterOptions } from './mock-cluster-options.js';

function expectInvalid(options: unknown, message: string): void {
  let thrown: unknown;
  try {
    resolveMockClusterOptions(options as MockClusterOptions);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect(isTiKVError(thrown, 'INVALID_ARGUMENT')).toBe(true);
  expect((thrown as Error).message).toBe(message);
}

describe('MockCluster.start options', () => {
  test('each bad option is named with what it held', () => {
    expectInvalid(null, 'options must be an object or undefined, got null');
    expectInvalid({ stores: 0 }, 'options.stores must be an integer >= 1, got number 0');
    expectInvalid({ stores: '3' }, 'options.stores must be an integer >= 1, got string of length 1');
    expectInvalid({ regions: 1.5 }, 'options.regions must be an integer >= 1, got number 1.5');
    expectInvalid({ stores: 1, replicas: 2 }, 'options.replicas (2) must not exceed options.stores (1)');
    expectInvalid({ apiVersion: 'V9' }, "options.apiVersion must be one of 'V1', 'V2', got 'V9'");
    expectInvalid({ apiVersion: 2 }, "options.apiVersion must be one of 'V1', 'V2', got number 2");
    expectInvalid(
      { regionKeyEncoding: 'hex' },
      "options.regionKeyEncoding must be one of 'raw', 'memcomparable', got 'hex'",
    );
    expectInvalid({ pdPort: 70_000 }, 'options.pdPort must be a port number in [0, 65535], got number 70000');
    expectInvalid(
      { storePorts: [1, -1] },
      'options.storePorts[1] must be a port number in [0, 65535], got number -1',
    );
    expectInvalid({ storePorts: '1,2' }, 'options.storePorts must be an array, got string of length 3');
    expectInvalid({ host: 127 }, 'options.host must be a string or undefined, got number 127');
    expectInvalid({ clusterId: 7 }, 'options.clusterId must be a bigint in [1, 2^64), got number 7');
    expectInvalid(
      { splitKeys: ['a', 1] },
      'options.splitKeys[1] must be a Uint8Array or a string, got number 1',
    );
    expectInvalid({ unref: 'no' }, 'options.unref must be a boolean or undefined, got string of length 2');
    expectInvalid({ nowMs: 5 }, 'options.nowMs must be a function or undefined, got number 5');
    expectInvalid({ keyspaces: [{}] }, 'options.keyspaces[0].name must be a non-empty string, got undefined');
    expectInvalid({ keyspaces: ['ks'] }, 'options.keyspaces[0] must be an object, got string of length 2');
    expectInvalid(
      { storeLabels: [{ zone: 1 }] },
      'options.storeLabels[0].zone must be a string label value under a non-empty key, got number 1',
    );
    expectInvalid(
      { storeLabels: ['z1'] },
      'options.storeLabels[0] must be an object, got string of length 2',
    );
    expectInvalid({ maxKeySizeBytes: -1 }, 'options.maxKeySizeBytes must be an integer >= 1, got number -1');
    expectInvalid(
      { actionOnInvalidMaxTs: 'panic' },
      "options.actionOnInvalidMaxTs must be one of 'error', 'log', got 'panic'",
    );
    expectInvalid({ maxTsDriftMs: -1 }, 'options.maxTsDriftMs must be an integer >= 0, got number -1');
  });

  test('storeLabels label the stores by position', async () => {
    await using cluster = await MockCluster.start({
      storeLabels: [{ zone: 'z1' }, undefined, { zone: 'z3', host: 'h3' }],
    });
    expect(cluster.stores().map((s) => s.labels)).toEqual([{ zone: 'z1' }, {}, { zone: 'z3', host: 'h3' }]);
  });

  test('start rejects before listening on anything', async () => {
    await expect(MockCluster.start({ pdPort: -1 })).rejects.toThrow(
      'options.pdPort must be a port number in [0, 65535], got number -1',
    );
  });

  test('defaults and accepted values', () => {
    const o = resolveMockClusterOptions({
      splitKeys: ['b', Uint8Array.of(1)],
      storePorts: [0],
      keyspaces: [{ name: 'ks' }],
    });
    expect(o.splitKeys).toEqual([new TextEncoder().encode('b'), Uint8Array.of(1)]);
    expect(o.storePorts).toEqual([0]);
    expect(o.storeLabels).toEqual([]);
    expect(o.keyspaces).toEqual([{ name: 'ks' }]);
    expect(o.regionKeyEncoding).toBe('raw');
    expect(resolveMockClusterOptions(undefined).stores).toBe(3);
    // TiKV's max-drift (60 s); its default action, panic, becomes a refused request.
    expect(o.maxTsDriftMs).toBe(60_000);
    expect(o.actionOnInvalidMaxTs).toBe('error');
    expect(resolveMockClusterOptions({ actionOnInvalidMaxTs: 'log', maxTsDriftMs: 0 })).toMatchObject({
      actionOnInvalidMaxTs: 'log',
      maxTsDriftMs: 0,
    });
  });
});
