// Port of client-go integration_tests/shared_lock_test.go: shared pessimistic locks
// (`lockKeys(keys, { inShareMode: true })`, TiKV's `Op::SharedPessimisticLock`).
//
// client-go's suite sleeps to show that a lock request blocks and lets TTLs run out after
// closing TTL managers. Here a blocked request is shown by the mock's lock-wait queue holding it
// (embedded target) while its promise is still pending, and a transaction whose TTL manager is
// gone is one of a closed client begun 10 s in the past (its locks are already expired, as the
// crashed writers of lock.test.ts), so no case waits on the clock.
import { Backoffer, composeTs, DeadlockError, isTiKVError, type LockInfo } from '@tikv/common';
import { BaseRegionLockResolver, KeyFlags, type Transaction, TransactionClient } from '@tikv/txn';
import { embedded, embeddedTest, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

const pastTs = (agoMs: number): bigint => composeTs(Date.now() - agoMs, 0);
/** Long enough never to run out while a case waits for a release it triggers itself. */
const WAIT_MS = 20_000;

describe.each(txnModes())('shared_lock_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'shared_lock', {
      // client-go's SetupSuite: ManagedLockTTL 3 s.
      tuning: { commit: { managedLockTtlMs: 3000 } },
    });
  });
  afterAll(async () => {
    await env?.close();
  });

  const getTs = (): Promise<bigint> => env.client.currentTimestamp();
  const begin = (client: TransactionClient = env.client, startTs?: bigint): Promise<Transaction> =>
    client.begin({ pessimistic: true, ...(startTs === undefined ? {} : { startTs }) });

  /** client-go `LockKeys(ctx, NewLockCtx(getTS(), 1000, now), key)`, shared when asked. */
  async function lock(txn: Transaction, key: Uint8Array, inShareMode = false): Promise<void> {
    await txn.lockKeys([key], { forUpdateTs: await getTs(), waitTimeoutMs: WAIT_MS, inShareMode });
  }

  /** client-go `scanLocks`: the locks of `key` with start ts <= `maxTs`, shared locks one by one. */
  async function scanLocks(key: Uint8Array, maxTs: bigint): Promise<LockInfo[]> {
    const scanner = new BaseRegionLockResolver({
      executor: env.client.parts.executor,
      lockResolver: env.client.lockResolver,
    });
    const { locks } = await scanner.scanLocksInOneRegion(
      new Backoffer({ maxBackoffMs: 10_000 }),
      key,
      Buffer.concat([key, Buffer.of(0)]),
      maxTs,
      1024,
    );
    return locks;
  }

  /**
   * Resolves once a lock request of `startTs` waits in TiKV's lock-wait queue (embedded target;
   * elsewhere at once), failing if `pending` settles first.
   */
  async function whenWaiting(startTs: bigint, pending: Promise<unknown>): Promise<void> {
    const mock = env.target.mock;
    if (mock === undefined) return;
    const stop = new AbortController();
    const first = await Promise.race([
      mock.whenLockWaiting(startTs, { signal: stop.signal }).then(() => 'waiting'),
      pending.then(() => 'settled'),
    ]);
    stop.abort();
    if (first !== 'waiting') throw new Error(`the lock request of ${startTs} settled instead of waiting`);
  }

  /** A client whose transactions stand for ones whose TTL manager stopped (client-go `CloseTTLManager`). */
  async function crashedClient(): Promise<TransactionClient> {
    return TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      commit: { managedLockTtlMs: 1000 },
    });
  }

  const isWriteConflict = (e: unknown): boolean => isTiKVError(e, 'WRITE_CONFLICT');

  // Both need to know the request waits before the holders release (the embedded cluster's
  // lock-wait hook); elsewhere a release may come first and the request then simply succeeds.
  embeddedTest.each([true, false])(
    'TestSharedLockBlockExclusiveLock: an exclusive lock waits for every shared holder (commit %s)',
    async (commit) => {
      const [txn1, txn2, txn3] = [await begin(), await begin(), await begin()];
      const [pk1, pk2, pk3] = [1, 2, 3].map((i) => env.key(`block-x/pk${i}`)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      const key = env.key('block-x/shared_key');

      await lock(txn1, pk1);
      await lock(txn1, key, true);
      await lock(txn2, pk2);
      await lock(txn2, key, true);
      expect(KeyFlags.hasLockedInShareMode(txn2.memBuffer.getFlags(key) ?? 0)).toBe(true);
      expect(KeyFlags.hasLocked(txn2.memBuffer.getFlags(key) ?? 0)).toBe(true);

      await lock(txn3, pk3);
      const exclusive = lock(txn3, key).then(
        () => undefined,
        (e: unknown) => e,
      );
      await whenWaiting(txn3.startTs, exclusive);
      if (commit) {
        await txn1.commit();
        await txn2.commit();
      } else {
        await txn1.rollback();
        await txn2.rollback();
      }
      // Woken by the last release, the legacy-mode request answers a conflict (the statement retries).
      const err = await exclusive;
      expect(err).toBeDefined();
      if (embedded) expect(isWriteConflict(err)).toBe(true);
      await txn3.rollback();
    },
  );

  embeddedTest.each([true, false])(
    'TestExclusiveLockBlockSharedLock: shared requests wait for an exclusive lock (commit %s)',
    async (commit) => {
      const [txn1, txn2, txn3] = [await begin(), await begin(), await begin()];
      const [pk1, pk2, pk3] = [1, 2, 3].map((i) => env.key(`block-s/pk${i}`)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      const key = env.key('block-s/shared_key');

      await lock(txn1, pk1);
      await lock(txn1, key);
      await lock(txn2, pk2);
      await lock(txn3, pk3);
      const settle = (p: Promise<void>) =>
        p.then(
          () => undefined,
          (e: unknown) => e,
        );
      const shared2 = settle(lock(txn2, key, true));
      const shared3 = settle(lock(txn3, key, true));
      await whenWaiting(txn2.startTs, shared2);
      await whenWaiting(txn3.startTs, shared3);
      if (commit) await txn1.commit();
      else await txn1.rollback();
      const [e2, e3] = await Promise.all([shared2, shared3]);
      expect(e2).toBeDefined();
      expect(e3).toBeDefined();
      if (embedded) expect([isWriteConflict(e2), isWriteConflict(e3)]).toEqual([true, true]);
      await txn2.rollback();
      await txn3.rollback();
    },
  );

  embeddedTest(
    "TestResolveSharedLock: a committed holder's shared lock is resolved by an exclusive request",
    async () => {
      const mock = env.target.mock;
      if (mock === undefined) throw new Error('embedded only');
      const pk = env.key('resolve/pk');
      const key = env.key('resolve/shared_key');
      env.split([pk, key]);

      const txn1 = await begin();
      await lock(txn1, pk);
      await lock(txn1, key, true);
      // client-go's beforeCommitSecondaries failpoint: the secondary's commit never happens.
      const region = mock.regionByKey(env.storageKey(key));
      const fault = mock.inject({
        method: 'KvCommit',
        regionId: region.id,
        times: Number.POSITIVE_INFINITY,
        error: { keyError: { abort: 'injected: skip committing secondaries' } },
      });
      try {
        await txn1.commit();
        await txn1.whenCommitSettled();
      } finally {
        fault.clear();
      }

      let locks = await scanLocks(key, await getTs());
      expect(locks).toHaveLength(1);
      expect(locks[0]).toMatchObject({ key, primary: pk, lockVersion: txn1.startTs, lockType: 'Lock' });

      const txn2 = await begin();
      await lock(txn2, pk);
      await lock(txn2, key);
      locks = await scanLocks(key, await getTs());
      expect(locks).toHaveLength(1);
      expect(locks[0]).toMatchObject({
        key,
        primary: pk,
        lockVersion: txn2.startTs,
        lockType: 'PessimisticLock',
      });

      await txn2.rollback();
      expect(await scanLocks(key, await getTs())).toHaveLength(0);
      // txn1's commit reached the shared key through the resolution.
      expect(text(await (await env.freshSnapshot()).get(key))).toBeUndefined();
    },
  );

  test('TestScanSharedLock: ScanLock reports each holder at or below max ts', async () => {
    const pks = [1, 2, 3].map((i) => env.key(`scan/pk_${i}`));
    const sharedKey = env.key('scan/shared_key');
    const txns = [await begin(), await begin(), await begin()];
    for (const [i, txn] of txns.entries()) {
      await lock(txn, pks[i] as Uint8Array);
      await lock(txn, sharedKey, true);
    }
    const [txn1, txn2, txn3] = txns as [Transaction, Transaction, Transaction];
    for (const [maxTs, n] of [
      [txn1.startTs - 1n, 0],
      [txn1.startTs, 1],
      [txn2.startTs, 2],
      [txn3.startTs, 3],
    ] as const) {
      const locks = await scanLocks(sharedKey, maxTs);
      expect([maxTs, locks.length]).toEqual([maxTs, n]);
      for (const l of locks) {
        expect(l.key).toEqual(sharedKey);
        expect(l.lockVersion <= maxTs).toBe(true);
      }
    }
    for (const txn of txns) await txn.rollback();
    expect(await scanLocks(sharedKey, txn3.startTs)).toHaveLength(0);
  });

  test('TestGCSharedLock: resolving expired holders leaves the live one', async () => {
    const crashed = await crashedClient();
    let txn3: Transaction | undefined;
    try {
      const pks = [1, 2, 3].map((i) => env.key(`gc/pk${i}`));
      const sharedKey = env.key('gc/shared_key');
      const txn1 = await begin(crashed, pastTs(10_000));
      const txn2 = await begin(crashed, pastTs(10_000) + 1n);
      txn3 = await begin();
      for (const [i, txn] of [txn1, txn2, txn3].entries()) {
        await lock(txn, pks[i] as Uint8Array);
        await lock(txn, sharedKey, true);
      }
      // txn1 and txn2 stop heartbeating; txn3 keeps its TTL manager.
      await crashed.close();

      let locks = await scanLocks(sharedKey, await getTs());
      expect(locks).toHaveLength(3);
      for (const l of locks) expect(l).toMatchObject({ key: sharedKey, lockType: 'PessimisticLock' });

      await env.client.lockResolver.resolveLocks(new Backoffer({ maxBackoffMs: 20_000 }), {
        callerStartTs: 0n,
        locks,
      });
      locks = await scanLocks(sharedKey, await getTs());
      expect(locks).toHaveLength(1);
      expect(locks[0]).toMatchObject({ key: sharedKey, lockVersion: txn3.startTs });
      await txn3.rollback();
    } finally {
      await crashed.close();
      if (txn3?.valid === true) await txn3.rollback();
    }
  });

  test.each([true, false])(
    'TestSharedLockCommitAndRollback: holders leave one by one (commit %s)',
    async (commit) => {
      const txns = [await begin(), await begin(), await begin()];
      const key = env.key(`cr-${commit}/shared_key`);
      for (const [i, txn] of txns.entries()) await lock(txn, env.key(`cr-${commit}/pk${i + 1}`));
      for (const txn of txns) await lock(txn, key, true);
      expect(await scanLocks(key, await getTs())).toHaveLength(3);
      for (const [i, txn] of txns.entries()) {
        if (commit) await txn.commit();
        else await txn.rollback();
        const locks = await scanLocks(key, await getTs());
        expect(locks).toHaveLength(2 - i);
        for (const l of locks) {
          expect(l.key).toEqual(key);
          expect(l.lockVersion).not.toBe(txn.startTs);
        }
      }
      expect(await scanLocks(key, await getTs())).toHaveLength(0);
    },
  );

  test('TestPrewriteResolveExpiredSharedLock: an optimistic write resolves an expired shared lock', async () => {
    const crashed = await crashedClient();
    try {
      const pk = env.key('prewrite-expired/pk');
      const key = env.key('prewrite-expired/key');
      const txn1 = await begin(crashed, pastTs(10_000));
      await lock(txn1, pk);
      await lock(txn1, key, true);
      expect(await scanLocks(key, await getTs())).toHaveLength(1);
      await crashed.close();
      // The shared lock is still there, expired.
      expect(await scanLocks(key, await getTs())).toHaveLength(1);

      const txn2 = await env.client.begin();
      txn2.put(key, 'value_from_txn2');
      await txn2.commit();
      const snapshot = env.client.snapshot(txn2.commitTs);
      expect(text(await snapshot.get(key))).toBe('value_from_txn2');
      expect(await scanLocks(key, await getTs())).toHaveLength(0);
    } finally {
      await crashed.close();
    }
  });

  test('TestForceLockRetryOnSharedLock: a force lock waits for a shared lock, then takes the key', async () => {
    const pk1 = env.key('force/pk1');
    const pk2 = env.key('force/pk2');
    const key = env.key('force/key');
    const txn1 = await begin();
    await lock(txn1, pk1);
    await lock(txn1, key, true);
    expect(await scanLocks(key, await getTs())).toHaveLength(1);

    const txn2 = await begin();
    await lock(txn2, pk2);
    await txn2.startAggressiveLocking();
    // One key in aggressive locking: force-lock mode.
    const forced = txn2.lockKeys([key], { waitTimeoutMs: WAIT_MS });
    const settled = forced.then(
      () => undefined,
      (e: unknown) => e,
    );
    await whenWaiting(txn2.startTs, settled);
    await txn1.rollback();
    expect(await settled).toBeUndefined();
    await txn2.doneAggressiveLocking();

    const locks = await scanLocks(key, await getTs());
    expect(locks).toHaveLength(1);
    expect(locks[0]?.lockVersion).toBe(txn2.startTs);
    await txn2.rollback();
  });

  test('a deadlock through a shared lock fails with a DeadlockError naming the holder (each wait tagged per call)', async () => {
    const pk1 = env.key('deadlock/pk1');
    const pk2 = env.key('deadlock/pk2');
    const key = env.key('deadlock/shared_key');
    const txn1 = await begin();
    await lock(txn1, pk1);
    await lock(txn1, key, true);
    const txn2 = await begin();
    await lock(txn2, pk2);
    const settle = (txn: Transaction, p: Promise<void>) =>
      p.then(
        () => ({ txn, error: undefined as unknown }),
        (error: unknown) => ({ txn, error }),
      );
    // Each wait carries its call's tag (client-go LockCtx.ResourceGroupTag, as
    // TestDeadlockReportWaitChain tags them): the wait chain reports it per edge.
    const tagged = async (txn: Transaction, key: Uint8Array, tag: string) => {
      await txn.lockKeys([key], {
        forUpdateTs: await getTs(),
        waitTimeoutMs: WAIT_MS,
        resourceGroupTag: Buffer.from(tag),
      });
    };
    // txn1 waits for txn2's exclusive lock on pk2 ...
    const first = settle(txn1, tagged(txn1, pk2, 'tag-1-2'));
    await whenWaiting(txn1.startTs, first);
    // ... and txn2 for txn1, a holder of the shared lock on key: TiKV waits for each holder and
    // finds the cycle instead of letting the wait run out.
    const second = settle(txn2, tagged(txn2, key, 'tag-2-1'));
    const loser = await Promise.race([first, second]);
    expect(loser.error).toBeInstanceOf(DeadlockError);
    if (embedded) {
      // The second wait closed the cycle: txn2 fails, its wait for txn1 ends the chain.
      expect(loser.txn).toBe(txn2);
      const dead = loser.error as DeadlockError;
      expect(dead.lockTs).toBe(txn1.startTs);
      expect(
        dead.waitChain.map((e) => [e.txn, e.waitForTxn, Buffer.from(e.resourceGroupTag).toString()]),
      ).toEqual([
        [txn1.startTs, txn2.startTs, 'tag-1-2'],
        [txn2.startTs, txn1.startTs, 'tag-2-1'],
      ]);
    }
    await loser.txn.rollback();
    // The rollback wakes the other wait: a legacy-mode request answers a conflict (the statement
    // retries), or takes the lock.
    const winner = await (loser.txn === txn1 ? second : first);
    expect(winner.error === undefined || isWriteConflict(winner.error)).toBe(true);
    await winner.txn.rollback();
  });

  test('shared-lock misuse fails typed (client-go lockKeys checks)', async () => {
    const txn = await begin();
    const key = env.key('misuse/key');
    // No primary yet: a shared lock cannot be the first.
    await expect(lock(txn, key, true)).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await lock(txn, env.key('misuse/pk'));
    await lock(txn, key, true);
    // No upgrade from shared to exclusive.
    await expect(lock(txn, key)).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    // Locking again in share mode is a no-op.
    const [again] = await txn.lockKeys([key], { inShareMode: true });
    expect(again?.alreadyLocked).toBe(true);
    await expect(txn.lockKeys([key], { inShareMode: true, returnValues: true })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await txn.startAggressiveLocking();
    await expect(txn.lockKeys([env.key('misuse/other')], { inShareMode: true })).rejects.toMatchObject({
      code: 'NOT_SUPPORTED',
    });
    txn.cancelAggressiveLocking();
    await txn.rollback();
  });
});
