// PdClient's public methods refuse bad arguments up front with an InvalidArgumentError that
// names the argument and what it received (issue 10, item 5), before any RPC or retry.
import { InvalidArgumentError, isTiKVError } from '@tikv/common';
import { PdClient } from '../src/pd-client.js';
import { FakePdCluster } from './fake-pd-cluster.js';

let pd: FakePdCluster;
let client: PdClient;
beforeAll(async () => {
  pd = await FakePdCluster.start(1);
  client = await PdClient.connect({ endpoints: pd.endpoints });
});
afterAll(async () => {
  await client.close();
  await pd.close();
});

const loose = <F>(f: F) => f as unknown as (...args: unknown[]) => Promise<unknown>;

async function expectInvalid(p: Promise<unknown>, message: string): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InvalidArgumentError);
  expect(isTiKVError(e, 'INVALID_ARGUMENT')).toBe(true);
  expect((e as Error).message).toBe(message);
}

test('keys must be Uint8Arrays', async () => {
  await expectInvalid(
    loose(client.getRegion.bind(client))('a'),
    'key must be a Uint8Array, got string of length 1',
  );
  await expectInvalid(
    loose(client.getPrevRegion.bind(client))(undefined),
    'key must be a Uint8Array, got undefined',
  );
  await expectInvalid(
    loose(client.scanRegions.bind(client))(new Uint8Array(0), null, 10),
    'endKey must be a Uint8Array, got null',
  );
  await expectInvalid(
    loose(client.scanRegions.bind(client))(new Uint8Array(0), new Uint8Array(0), '10'),
    'limit must be an integer, got string of length 2',
  );
});

test('ids and timestamps must be unsigned 64-bit bigints', async () => {
  await expectInvalid(
    loose(client.getRegionById.bind(client))(2),
    'regionId must be a bigint in [0, 2^64), got number 2',
  );
  await expectInvalid(
    loose(client.getStore.bind(client))(-1n),
    'storeId must be a bigint in [0, 2^64), got bigint -1n',
  );
  await expectInvalid(
    loose(client.getOperator.bind(client))(1n << 64n),
    `regionId must be a bigint in [0, 2^64), got bigint ${1n << 64n}n`,
  );
  await expectInvalid(
    loose(client.setExternalTimestamp.bind(client))(5),
    'ts must be a bigint in [0, 2^64), got number 5',
  );
  await expectInvalid(loose(client.loadKeyspace.bind(client))(1), 'name must be a string, got number 1');
});

test('call options are checked before any RPC', async () => {
  const bad = 'abort' as unknown as AbortSignal;
  await expectInvalid(
    client.getTimestamp({ signal: bad }),
    'options.signal must be an AbortSignal or undefined, got string of length 5',
  );
  await expectInvalid(
    client.getAllStores({ timeoutMs: -1 }),
    'options.timeoutMs must be a finite number >= 0 or undefined, got number -1',
  );
  await expectInvalid(
    client.getRegion(new Uint8Array(0), { timeoutMs: Number.NaN }),
    'options.timeoutMs must be a finite number >= 0 or undefined, got number NaN',
  );
  await expectInvalid(
    PdClient.connect({ endpoints: pd.endpoints }, { timeoutMs: -3 }),
    'call.timeoutMs must be a finite number >= 0 or undefined, got number -3',
  );
});
