// Port of client-go integration_tests/2pc_test.go's pessimistic cases that need no failpoint
// (TestPessimisticLockReturnValues, TestPessimisticLockIfExists, TestPessimisticLockCheckExistence,
// TestCommitDeadLock), plus lock waits, and the contention test of issue 14: 64 concurrent
// read-modify-write transactions on 4 hot keys.
import { DeadlockError } from '@tikv/common';
import { KeyFlags } from '@tikv/txn';
import { startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

describe.each(txnModes())('pessimistic transactions (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'pessimistic');
  });
  afterAll(async () => {
    await env?.close();
  });

  test('TestPessimisticLockReturnValues', async () => {
    const [key, key2] = [env.key('rv'), env.key('rv2')];
    await env.client.run(async (txn) => {
      txn.put(key, key);
      txn.put(key2, key2);
    });
    const txn = await env.client.begin({ pessimistic: true });
    const values = await txn.lockKeys([key, key2], { returnValues: true });
    expect(values.map((v) => v.value)).toEqual([key, key2]);
    await txn.rollback();
  });

  test('TestPessimisticLockIfExists', async () => {
    const [key0, key, key2, key3] = ['jkey', 'key', 'key2', 'key3'].map((s) => env.key(`ie-${s}`));
    await env.client.run(async (txn) => {
      txn.put(key as Uint8Array, key as Uint8Array);
      txn.put(key3 as Uint8Array, key3 as Uint8Array);
    });
    // Locked "key" successfully.
    let txn = await env.client.begin({ pessimistic: true });
    await txn.lockKeys([key0 as Uint8Array]);
    let r = await txn.lockKeys([key as Uint8Array], { lockOnlyIfExists: true, returnValues: true });
    expect(r[0]).toMatchObject({ locked: true, exists: true, value: key });
    expect(KeyFlags.hasLockedValueExists(txn.memBuffer.getFlags(key as Uint8Array) ?? 0)).toBe(true);
    await txn.rollback();
    // "key2" does not exist: not locked.
    txn = await env.client.begin({ pessimistic: true });
    await txn.lockKeys([key0 as Uint8Array]);
    r = await txn.lockKeys([key2 as Uint8Array], { lockOnlyIfExists: true, returnValues: true });
    expect(r[0]).toMatchObject({ locked: false, exists: false });
    expect(txn.memBuffer.getFlags(key2 as Uint8Array)).toBeUndefined();
    await txn.rollback();
    // Several keys at once, the primary already chosen.
    txn = await env.client.begin({ pessimistic: true });
    await txn.lockKeys([key0 as Uint8Array]);
    r = await txn.lockKeys([key as Uint8Array, key2 as Uint8Array, key3 as Uint8Array], {
      lockOnlyIfExists: true,
      returnValues: true,
    });
    expect(r.map((x) => [x.locked, text(x.value)])).toEqual([
      [true, text(key)],
      [false, undefined],
      [true, text(key3)],
    ]);
    await txn.rollback();
  });

  test('TestPessimisticLockCheckExistence', async () => {
    const [key, key2] = [env.key('ce'), env.key('ce2')];
    await env.client.run(async (txn) => txn.put(key, key));
    let txn = await env.client.begin({ pessimistic: true });
    let r = await txn.lockKeys([key, key2], { checkExistence: true });
    expect(r.map((x) => [x.exists, x.value])).toEqual([
      [true, undefined],
      [false, undefined],
    ]);
    await txn.rollback();
    txn = await env.client.begin({ pessimistic: true });
    r = await txn.lockKeys([key, key2], { checkExistence: true, returnValues: true });
    expect(r.map((x) => [x.exists, text(x.value)])).toEqual([
      [true, text(key)],
      [false, undefined],
    ]);
    await txn.rollback();
  });

  test('TestCommitDeadLock: one of two crossing transactions gets a DeadlockError', async () => {
    const [k1, k2] = [env.key('dl1'), env.key('dl2')];
    const a = await env.client.begin({ pessimistic: true });
    const b = await env.client.begin({ pessimistic: true });
    await a.lockKeys([k1]);
    await b.lockKeys([k2]);
    const first = a.lockKeys([k2]).then(
      () => ({ txn: a, error: undefined as unknown }),
      (error: unknown) => ({ txn: a, error }),
    );
    const second = b.lockKeys([k1]).then(
      () => ({ txn: b, error: undefined as unknown }),
      (error: unknown) => ({ txn: b, error }),
    );
    const loser = await Promise.race([first, second]);
    expect(loser.error).toBeInstanceOf(DeadlockError);
    await loser.txn.rollback();
    const winner = await (loser.txn === a ? second : first);
    expect(winner.error).toBeUndefined();
    winner.txn.put(k1, 'w');
    await winner.txn.commit();
  });

  test('no wait and wait timeouts, then the lock after the holder commits', async () => {
    const key = env.key('wait');
    const holder = await env.client.begin({ pessimistic: true });
    await holder.lockKeys([key]);
    const waiter = await env.client.begin({ pessimistic: true });
    await expect(waiter.lockKeys([key], { noWait: true })).rejects.toMatchObject({
      code: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
    });
    await expect(waiter.lockKeys([key], { waitTimeoutMs: 200 })).rejects.toMatchObject({
      code: 'LOCK_WAIT_TIMEOUT',
    });
    const pending = waiter.lockKeys([key], { returnValues: true });
    holder.put(key, 'h');
    await holder.commit();
    expect(text((await pending)[0]?.value)).toBe('h');
    await waiter.rollback();
  });

  test('64 concurrent read-modify-write transactions on 4 hot keys lose no increment', async () => {
    const hot = [0, 1, 2, 3].map((i) => env.key(`hot${i}`));
    let committed = 0;
    await Promise.all(
      Array.from({ length: 64 }, async (_, w) => {
        for (let round = 0; round < 2; round++) {
          const key = hot[(w + round) % hot.length] as Uint8Array;
          await env.client.run(
            async (txn) => {
              const [r] = await txn.lockKeys([key], { returnValues: true, waitTimeoutMs: 30_000 });
              txn.put(key, String(Number(text(r?.value) ?? '0') + 1));
            },
            { pessimistic: true },
          );
          committed++;
        }
      }),
    );
    const values = await (await env.freshSnapshot()).batchGet(hot);
    expect(values.reduce((sum, v) => sum + Number(text(v)), 0)).toBe(committed);
    expect(committed).toBe(128);
  }, 120_000);
});
