import {
  AlreadyExistsError,
  AssertionFailedError,
  DeadlockError,
  InvalidArgumentError,
  isTiKVError,
  WriteConflictError,
} from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { CommitProtocol, FlagsOp, KeyFlags, TransactionClient } from '../src/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const k = (s: string): Uint8Array => enc.encode(s);
const t = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : dec.decode(b));

describe.each([
  ['API V1', false],
  ['API V2 keyspace', true],
])('pessimistic transactions (%s)', (_name, v2) => {
  let cluster: MockCluster;
  let client: TransactionClient;
  beforeAll(async () => {
    cluster = await MockCluster.start(
      v2 ? { apiVersion: 'V2', keyspaces: [{ name: 'ks1' }] } : { regionKeyEncoding: 'memcomparable' },
    );
    client = await TransactionClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      ...(v2 ? { apiVersion: 'V2' as const, keyspace: 'ks1' } : {}),
    });
  });
  afterAll(async () => {
    await client.close();
    await cluster.close();
  });

  it('a lock taken after a newer commit makes the write of the key commit without conflict', async () => {
    const txn = await client.begin({ pessimistic: true });
    expect(txn.pessimistic).toBe(true);
    expect(txn.forUpdateTs).toBe(txn.startTs);
    await client.run(async (other) => other.put('p-rmw', '1'));
    const [r] = await txn.lockKeys(['p-rmw'], { returnValues: true });
    expect(r?.locked).toBe(true);
    expect(t(r?.value)).toBe('1');
    expect(txn.forUpdateTs).toBeGreaterThan(txn.startTs);
    // The returned value answers reads: the snapshot at the start ts would not see it.
    expect(t(await txn.get('p-rmw'))).toBe('1');
    txn.put('p-rmw', '2');
    await txn.commit();
    expect(t(await client.snapshot().get(k('p-rmw')))).toBe('2');
  });

  it('no wait and a wait timeout fail typed while another transaction holds the lock', async () => {
    const holder = await client.begin({ pessimistic: true });
    await holder.lockKeys(['p-held']);
    const waiter = await client.begin({ pessimistic: true });
    await expect(waiter.lockKeys(['p-held'], { noWait: true })).rejects.toMatchObject({
      code: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
    });
    await expect(waiter.lockKeys(['p-held'], { waitTimeoutMs: 300 })).rejects.toMatchObject({
      code: 'LOCK_WAIT_TIMEOUT',
    });
    holder.put('p-held', 'h');
    await holder.commit();
    const [r] = await waiter.lockKeys(['p-held'], { returnValues: true });
    expect(t(r?.value)).toBe('h');
    await waiter.rollback();
  });

  it('a waiter gets the lock once the holder commits', async () => {
    const holder = await client.begin({ pessimistic: true });
    await holder.lockKeys(['p-wait']);
    const waiter = await client.begin({ pessimistic: true });
    const pending = waiter.lockKeys(['p-wait'], { returnValues: true });
    holder.put('p-wait', 'first');
    await holder.commit();
    const [r] = await pending;
    expect(t(r?.value)).toBe('first');
    waiter.put('p-wait', 'second');
    await waiter.commit();
    expect(t(await client.snapshot().get(k('p-wait')))).toBe('second');
  });

  it('a lock at an explicit for-update ts older than a commit is a write conflict', async () => {
    const txn = await client.begin({ pessimistic: true });
    await client.run(async (other) => other.put('p-old', 'x'));
    const err = await txn.lockKeys(['p-old'], { forUpdateTs: txn.startTs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteConflictError);
    await txn.rollback();
  });

  it('a deadlock fails one of the two transactions with DeadlockError and the other goes on', async () => {
    const a = await client.begin({ pessimistic: true });
    const b = await client.begin({ pessimistic: true });
    await a.lockKeys(['p-dl-1']);
    await b.lockKeys(['p-dl-2']);
    const first = a.lockKeys(['p-dl-2']).then(
      () => a,
      (e: unknown) => ({ loser: a, e }),
    );
    const second = b.lockKeys(['p-dl-1']).then(
      () => b,
      (e: unknown) => ({ loser: b, e }),
    );
    // The one that would close the cycle fails; the other keeps waiting for its lock.
    const settled = await Promise.race([first, second]);
    expect(settled).toHaveProperty('loser');
    const { loser, e } = settled as { loser: typeof a; e: unknown };
    expect(e).toBeInstanceOf(DeadlockError);
    expect((e as DeadlockError).waitChain.length).toBe(2);
    const winner = loser === a ? b : a;
    await loser.rollback();
    // The winner's lock request goes through once the loser released its locks.
    expect(await (loser === a ? second : first)).toBe(winner);
    await winner.commit();
  });

  it('rollback releases the locks', async () => {
    const txn = await client.begin({ pessimistic: true });
    await txn.lockKeys(['p-rb-1', 'p-rb-2']);
    await txn.rollback();
    const next = await client.begin({ pessimistic: true });
    const results = await next.lockKeys(['p-rb-1', 'p-rb-2'], { noWait: true });
    expect(results.map((r) => r.locked)).toEqual([true, true]);
    await next.rollback();
  });

  it('existence checks, lock-only-if-exists and keys already locked', async () => {
    await client.run(async (other) => other.put('p-ex-yes', 'y'));
    const txn = await client.begin({ pessimistic: true });
    const checked = await txn.lockKeys(['p-ex-yes', 'p-ex-no'], { checkExistence: true, returnValues: true });
    expect(checked.map((r) => r.exists)).toEqual([true, false]);
    // A missing key has no value, not an empty one.
    expect(checked.map((r) => t(r.value))).toEqual(['y', undefined]);
    const again = await txn.lockKeys(['p-ex-yes']);
    expect(again[0]?.alreadyLocked).toBe(true);
    await txn.commit();
    const only = await client.begin({ pessimistic: true });
    await only.lockKeys(['p-ex-yes']);
    const r = await only.lockKeys(['p-ex-no2', 'p-ex-yes2'], { lockOnlyIfExists: true, returnValues: true });
    expect(r.map((x) => x.locked)).toEqual([false, false]);
    await expect(only.lockKeys(['p-ex-yes'], { lockOnlyIfExists: true })).rejects.toThrow(
      InvalidArgumentError,
    );
    await only.rollback();
  });

  it('an insert lock of a key locked and found to exist fails at once; a failed insert lock drops the presumption', async () => {
    await client.run(async (other) => {
      other.put('p-ins-e', 'x');
      other.put('p-ins-x', 'x');
    });
    const txn = await client.begin({ pessimistic: true });
    await txn.lockKeys(['p-ins-e', 'p-ins-n'], { returnValues: true });
    // Already locked and existing: an insert's lock fails (client-go checks NeedCheckExists).
    txn.memBuffer.updateFlags(k('p-ins-e'), FlagsOp.SetPresumeKeyNotExists);
    await expect(txn.lockKeys(['p-ins-e'])).rejects.toBeInstanceOf(AlreadyExistsError);
    // Already locked and absent: fine.
    txn.memBuffer.updateFlags(k('p-ins-n'), FlagsOp.SetPresumeKeyNotExists);
    expect((await txn.lockKeys(['p-ins-n']))[0]?.alreadyLocked).toBe(true);
    // TiKV refuses the insert's lock of an existing key; the key is no longer presumed absent,
    // so a later put of it is a put, not an insert that would fail the commit.
    txn.memBuffer.setWithFlags(k('p-ins-x'), k('y'), FlagsOp.SetPresumeKeyNotExists);
    await expect(txn.lockKeys(['p-ins-x'])).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(KeyFlags.hasPresumeKeyNotExists(txn.memBuffer.getFlags(k('p-ins-x')) ?? 0)).toBe(false);
    txn.put('p-ins-x', 'y');
    txn.delete('p-ins-n');
    await txn.commit();
    expect(t(await client.snapshot().get(k('p-ins-x')))).toBe('y');
  });

  it('a failed 1PC commit releases the pessimistic locks, and whenCommitSettled waits for it', async () => {
    const txn = await client.begin({ pessimistic: true, onePc: true });
    await txn.lockKeys(['p-1pc-fail']);
    txn.put('p-1pc-fail', 'x');
    const fault = cluster.inject({
      method: 'KvPrewrite',
      times: 1,
      error: { keyError: { abort: 'injected' } },
    });
    await expect(txn.commit()).rejects.toMatchObject({ code: 'TXN_ABORTED' });
    expect(fault.hits).toBe(1);
    await txn.whenCommitSettled();
    // Released, not left to expire with its TTL (client-go cleans up whatever the protocol).
    const next = await client.begin({ pessimistic: true });
    const [r] = await next.lockKeys(['p-1pc-fail'], { noWait: true });
    expect(r?.locked).toBe(true);
    await next.rollback();
  });

  it('64 concurrent read-modify-write transactions on 4 hot keys lose no increment', async () => {
    const hot = ['p-hot-0', 'p-hot-1', 'p-hot-2', 'p-hot-3'];
    let committed = 0;
    const worker = async (w: number): Promise<void> => {
      for (let round = 0; round < 2; round++) {
        const key = hot[(w + round) % hot.length] as string;
        await client.run(
          async (txn) => {
            const [r] = await txn.lockKeys([key], { returnValues: true, waitTimeoutMs: 20_000 });
            txn.put(key, String(Number(t(r?.value) ?? '0') + 1));
          },
          { pessimistic: true },
        );
        committed++;
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, w) => worker(w)));
    const values = await client.snapshot().batchGet(hot.map(k));
    expect(values.reduce((sum, v) => sum + Number(t(v)), 0)).toBe(committed);
    expect(committed).toBe(128);
  }, 60_000);

  /** Whether another transaction would have to wait for `key` (client-go `checkIsKeyLocked`). */
  async function isLocked(key: string): Promise<boolean> {
    const probe = await client.begin({ pessimistic: true });
    try {
      await probe.lockKeys([key], { noWait: true });
      return false;
    } catch (e) {
      if ((e as { code?: string }).code === 'LOCK_ACQUIRE_FAILED_NO_WAIT') return true;
      throw e;
    } finally {
      await probe.rollback();
    }
  }

  it.each([false, true])('TestAggressiveLocking (finally done: %s)', async (finalIsDone) => {
    const key = (s: string) => `agg-${finalIsDone}-${s}`;
    const txn = await client.begin({ pessimistic: true });
    expect(txn.inAggressiveLocking).toBe(false);
    await txn.lockKeys([key('k1'), key('k2')]);
    await txn.startAggressiveLocking();
    for (const k of ['k2', 'k3', 'k4']) await txn.lockKeys([key(k)]);
    expect(txn.isInAggressiveLockingStage(key('k2'))).toBe(false);
    expect(txn.isInAggressiveLockingStage(key('k3'))).toBe(true);
    expect(txn.isInAggressiveLockingStage(key('k4'))).toBe(true);
    for (const k of ['k1', 'k2', 'k3', 'k4']) expect(await isLocked(key(k))).toBe(true);

    // Retry: the previous attempt's locks stay until the next retry shows them unnecessary.
    await txn.retryAggressiveLocking();
    for (const k of ['k1', 'k2', 'k3', 'k4']) expect(await isLocked(key(k))).toBe(true);
    await txn.lockKeys([key('k4')]);
    await txn.lockKeys([key('k5')]);
    await txn.retryAggressiveLocking();
    expect(await isLocked(key('k3'))).toBe(false);
    for (const k of ['k1', 'k2', 'k4', 'k5']) expect(await isLocked(key(k))).toBe(true);

    await txn.lockKeys([key('k2')]);
    await txn.lockKeys([key('k5')]);
    await txn.lockKeys([key('k6')]);
    if (finalIsDone) {
      await txn.doneAggressiveLocking();
      expect(txn.inAggressiveLocking).toBe(false);
      const locked = { k1: true, k2: true, k3: false, k4: false, k5: true, k6: true };
      for (const [k, want] of Object.entries(locked)) expect(await isLocked(key(k))).toBe(want);
      txn.put(key('k6'), 'v');
      await txn.commit();
      expect(t(await client.snapshot().get(k(key('k6'))))).toBe('v');
    } else {
      txn.cancelAggressiveLocking();
      await txn.whenLocksReleased();
      const locked = { k1: true, k2: true, k3: false, k4: false, k5: false, k6: false };
      for (const [k, want] of Object.entries(locked)) expect(await isLocked(key(k))).toBe(want);
      await txn.rollback();
    }
  });

  it('aggressive locking takes a lock over a newer commit and reports it; commit refuses pending locks', async () => {
    const txn = await client.begin({ pessimistic: true });
    await client.run(async (other) => other.put('agg-conflict', 'newer'));
    await txn.startAggressiveLocking();
    // An explicit for-update ts below the newer commit: locked with conflict, not a write conflict.
    const [r] = await txn.lockKeys(['agg-conflict'], { forUpdateTs: txn.startTs, returnValues: true });
    expect(r?.locked).toBe(true);
    expect(t(r?.value)).toBe('newer');
    await expect(txn.commit()).rejects.toMatchObject({ code: 'INVALID_TXN' });
    // Done: the lock keeps the for-update ts it really has, which prewrite checks.
    await txn.doneAggressiveLocking();
    txn.put('agg-conflict', 'mine');
    await txn.commit();
    expect(t(await client.snapshot().get(k('agg-conflict')))).toBe('mine');
  });

  it('aggressive locking needs a pessimistic transaction and an open stage', async () => {
    const optimistic = await client.begin();
    await expect(optimistic.startAggressiveLocking()).rejects.toMatchObject({ code: 'INVALID_TXN' });
    await optimistic.rollback();
    const txn = await client.begin({ pessimistic: true });
    await expect(txn.retryAggressiveLocking()).rejects.toMatchObject({ code: 'INVALID_TXN' });
    await txn.startAggressiveLocking();
    await expect(txn.startAggressiveLocking()).rejects.toMatchObject({ code: 'INVALID_TXN' });
    // Several keys at once end the stage.
    await txn.lockKeys(['agg-m1', 'agg-m2']);
    expect(txn.inAggressiveLocking).toBe(false);
    await txn.commit();
  });

  it('an optimistic transaction only marks the keys; prewrite locks them at commit', async () => {
    const txn = await client.begin();
    const [r] = await txn.lockKeys(['p-opt']);
    expect(r?.locked).toBe(true);
    expect(txn.len).toBe(1);
    expect(await txn.commit()).toBeGreaterThan(0n);
    expect(
      isTiKVError(
        new WriteConflictError({
          startTs: 1n,
          conflictStartTs: 0n,
          conflictCommitTs: 0n,
          key: k('a'),
          primary: k('a'),
          reason: 'Optimistic',
        }),
      ),
    ).toBe(true);
  });
  it('inShareMode: two holders share a key, commit with 2PC even when asked for 1PC; misuse fails typed', async () => {
    const a = await client.begin({ pessimistic: true, onePc: true, asyncCommit: true });
    const b = await client.begin({ pessimistic: true });
    await expect(a.lockKeys(['sl-key'], { inShareMode: true })).rejects.toMatchObject({
      code: 'NOT_SUPPORTED',
    });
    await a.lockKeys(['sl-pk-a']);
    await b.lockKeys(['sl-pk-b']);
    await a.lockKeys(['sl-key'], { inShareMode: true });
    await b.lockKeys(['sl-key'], { inShareMode: true });
    expect(KeyFlags.hasLockedInShareMode(a.memBuffer.getFlags(k('sl-key')) ?? 0)).toBe(true);
    await expect(a.lockKeys(['sl-key'])).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(a.lockKeys(['sl-key'], { inShareMode: true, checkExistence: true })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    const [again] = await a.lockKeys(['sl-key'], { inShareMode: true });
    expect(again?.alreadyLocked).toBe(true);
    a.put('sl-pk-a', 'a');
    await a.commit();
    expect(a.commitProtocol).toBe(CommitProtocol.TWO_PC);
    await b.commit();
    // The shared key was only locked: nothing was written to it.
    expect(await client.snapshot().get(k('sl-key'))).toBeUndefined();
    expect(t(await client.snapshot().get(k('sl-pk-a')))).toBe('a');
    const c = await client.begin({ pessimistic: true });
    await c.startAggressiveLocking();
    await expect(c.lockKeys(['sl-key'], { inShareMode: true })).rejects.toMatchObject({
      code: 'NOT_SUPPORTED',
    });
    c.cancelAggressiveLocking();
    await c.rollback();
  });
  it('an assertion a lock answer contradicts fails the commit after prewrite, with async commit and 1PC off', async () => {
    const txn = await client.begin({
      pessimistic: true,
      assertionLevel: 'fast',
      onePc: true,
      asyncCommit: true,
    });
    const [r] = await txn.lockKeys(['as-missing'], { checkExistence: true });
    expect(r?.exists).toBe(false);
    txn.put('as-missing', 'v');
    txn.memBuffer.updateFlags(k('as-missing'), FlagsOp.SetAssertExist);
    const err = await txn.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AssertionFailedError);
    expect(err).toMatchObject({
      key: k('as-missing'),
      assertion: 'Exist',
      existingStartTs: 0n,
      existingCommitTs: 0n,
    });
    await txn.whenCommitSettled();
    expect(await client.snapshot().get(k('as-missing'))).toBeUndefined();
    // The failed commit's locks are rolled back: another transaction locks the key at once.
    const other = await client.begin({ pessimistic: true });
    await other.lockKeys(['as-missing'], { noWait: true });
    await other.rollback();
  });

  it('diskFullOpt: an almost full disk takes only the commits that allow it; taggers tag reads', async () => {
    const stores = cluster.stores().map((st) => st.id);
    const tags: string[] = [];
    try {
      for (const id of stores) cluster.setStoreDiskUsage(id, 'almostFull');
      const txn = await client.begin({
        diskFullOpt: 'allowedOnAlmostFull',
        resourceGroupTagger: ({ command }) => {
          tags.push(command);
          return undefined;
        },
      });
      await txn.get('df-a');
      txn.put('df-a', 'a');
      await txn.commit();
      expect(tags).toEqual(['Get', 'Prewrite', 'Commit']);
      const refused = await client.begin();
      refused.put('df-b', 'b');
      await expect(refused.commit({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      await expect(client.begin({ diskFullOpt: 'sometimes' as never })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(client.begin({ resourceGroupTagger: 'tag' as never })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    } finally {
      for (const id of stores) cluster.setStoreDiskUsage(id, 'normal');
    }
    expect(t(await client.snapshot().get(k('df-a')))).toBe('a');
    expect(() => cluster.setStoreDiskUsage(stores[0] as bigint, 'full' as never)).toThrow(
      InvalidArgumentError,
    );
  });
});
