import { createServer } from 'node:net';
import { isTiKVError, RpcError } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { Status } from 'nice-grpc';
import { PdClient } from '../src/pd-client.js';
import { FakePdCluster } from './fake-pd-cluster.js';

// How the PD client fails: connecting to a dead or malformed endpoint, attempts PD does not
// answer in time, and what PD's answers say about retrying (issue 10, items 2 and 9-12).

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('PdClient.connect: a dead or malformed endpoint', () => {
  test('a dead PD rejects within connectTimeoutMs with PD_UNREACHABLE, the endpoint and a clean last cause', async () => {
    const port = await deadPort();
    // default discovery: 100 attempts 1 s apart; connectTimeoutMs is what must end it
    const err: unknown = await PdClient.connect({
      endpoints: [`127.0.0.1:${port}`],
      connectTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(isTiKVError(err, 'PD_UNREACHABLE')).toBe(true);
    expect(err).toMatchObject({ name: 'PdUnreachableError', endpoints: [`http://127.0.0.1:${port}`] });
    const message = (err as Error).message;
    expect(message).toMatch(
      new RegExp(`^no PD reachable at http://127\\.0\\.0\\.1:${port} \\(1 attempt in \\d+ ms\\)`),
    );
    expect(message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
    expect(message).not.toContain('Resolution note');
    expect((err as Error).cause).toBeInstanceOf(RpcError);
    expect((err as Error).cause).toMatchObject({
      address: `http://127.0.0.1:${port}`,
      command: 'GetMembers',
      grpcCode: Status.UNAVAILABLE,
      message: `GetMembers http://127.0.0.1:${port}: UNAVAILABLE no connection: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
  });

  test("the caller's timeoutMs: a DeadlineExceededError whose cause names the endpoints and the last failure", async () => {
    const port = await deadPort();
    const err: unknown = await PdClient.connect(
      { endpoints: [`127.0.0.1:${port}`] },
      { timeoutMs: 300 },
    ).catch((e: unknown) => e);
    expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(err).toMatchObject({ timeoutMs: 300 });
    const cause = (err as Error).cause;
    expect(isTiKVError(cause, 'PD_UNREACHABLE')).toBe(true);
    expect(cause).toMatchObject({ endpoints: [`http://127.0.0.1:${port}`] });
    expect((cause as Error).cause).toMatchObject({ code: 'RPC_ERROR' });
    expect((cause as Error).message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  });

  test.each([
    [[''], /empty/],
    [['not a host'], /not host:port/],
    [['127.0.0.1:70000'], /bad port "70000"/],
    [['127.0.0.1:2379', 'http://pd:x'], /"http:\/\/pd:x"/],
    [[], /non-empty array/],
  ])('endpoints %j are refused up front with InvalidArgumentError', async (endpoints, why) => {
    // were they retried, the default connect budget (20 s) would outlast the test
    const err: unknown = await PdClient.connect({ endpoints }).catch((e: unknown) => e);
    expect(isTiKVError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).name).toBe('InvalidArgumentError');
    expect((err as Error).message).toMatch(why);
  });

  test('options are checked with InvalidArgumentError', async () => {
    for (const bad of [{ timeoutMs: 0 }, { connectTimeoutMs: -1 }, { maxTsoRetries: 0 }]) {
      await expect(PdClient.connect({ endpoints: ['127.0.0.1:2379'], ...bad })).rejects.toMatchObject({
        name: 'InvalidArgumentError',
        message: expect.stringMatching(new RegExp(`^${Object.keys(bad)[0]} must be`)),
      });
    }
  });
});

describe('PdClient against a fake PD cluster: failures and retries', () => {
  let pd: FakePdCluster;
  let client: PdClient;
  afterEach(async () => {
    await client?.close();
    await pd?.close();
  });

  // An attempt's own timeout (PD's client `Timeout`) is one failed attempt, retried with the
  // pdRPC backoff like any transport failure; client-go retries every failed region load.
  describe('an attempt PD does not answer within timeoutMs is retried', () => {
    const attemptMs = 100;

    test('getAllStores, and the leader is re-checked', async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints, timeoutMs: attemptMs });
      pd.stall('getAllStores');
      const memberCheck = pd.nextGetMembers();
      expect(await client.getAllStores()).toHaveLength(2);
      expect(pd.calls.get('getAllStores')).toBe(2);
      await memberCheck;
    });

    test('getRegion over the QueryRegion stream', async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints, timeoutMs: attemptMs });
      pd.stall('queryRegion');
      expect((await client.getRegion(enc('k')))?.region.id).toBe(1n);
      expect(pd.calls.get('queryRegion')).toBe(2);
    });

    test('getRegion over unary GetRegion', async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({
        endpoints: pd.endpoints,
        timeoutMs: attemptMs,
        enableRouterClient: false,
      });
      pd.stall('getRegion');
      expect((await client.getRegion(enc('k')))?.region.id).toBe(1n);
      expect(pd.calls.get('getRegion')).toBe(2);
    });

    test('a GC state read', async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints, timeoutMs: attemptMs });
      pd.stall('getGCState');
      expect(await client.gcStates(3).getGcState()).toMatchObject({ keyspaceId: 3, txnSafePoint: 5n });
      expect(pd.calls.get('getGCState')).toBe(2);
    });

    test('loadKeyspace', async () => {
      pd = await FakePdCluster.start(1);
      pd.keyspaces.set('ks1', {
        keyspace: { $case: 'id', value: 4 },
        name: 'ks1',
        state: 0,
        createdAt: 0n,
        stateChangedAt: 0n,
        config: {},
      });
      client = await PdClient.connect({ endpoints: pd.endpoints, timeoutMs: attemptMs });
      pd.stall('loadKeyspace');
      expect(await client.loadKeyspace('ks1')).toMatchObject({
        name: 'ks1',
        keyspace: { $case: 'id', value: 4 },
      });
      expect(pd.calls.get('loadKeyspace')).toBe(2);
    });

    test("the caller's timeoutMs stays final", async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints, timeoutMs: attemptMs });
      pd.stall('getAllStores', 1_000);
      await expect(client.getAllStores({ timeoutMs: 250 })).rejects.toMatchObject({
        code: 'DEADLINE_EXCEEDED',
        timeoutMs: 250,
      });
      expect(pd.calls.get('getAllStores')).toBeGreaterThanOrEqual(1);
    });
  });

  test('getStore of an unknown id resolves undefined after one call (PD: "invalid store ID N, not found")', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    expect(await client.getStore(9n)).toBeUndefined();
    expect(pd.calls.get('getStore')).toBe(1);
    expect((await client.getStore(1n))?.id).toBe(1n);
  });

  describe("PD's answer decides whether to retry", () => {
    test('NOT_BOOTSTRAPPED is retried', async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints });
      pd.answerNext('getAllStores', pdpb.ErrorType.NOT_BOOTSTRAPPED, 'cluster is not bootstrapped');
      expect(await client.getAllStores()).toHaveLength(2);
      expect(pd.calls.get('getAllStores')).toBe(2);
    });

    test.each([true, false])(
      'REGION_NOT_FOUND on a region lookup (PD not yet serving; QueryRegion: %s) is retried',
      async (router) => {
        pd = await FakePdCluster.start(1);
        client = await PdClient.connect({ endpoints: pd.endpoints, enableRouterClient: router });
        const method = router ? 'queryRegion' : 'getRegion';
        pd.answerNext(method, pdpb.ErrorType.REGION_NOT_FOUND, 'region not found');
        const memberCheck = pd.nextGetMembers();
        expect((await client.getRegion(enc('k')))?.region.id).toBe(1n);
        expect(pd.calls.get(method)).toBe(2);
        await memberCheck;
      },
    );

    test('an UNKNOWN header error (a refusal) rejects at once', async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints });
      pd.answerNext('getAllStores', pdpb.ErrorType.UNKNOWN, 'refused for good');
      await expect(client.getAllStores()).rejects.toMatchObject({
        code: 'PD_ERROR',
        pdErrorType: 'UNKNOWN',
        retryable: false,
        message: 'pd error UNKNOWN: refused for good',
      });
      expect(pd.calls.get('getAllStores')).toBe(1);
    });

    test.each([
      [Status.UNAVAILABLE, true],
      [Status.DEADLINE_EXCEEDED, true],
      [Status.RESOURCE_EXHAUSTED, true],
      [Status.UNKNOWN, false],
      [Status.FAILED_PRECONDITION, false],
    ])('gRPC status %s: retried = %s', async (status, retried) => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints });
      pd.failNextUnary = status;
      if (retried) {
        expect(await client.getAllStores()).toHaveLength(2);
        expect(pd.calls.get('getAllStores')).toBe(2);
      } else {
        const err: unknown = await client.getAllStores().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RpcError);
        expect(err).toMatchObject({
          retryable: false,
          address: client.leaderUrl,
          command: 'GetAllStores',
          grpcCode: status,
        });
        expect(pd.calls.get('getAllStores')).toBe(1);
      }
    });

    test('batchScanRegions refuses overlapping, unsorted or inverted ranges before sending', async () => {
      pd = await FakePdCluster.start(1);
      client = await PdClient.connect({ endpoints: pd.endpoints });
      const r = (a: string, b: string): { startKey: Uint8Array; endKey: Uint8Array } => ({
        startKey: enc(a),
        endKey: enc(b),
      });
      const cases: Array<[Array<{ startKey: Uint8Array; endKey: Uint8Array }>, RegExp]> = [
        [[r('a', 'c'), r('b', 'd')], /ranges\[1\] starts at .* before ranges\[0\] ends/],
        [[r('m', 'n'), r('a', 'b')], /ranges\[1\] starts at .* before ranges\[0\] ends/],
        [[r('a', ''), r('b', 'c')], /before ranges\[0\] ends at the end of the key space/],
        [[r('z', 'a')], /ranges\[0\] starts at .* after its end/],
      ];
      for (const [ranges, why] of cases) {
        await expect(client.batchScanRegions(ranges, 0)).rejects.toMatchObject({
          name: 'InvalidArgumentError',
          message: expect.stringMatching(why),
        });
      }
      expect(pd.calls.get('batchScanRegions')).toBeUndefined();
      // adjacent and empty ranges are fine
      await client.batchScanRegions([r('a', 'b'), r('b', 'b'), r('b', '')], 0);
      expect(pd.calls.get('batchScanRegions')).toBe(1);
    });
  });

  test('scatterRegion and scatterRegions surface the regions PD failed to scatter', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    expect(await client.scatterRegion(1n)).toEqual({ finishedPercentage: 100, failedRegionIds: [] });
    expect(await client.scatterRegions([1n, 999n])).toEqual({
      finishedPercentage: 50,
      failedRegionIds: [999n],
    });
    // PD refuses one unknown region with gRPC UNKNOWN: final, not retried for the whole budget
    const refused: unknown = await client.scatterRegion(12345n).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcError);
    expect(refused).toMatchObject({
      code: 'RPC_ERROR',
      address: client.leaderUrl,
      retryable: false,
      message: 'ScatterRegion: UNKNOWN [PD:region:ErrRegionNotFound]region %v not found',
    });
  });
});
