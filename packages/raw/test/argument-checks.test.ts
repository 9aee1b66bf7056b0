// Every public argument of RawClient is checked before anything is sent (issue 10, item 5): a bad
// argument rejects at once with an InvalidArgumentError naming the argument and what it got, and
// never reaches the encoder, the retry loop or a store.
import { InvalidArgumentError, isTiKVError, RawClient } from '../src/index.js';
import { FakeCluster } from './fake-cluster.js';

let cluster: FakeCluster;
let client: RawClient;
let cas: RawClient;
beforeEach(() => {
  cluster = new FakeCluster();
  client = new RawClient({ sender: cluster.sender, locator: cluster.locator });
  cas = client.withAtomicForCas(true);
});
afterEach(async () => {
  expect(cluster.sent).toHaveLength(0);
  await client.close();
});

/** Loosens a typed method for calls with the wrong types, as untyped JavaScript makes them. */
const loose = <F>(f: F) => f as unknown as (...args: unknown[]) => Promise<unknown>;

async function expectInvalid(p: Promise<unknown> | (() => unknown), message: string): Promise<void> {
  let thrown: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect(isTiKVError(thrown, 'INVALID_ARGUMENT')).toBe(true);
  expect((thrown as InvalidArgumentError).retryable).toBe(false);
  expect((thrown as Error).message).toBe(message);
}

describe('compareAndSwap', () => {
  test('a number as expected is refused before encoding (it used to retry as a network error)', async () => {
    await expectInvalid(
      loose(cas.compareAndSwap.bind(cas))('k', 5, 'v'),
      'expected must be a Uint8Array, string or undefined, got number 5',
    );
  });

  test('null as expected is refused, not read as "must not exist"', async () => {
    await expectInvalid(
      loose(cas.compareAndSwap.bind(cas))('k', null, 'v'),
      'expected must be a Uint8Array, string or undefined, got null',
    );
  });

  test('key and next are checked', async () => {
    await expectInvalid(
      loose(cas.compareAndSwap.bind(cas))(undefined, 'a', 'v'),
      'key must be a Uint8Array or a string, got undefined',
    );
    await expectInvalid(
      loose(cas.compareAndSwap.bind(cas))('k', undefined, 7),
      'next must be a Uint8Array or a string, got number 7',
    );
  });
});

describe('batch arguments', () => {
  test('batchGet of a string (not a list of keys)', async () => {
    await expectInvalid(
      loose(client.batchGet.bind(client))('ab'),
      'keys must be an array, got string of length 2',
    );
  });

  test('batchGet / batchDelete name the bad element', async () => {
    await expectInvalid(
      loose(client.batchGet.bind(client))(['a', 3]),
      'keys[1] must be a Uint8Array or a string, got number 3',
    );
    await expectInvalid(
      loose(client.batchDelete.bind(client))([null]),
      'keys[0] must be a Uint8Array or a string, got null',
    );
    await expectInvalid(
      loose(client.batchDelete.bind(client))(undefined),
      'keys must be an array, got undefined',
    );
  });

  test('batchPut(null) and bad pairs', async () => {
    await expectInvalid(loose(client.batchPut.bind(client))(null), 'pairs must be an array, got null');
    await expectInvalid(
      loose(client.batchPut.bind(client))(['k']),
      'pairs[0] must be an object, got string of length 1',
    );
    await expectInvalid(
      loose(client.batchPut.bind(client))([{ key: 'a', value: 1 }]),
      'pairs[0].value must be a Uint8Array or a string, got number 1',
    );
    await expectInvalid(
      client.batchPut([
        { key: 'a', value: '1' },
        { key: 'a', value: '2' },
      ]),
      'batchPut: pairs[1].key repeats an earlier key',
    );
  });

  test('batchPut ttlSeconds: a number or one per pair', async () => {
    await expectInvalid(
      client.batchPut([{ key: 'a', value: '1' }], { ttlSeconds: [1, 2] }),
      'options.ttlSeconds has 2 entries for 1 pairs',
    );
    await expectInvalid(
      client.batchPut([{ key: 'a', value: '1' }], { ttlSeconds: [-1] }),
      'options.ttlSeconds[0] must be a non-negative integer, got number -1',
    );
    await expectInvalid(
      client.batchPut([{ key: 'a', value: '1' }], { ttlSeconds: '5' as unknown as number }),
      'options.ttlSeconds must be a number, an array of numbers or undefined, got string of length 1',
    );
  });

  test('batchScan ranges', async () => {
    await expectInvalid(loose(client.batchScan.bind(client))({}), 'ranges must be an array, got object');
    await expectInvalid(
      loose(client.batchScan.bind(client))([{ startKey: 'a', endKey: 5 }]),
      'ranges[0].endKey must be a Uint8Array or a string, got number 5',
    );
    await expectInvalid(
      loose(client.batchScan.bind(client))([undefined]),
      'ranges[0] must be an object, got undefined',
    );
  });
});

describe('single-key and range arguments', () => {
  test('keys, values and bounds', async () => {
    await expectInvalid(
      loose(client.get.bind(client))(5),
      'key must be a Uint8Array or a string, got number 5',
    );
    await expectInvalid(
      loose(client.put.bind(client))('k', undefined),
      'value must be a Uint8Array or a string, got undefined',
    );
    await expectInvalid(
      loose(client.delete.bind(client))({}),
      'key must be a Uint8Array or a string, got object',
    );
    await expectInvalid(
      loose(client.getKeyTTL.bind(client))(null),
      'key must be a Uint8Array or a string, got null',
    );
    // An undefined end is not "unbounded": that is the empty key, said explicitly.
    await expectInvalid(
      loose(client.deleteRange.bind(client))('a', undefined),
      'endKey must be a Uint8Array or a string, got undefined',
    );
    await expectInvalid(
      loose(client.scan.bind(client))(1, ''),
      'startKey must be a Uint8Array or a string, got number 1',
    );
    await expectInvalid(
      loose(client.checksum.bind(client))('a', []),
      'endKey must be a Uint8Array or a string, got array of length 0',
    );
    await expectInvalid(
      loose(client.reverseScan.bind(client))('b', null),
      'endKey must be a Uint8Array or a string, got null',
    );
  });

  test('per-call options', async () => {
    await expectInvalid(
      client.put('k', 'v', { ttlSeconds: Number.NaN }),
      'options.ttlSeconds must be a non-negative integer, got number NaN',
    );
    await expectInvalid(
      client.scan('a', 'b', { limit: 1.5 }),
      'options.limit must be a non-negative integer, got number 1.5',
    );
    await expectInvalid(
      client.scan('a', 'b', { keyOnly: 'yes' as unknown as boolean }),
      'options.keyOnly must be a boolean or undefined, got string of length 3',
    );
    await expectInvalid(
      client.get('a', { columnFamily: 1 as unknown as string }),
      'options.columnFamily must be a string or undefined, got number 1',
    );
    await expectInvalid(
      client.batchScan([{ startKey: 'a' }], { eachLimit: -2 }),
      'options.eachLimit must be a non-negative integer, got number -2',
    );
    const iter = client.scanIter('a', 'b', { pageSize: 0 });
    await expectInvalid(iter.next(), 'options.pageSize must be >= 1, got number 0');
    const rev = client.scanIter('b', 'a', { reverse: 1 as unknown as boolean });
    await expectInvalid(rev.next(), 'options.reverse must be a boolean or undefined, got number 1');
  });
});

describe('the call options object, checked in one place for every call', () => {
  const badSignal = { aborted: false } as unknown as AbortSignal;
  const calls: [string, (o: unknown) => Promise<unknown>][] = [
    ['get', (o) => loose(client.get.bind(client))('k', o)],
    ['batchGet', (o) => loose(client.batchGet.bind(client))(['k'], o)],
    ['put', (o) => loose(client.put.bind(client))('k', 'v', o)],
    ['batchPut', (o) => loose(client.batchPut.bind(client))([{ key: 'k', value: 'v' }], o)],
    ['delete', (o) => loose(client.delete.bind(client))('k', o)],
    ['batchDelete', (o) => loose(client.batchDelete.bind(client))(['k'], o)],
    ['deleteRange', (o) => loose(client.deleteRange.bind(client))('a', 'b', o)],
    ['scan', (o) => loose(client.scan.bind(client))('a', 'b', o)],
    ['reverseScan', (o) => loose(client.reverseScan.bind(client))('b', 'a', o)],
    ['scanIter', (o) => client.scanIter('a', 'b', o as never).next()],
    ['batchScan', (o) => loose(client.batchScan.bind(client))([{ startKey: 'a' }], o)],
    ['getKeyTTL', (o) => loose(client.getKeyTTL.bind(client))('k', o)],
    ['compareAndSwap', (o) => loose(cas.compareAndSwap.bind(cas))('k', undefined, 'v', o)],
    ['checksum', (o) => loose(client.checksum.bind(client))('a', 'b', o)],
  ];

  test.each(calls)('%s: a signal that is not an AbortSignal', async (_name, call) => {
    await expectInvalid(
      call({ signal: badSignal }),
      'options.signal must be an AbortSignal or undefined, got object',
    );
  });

  test.each(calls)('%s: a negative or NaN timeoutMs', async (_name, call) => {
    await expectInvalid(
      call({ timeoutMs: -5 }),
      'options.timeoutMs must be a finite number >= 0 or undefined, got number -5',
    );
    await expectInvalid(
      call({ timeoutMs: Number.NaN }),
      'options.timeoutMs must be a finite number >= 0 or undefined, got number NaN',
    );
  });

  test.each(calls)('%s: options that are not an object', async (_name, call) => {
    await expectInvalid(call(1000), 'options must be an object or undefined, got number 1000');
    await expectInvalid(call(null), 'options must be an object or undefined, got null');
  });
});

describe('client and connect arguments', () => {
  test('views', () => {
    expect(() => loose(client.withColumnFamily.bind(client))(3)).toThrow(
      'columnFamily must be a string, got number 3',
    );
    expect(() => loose(client.withAtomicForCas.bind(client))('true')).toThrow(
      'atomicForCas must be a boolean, got string of length 4',
    );
    expect(
      () =>
        new RawClient(
          { sender: cluster.sender, locator: cluster.locator },
          { atomicForCas: 1 as unknown as boolean },
        ),
    ).toThrow('option atomicForCas must be a boolean, got number 1');
  });

  test('connect checks its options before dialling anything', async () => {
    const connect = loose(RawClient.connect);
    await expectInvalid(connect(undefined), 'options must be an object, got undefined');
    await expectInvalid(
      connect({ pdEndpoints: '127.0.0.1:2379' }),
      'options.pdEndpoints must be an array, got string of length 14',
    );
    await expectInvalid(
      connect({ pdEndpoints: [] }),
      'options.pdEndpoints must list at least one PD endpoint, got array of length 0',
    );
    await expectInvalid(
      connect({ pdEndpoints: [2379] }),
      'options.pdEndpoints[0] must be a string, got number 2379',
    );
    await expectInvalid(
      connect({ pdEndpoints: ['127.0.0.1:1'], apiVersion: 'V3' }),
      "options.apiVersion must be 'V1', 'V2' or undefined, got 'V3'",
    );
    await expectInvalid(
      connect({ pdEndpoints: ['127.0.0.1:1'], keyspace: 7 }),
      'options.keyspace must be a string or undefined, got number 7',
    );
    await expectInvalid(
      connect({ pdEndpoints: ['127.0.0.1:1'] }, { timeoutMs: -1 }),
      'call.timeoutMs must be a finite number >= 0 or undefined, got number -1',
    );
  });
});
