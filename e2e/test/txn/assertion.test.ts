// Port of client-go integration_tests/assertion_test.go: existence assertions at the levels off,
// fast and strict, checked by TiKV at prewrite and by the client from pessimistic locks' answers.
//
// client-go's failpoints have stand-ins here: `assertionSkipCheckFromPrewrite` (prewrite sent at
// level Off) is an RPC interceptor rewriting the prewrite requests; `assertionSkipCheckFromLock`
// has none (the client always checks), which changes no outcome: where both checks see a
// failure, prewrite's error wins, as it does in client-go. `shortPessimisticLockTTL` +
// `CloseTTLManager` are a transaction begun 10 s in the past by a client with a 1 s managed lock
// TTL (its lock is expired at once); `twoPCRequestBatchSizeLimit` is a 1-byte commit batch; the
// `prewritePrimary` / `prewriteSecondary` sleeps are an interceptor delaying those requests.
import { AssertionFailedError, composeTs } from '@tikv/common';
import { FlagsOp, type Transaction, TransactionClient } from '@tikv/txn';
import { startTxnEnv, type TxnEnv, txnModes } from './txn-env.js';

type ConnectOptions = Parameters<typeof TransactionClient.connect>[0];
type Interceptor = NonNullable<NonNullable<ConnectOptions['sender']>['interceptors']>[number];
type Level = 'off' | 'fast' | 'strict';

const pastTs = (agoMs: number): bigint => composeTs(Date.now() - agoMs, 0);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a prewrite request carries a mutation whose key ends with `key` (V2 keys carry a prefix). */
function prewrites(request: { $case: string; value: unknown }, key: Uint8Array): boolean {
  if (request.$case !== 'Prewrite') return false;
  const { mutations } = request.value as { mutations: { key: Uint8Array }[] };
  return mutations.some((m) => Buffer.from(m.key).subarray(-key.length).equals(key));
}

describe.each(txnModes())('assertion_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  let client: TransactionClient;
  /** `assertionSkipCheckFromPrewrite`: prewrites go out at level Off. */
  let skipPrewriteCheck = false;

  beforeAll(async () => {
    env = await startTxnEnv(mode, 'assertion');
    const skipper: Interceptor = {
      name: 'assertion-skip-check-from-prewrite',
      wrap: (next) => (address, request, options) => {
        if (!skipPrewriteCheck || request.$case !== 'Prewrite') return next(address, request, options);
        // kvrpcpb.AssertionLevel.Off
        return next(address, { ...request, value: { ...request.value, assertionLevel: 0 } }, options);
      },
    };
    client = await TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      sender: { interceptors: [skipper] },
    });
  });
  afterAll(async () => {
    await client?.close();
    await env?.close();
  });

  async function testAssertionImpl(keyPrefix: string, pessimistic: boolean, lockKeys: boolean, level: Level) {
    skipPrewriteCheck = level !== 'strict';
    const k = (i: number) => env.key(`${keyPrefix}_k_${i}`);
    // Make k1, k3, k7 exist.
    const prepare = await client.begin();
    prepare.put(k(1), 'v1');
    prepare.put(k(3), 'v3');
    prepare.put(k(7), 'v7');
    const prepareCommitTs = await prepare.commit();
    const prepareStartTs = prepare.startTs;

    /** One transaction; the assertion goes on the last key only. */
    const doTxn = async (
      lastAssertion: FlagsOp,
      ...keys: Uint8Array[]
    ): Promise<{ startTs: bigint; error: unknown }> => {
      const txn = await client.begin({ pessimistic, assertionLevel: level });
      if (lockKeys) {
        await txn.lockKeys(keys, { forUpdateTs: txn.startTs, waitTimeoutMs: 1000, checkExistence: true });
      } else if (pessimistic) {
        // Another key is the primary, so that the tested keys are not locked.
        await txn.lockKeys([env.key(`${keyPrefix}_primary`)], { waitTimeoutMs: 10_000 });
      }
      for (const key of keys) txn.put(key, Buffer.concat([Buffer.from('v'), key]));
      txn.memBuffer.updateFlags(keys[keys.length - 1] as Uint8Array, lastAssertion);
      const error = await txn.commit().then(
        () => undefined,
        (e: unknown) => e,
      );
      return { startTs: txn.startTs, error };
    };

    const expectAssertionFailed = (
      r: { startTs: bigint; error: unknown },
      key: Uint8Array,
      assertion: 'Exist' | 'NotExist',
      existingStartTs: bigint,
      existingCommitTs: bigint,
    ) => {
      expect(r.error).toBeInstanceOf(AssertionFailedError);
      expect(r.error).toMatchObject({
        startTs: r.startTs,
        key,
        assertion,
        existingStartTs,
        existingCommitTs,
      });
    };
    const ok = (r: { error: unknown }) => expect(r.error).toBeUndefined();
    const { SetAssertExist: exist, SetAssertNotExist: notExist } = FlagsOp;

    if (level === 'strict') {
      ok(await doTxn(exist, k(1)));
      ok(await doTxn(notExist, k(2)));
      expectAssertionFailed(await doTxn(notExist, k(3)), k(3), 'NotExist', prepareStartTs, prepareCommitTs);
      expectAssertionFailed(await doTxn(exist, k(4)), k(4), 'Exist', 0n, 0n);
      expectAssertionFailed(
        await doTxn(notExist, k(5), k(6), k(7)),
        k(7),
        'NotExist',
        prepareStartTs,
        prepareCommitTs,
      );
      expectAssertionFailed(await doTxn(exist, k(8), k(9), k(10)), k(10), 'Exist', 0n, 0n);
    } else if (level === 'fast' && pessimistic && lockKeys) {
      // Found by the client from the locks' answers: the existing version's timestamps are unknown.
      ok(await doTxn(exist, k(1)));
      ok(await doTxn(notExist, k(2)));
      expectAssertionFailed(await doTxn(notExist, k(3)), k(3), 'NotExist', 0n, 0n);
      expectAssertionFailed(await doTxn(exist, k(4)), k(4), 'Exist', 0n, 0n);
      expectAssertionFailed(await doTxn(notExist, k(5), k(6), k(7)), k(7), 'NotExist', 0n, 0n);
      expectAssertionFailed(await doTxn(exist, k(8), k(9), k(10)), k(10), 'Exist', 0n, 0n);
    } else {
      // Nothing is detected.
      ok(await doTxn(exist, k(1)));
      ok(await doTxn(notExist, k(2)));
      ok(await doTxn(notExist, k(3)));
      ok(await doTxn(exist, k(4)));
      ok(await doTxn(notExist, k(5), k(6), k(7)));
      ok(await doTxn(exist, k(8), k(9), k(10)));
    }
  }

  test('TestPrewriteAssertion: strict, optimistic / pessimistic / pessimistic with locked keys', async () => {
    const prefix = `test-prewrite-assertion-${await client.currentTimestamp()}-`;
    await testAssertionImpl(`${prefix}a`, false, false, 'strict');
    await testAssertionImpl(`${prefix}b`, true, false, 'strict');
    await testAssertionImpl(`${prefix}c`, true, true, 'strict');
  });

  test('TestFastAssertion: fast, optimistic / pessimistic / pessimistic with locked keys', async () => {
    const prefix = `test-fast-assertion-${await client.currentTimestamp()}-`;
    await testAssertionImpl(`${prefix}a`, false, false, 'fast');
    await testAssertionImpl(`${prefix}b`, true, false, 'fast');
    await testAssertionImpl(`${prefix}c`, true, true, 'fast');
  });

  test('TestAssertionErrorLessPriorToOtherError: a lost lock fails the commit, not the assertion', async () => {
    skipPrewriteCheck = false;
    const testOnce = async (
      lockKey: Uint8Array,
      nonLockKey: Uint8Array,
      noBatch: boolean,
      delayPrimary: boolean,
      delaySecondary: boolean,
    ) => {
      const slow: Interceptor = {
        name: 'prewrite-delay',
        wrap: (next) => async (address, request, options) => {
          if (
            (delayPrimary && prewrites(request, lockKey)) ||
            (delaySecondary && prewrites(request, nonLockKey))
          ) {
            await delay(200);
          }
          return next(address, request, options);
        },
      };
      const shortTtl = await TransactionClient.connect({
        pdEndpoints: env.target.pdEndpoints,
        apiVersion: mode.apiVersion,
        keyspace: mode.keyspace,
        commit: { managedLockTtlMs: 1000, ...(noBatch ? { commitBatchSizeBytes: 1 } : {}) },
        sender: { interceptors: [slow] },
      });
      try {
        // Transaction 1 locks lockKey; its lock is expired at once (no TTL manager keeps it).
        const tx: Transaction = await shortTtl.begin({
          pessimistic: true,
          assertionLevel: 'strict',
          startTs: pastTs(10_000),
        });
        await tx.lockKeys([lockKey], { waitTimeoutMs: 1 });
        tx.put(lockKey, 'rv1');
        tx.put(nonLockKey, 'iv1');
        tx.memBuffer.updateFlags(lockKey, FlagsOp.SetAssertNotExist);
        tx.memBuffer.updateFlags(nonLockKey, FlagsOp.SetAssertNotExist);

        // Transaction 2 resolves transaction 1's lock and writes both keys.
        const tx2 = await client.begin({ pessimistic: true, assertionLevel: 'strict' });
        await tx.lockKeys([lockKey], { waitTimeoutMs: 1000 });
        tx2.put(lockKey, 'rv2');
        tx2.put(nonLockKey, 'iv2');
        tx2.memBuffer.updateFlags(lockKey, FlagsOp.SetAssertNotExist);
        tx2.memBuffer.updateFlags(nonLockKey, FlagsOp.SetAssertNotExist);
        await tx2.commit();

        const error = await tx.commit().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeDefined();
        expect(error).not.toBeInstanceOf(AssertionFailedError);
        expect(String((error as Error).message).toLowerCase()).not.toContain('assertion');
      } finally {
        await shortTtl.close();
      }
    };
    await testOnce(env.key('kr1'), env.key('ki1'), false, false, false);
    await testOnce(env.key('kr2'), env.key('ki2'), true, false, false);
    await testOnce(env.key('kr3'), env.key('ki3'), true, true, false);
    await testOnce(env.key('kr4'), env.key('ki4'), true, false, true);
  });
});
