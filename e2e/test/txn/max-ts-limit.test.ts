// TiKV's max-ts update limit (TiKV 9's `ConcurrencyManager::update_max_ts`) on the embedded
// cluster: a timestamp past what PD's TSO could have issued must not raise max_ts. A read may run
// up to 60 s ahead of PD's latest TSO; a lock resolution's CheckTxnStatus not at all. A real TiKV
// with its default action (panic) goes down on such a request, so the suite runs on the embedded
// target only, whose stores answer the region error TiKV's `error` action sends. The timestamps
// ahead of PD come from a client that does not validate read timestamps (client-go's default; the
// client's own check would refuse them before they are sent).
import { composeTs, extractPhysical, isTiKVError, RegionError } from '@tikv/common';
import type { MockCluster } from '@tikv/mock-cluster';
import { TransactionClient } from '@tikv/txn';
import { embedded, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

const maybe = embedded ? describe : describe.skip;

/** `ms` past the physical time of `ts`. */
const after = (ts: bigint, ms: number): bigint => composeTs(extractPhysical(ts) + ms, 0);

maybe.each(txnModes())('max-ts update limit (%s)', (_, mode) => {
  let env: TxnEnv;
  let mock: MockCluster;
  /** A client that sends any read timestamp it is given. */
  let unchecked: TransactionClient;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'maxts');
    mock = env.target.mock as MockCluster;
    unchecked = await TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      oracle: { validateReadTs: false },
    });
  });
  afterAll(async () => {
    await unchecked?.close();
    await env?.close();
  });

  /** What a request refused at `ts` throws, with the limit the mock recorded for it. */
  async function refusal(request: Promise<unknown>, ts: bigint, exact: boolean): Promise<RegionError> {
    const err = await request.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegionError);
    const last = mock.invalidMaxTsUpdates().at(-1);
    expect(last).toMatchObject({ attemptedTs: ts, exact, action: 'error' });
    expect(isTiKVError(err, 'REGION_ERROR')).toBe(true);
    expect((err as RegionError).message).toContain(
      `invalid max_ts update: ${ts} exceeds the limit ${last?.limit}`,
    );
    return err as RegionError;
  }

  test('a read past the drift allowance fails with the region error; transactions around it commit', async () => {
    const key = env.key('read');
    await env.client.run(async (txn) => {
      txn.put(key, 'v1');
    });
    const now = await env.client.currentTimestamp();
    const far = after(now, 10 * 60_000);
    await refusal(unchecked.snapshot(far).get(key), far, false);
    await refusal(unchecked.snapshot(far).scan(env.key(''), env.end), far, false);
    // Nothing was raised: the next transaction commits and reads as usual.
    await env.client.run(async (txn) => {
      expect(text(await txn.get(key))).toBe('v1');
      txn.put(key, 'v2');
    });
    expect(text(await (await env.freshSnapshot()).get(key))).toBe('v2');
  });

  test('lock resolution from a start ts ahead of PD fails: CheckTxnStatus is held to the exact limit', async () => {
    const key = env.key('locked');
    // A transaction that crashed after prewrite (its lock expired: the suite's cleanup resolves it
    // at once; the check fails before TiKV looks at the lock anyway).
    mock.strandTransaction({
      keys: [env.storageKey(key)],
      startTs: await env.client.currentTimestamp(),
      lockTtlMs: 0,
    });
    // A reader 10 s ahead of PD's TSO: its read is within the drift allowance; checking the lock's
    // transaction with its start ts as the caller's is not.
    const ahead = after(await env.client.currentTimestamp(), 10_000);
    const err = await refusal(unchecked.snapshot(ahead).get(key), ahead, true);
    expect(err.kind).toBe('Other');
  });

  test('a read within the drift allowance is served', async () => {
    const key = env.key('near');
    await env.client.run(async (txn) => {
      txn.put(key, 'v');
    });
    const before = mock.invalidMaxTsUpdates().length;
    const near = after(await env.client.currentTimestamp(), 30_000);
    expect(text(await unchecked.snapshot(near).get(key))).toBe('v');
    expect(mock.invalidMaxTsUpdates()).toHaveLength(before);
  });
});
