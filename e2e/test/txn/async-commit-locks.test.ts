// Ports of client-go integration_tests/async_commit_test.go and async_commit_fail_test.go cases
// about the locks an async-commit transaction leaves, through the public API: a pessimistic
// transaction writing over an expired async-commit lock (TestPessimisticTxnResolveAsyncCommitLock),
// point gets meeting the locks of an async commit whose commit phase never ran
// (TestPointGetWithAsyncCommit: client-go's `asyncCommitDoNothing` failpoint is a prewrite without
// commit), the secondaries the primary lock lists (TestSecondaryListInPrimaryLock), and the
// background commit settling (TestAsyncCommitLifecycleHooks).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Backoffer, U64_MAX } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { CommitProtocol, LOCK_RESOLVE_CHANNEL, type LockResolveEvent } from '@tikv/txn';
import {
  connectSpy,
  embedded,
  embeddedTest,
  hex,
  putAll,
  type SentResponse,
  type SpyClient,
  startTxnEnv,
  type TxnEnv,
  text,
  txnModes,
} from './txn-env.js';

const alphabet = Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x61 + i));

describe.each(txnModes())('async_commit_test.go locks (%s)', (_, mode) => {
  let env: TxnEnv;
  /** A client whose commit phase does nothing (client-go's `asyncCommitDoNothing` failpoint). */
  let noCommit: SpyClient;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'aclocks');
    noCommit = await connectSpy(env, {
      around: async (request, send) =>
        request.$case === 'Commit'
          ? ({ $case: 'Commit', value: kvrpcpb.CommitResponse.fromPartial({}) } as SentResponse)
          : send(),
    });
  });
  afterAll(async () => {
    await noCommit?.close();
    await env?.close();
  });

  test('TestPessimisticTxnResolveAsyncCommitLock', async () => {
    const k = env.key('ptr_k');
    // An async-commit transaction committed, but its commit phase never ran. (Its lock expires
    // after the 3 s TTL: async commit needs a start ts within its safe window, so it cannot be
    // dated back.)
    const crashed = await noCommit.client.begin({ asyncCommit: true });
    crashed.put(k, 'crashed');
    await crashed.commit();
    expect(crashed.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
    await crashed.whenCommitSettled();

    const txn = await env.client.begin({ pessimistic: true });
    await txn.lockKeys([env.key('ptr_k1')], { forUpdateTs: txn.startTs });
    txn.put(k, 'mine');
    await txn.commit();
    expect(text(await (await env.freshSnapshot()).get(k))).toBe('mine');
  }, 30_000);

  test('TestPointGetWithAsyncCommit (async_commit_fail_test.go)', async () => {
    const key = (ch: string) => env.key(`pg_${ch}`);
    await putAll(
      env.client,
      alphabet.map((ch) => [key(ch), ch] as const),
    );
    const pointGet = async (ch: string) => text(await env.client.snapshot(U64_MAX).get(key(ch)));
    const crashed = await noCommit.client.begin({ asyncCommit: true });
    expect(await pointGet('a')).toBe('a');
    expect(await pointGet('b')).toBe('b');
    // Committed once every prewrite succeeded; the commit phase never runs.
    crashed.put(key('a'), 'v1');
    crashed.put(key('b'), 'v2');
    await crashed.commit();
    expect(crashed.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
    await crashed.whenCommitSettled();
    // A point get at the maximum ts cannot ignore those locks: it finds the transaction committed.
    expect(await pointGet('a')).toBe('v1');
    expect(await pointGet('b')).toBe('v2');
    // And did not push TiKV's max ts to the maximum: a new async commit still reads.
    const txn2 = await env.client.begin({ asyncCommit: true });
    expect(text(await txn2.get(key('a')))).toBe('v1');
    expect(text(await txn2.get(key('b')))).toBe('v2');
    await txn2.rollback();
  }, 30_000);

  embeddedTest(
    'TestSecondaryListInPrimaryLock (async_commit_fail_test.go)',
    async () => {
      const key = (s: string) => env.key(`sl_${s}`);
      env.split(['h', 'o', 'u'].map(key));
      const cases: [string[], string[]][] = [
        [['a'], ['a1']],
        [
          ['a', 'b'],
          ['a2', 'b2'],
        ],
        [
          ['a', 'b', 'd'],
          ['a3', 'b3', 'd3'],
        ],
        [
          ['a', 'b', 'h', 'i', 'u'],
          ['a4', 'b4', 'h4', 'i4', 'u4'],
        ],
        [
          ['i', 'a', 'z', 'u', 'b'],
          ['i5', 'a5', 'z5', 'u5', 'b5'],
        ],
      ];
      for (const [n, [names, values]] of cases.entries()) {
        const keys = names.map((name) => key(`${name}_${n + 1}`));
        const txn = await noCommit.client.begin({ asyncCommit: true });
        for (const [i, k] of keys.entries()) txn.put(k, values[i] as string);
        noCommit.requests.length = 0;
        await txn.commit();
        expect(txn.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
        await txn.whenCommitSettled();
        const sentPrimary = noCommit.sent('Prewrite')[0]?.value.primaryLock ?? new Uint8Array(0);
        const primary = keys.find((k) => hex(env.storageKey(k)) === hex(sentPrimary)) as Uint8Array;
        expect(primary).toBeDefined();
        const status = await env.client.lockResolver.checkTxnStatus(new Backoffer({ maxBackoffMs: 5000 }), {
          primaryKey: primary,
          txnStartTs: txn.startTs,
          callerStartTs: 0n,
          currentTs: 0n,
          rollbackIfNotExist: false,
        });
        expect(status.isCommitted).toBe(false);
        expect(status.action).toBe('NoAction');
        const expected = keys
          .filter((k) => hex(k) !== hex(primary))
          .map(hex)
          .sort();
        expect((status.primaryLock?.secondaries ?? []).map(hex).sort()).toEqual(expected);
      }
    },
    30_000,
  );

  test('TestAsyncCommitLifecycleHooks: the background commit of an async commit settles', async () => {
    const [a, z] = [env.key('aclh_a'), env.key('aclh_z')];
    if (embedded) env.split([z]);
    const txn = await env.client.begin({ asyncCommit: true });
    txn.put(a, 'a');
    txn.put(z, 'z');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
    await txn.whenCommitSettled();
    const met: LockResolveEvent[] = [];
    const listener = (m: unknown) => met.push(m as LockResolveEvent);
    subscribe(LOCK_RESOLVE_CHANNEL, listener);
    try {
      expect((await (await env.freshSnapshot()).batchGet([a, z])).map(text)).toEqual(['a', 'z']);
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, listener);
    }
    expect(met).toEqual([]);
  });
});
