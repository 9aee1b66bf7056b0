// Port of client-go integration_tests/pipelined_memdb_test.go through the public API: a pipelined
// transaction flushes its buffer as locks while it runs, reads its own flushed writes back
// (KvBufferBatchGet), is invisible to others until commit, and commits by committing its primary
// and resolving the flushed range; a rollback resolves the range as rolled back. client-go's
// failpoints become a request interceptor (holding KvFlush, counting KvBufferBatchGet) and the
// client's commit tuning (a 100 ms managed lock TTL, a 200 ms max TTL with the
// `pipelined.maxTxnTtlMs` option for MaxPipelinedTxnTTL). The flush thresholds are scaled down (the
// `pipelined` options) so that the suite stays short.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type CommitDetails, KeyIsLockedError, keyErrorFromWire, TiKVError } from '@tikv/common';
import {
  CommitProtocol,
  TransactionClient,
  TXN_HEARTBEAT_CHANNEL,
  TXN_STATUS_BROADCAST_CHANNEL,
  type TxnHeartbeatEvent,
  type TxnStatusBroadcastEvent,
} from '@tikv/txn';
import { embeddedTest, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

/** client-go's MinFlushKeys / MinFlushSize, scaled down by ten. */
const MIN_FLUSH_KEYS = 1000;
const MIN_FLUSH_SIZE = 1600 * 1024;
const SCALED = { minFlushKeys: MIN_FLUSH_KEYS, minFlushSizeBytes: MIN_FLUSH_SIZE };

/** Holds KvFlush requests while closed (client-go's `beforePipelinedFlush` pause) and counts requests. */
class FlushGate {
  closed = false;
  readonly counts = new Map<string, number>();
  readonly #held: (() => void)[] = [];
  #onHeld: (() => void) | undefined;

  readonly interceptor = {
    name: 'pipelined-test-gate',
    wrap:
      (next: (address: string, request: { $case: string }, options: never) => Promise<unknown>) =>
      async (address: string, request: { $case: string }, options: never) => {
        this.counts.set(request.$case, (this.counts.get(request.$case) ?? 0) + 1);
        if (request.$case === 'Flush' && this.closed) {
          await new Promise<void>((resolve) => {
            this.#held.push(resolve);
            this.#onHeld?.();
          });
        }
        return next(address, request, options);
      },
  };

  count(cmd: string): number {
    return this.counts.get(cmd) ?? 0;
  }

  /** Resolves once a flush request is held. */
  whenHeld(): Promise<void> {
    if (this.#held.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onHeld = resolve;
    });
  }

  open(): void {
    this.closed = false;
    for (const r of this.#held.splice(0)) r();
  }
}

/** Whether a promise settled once the pending callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe.each(txnModes())('pipelined_memdb_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  let gate: FlushGate;
  let client: TransactionClient;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'pipelined_memdb');
    gate = new FlushGate();
    // A second client with the gate and a short managed lock TTL (client-go `ManagedLockTTL = 100`).
    client = await TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      sender: { interceptors: [gate.interceptor as never] },
    });
  });
  afterAll(async () => {
    await client?.close();
    await env?.close();
  });

  const key = (name: string | number) => env.key(String(name));

  /** The lock on `k`, read with a raw KvGet at a fresh ts (client-go `mustGetLock`), or undefined. */
  async function lockOn(k: Uint8Array) {
    const exec = env.client.parts.executor;
    const version = await env.client.currentTimestamp();
    const { bo, scope } = exec.begin({ timeoutMs: 10_000 });
    try {
      const { response } = await exec.sendToKey(bo, k, () => ({
        $case: 'Get' as const,
        value: { context: undefined, key: k, version, needCommitTs: false },
      }));
      const error = response.value.error;
      if (error === undefined) return undefined;
      const e = keyErrorFromWire(error);
      return e instanceof KeyIsLockedError ? e.lock : undefined;
    } finally {
      scope.dispose();
    }
  }

  /** KvBufferBatchGet of `keys` at `startTs`: what the transaction's flushed locks still hold. */
  async function bufferedAt(startTs: bigint, keys: Uint8Array[]): Promise<number> {
    const exec = env.client.parts.executor;
    const { bo, scope } = exec.begin({ timeoutMs: 10_000 });
    let found = 0;
    try {
      for (const k of keys) {
        const { response } = await exec.sendToKey(bo, k, () => ({
          $case: 'BufferBatchGet' as const,
          value: { context: undefined, keys: [k], version: startTs },
        }));
        found += response.value.pairs.length;
      }
    } finally {
      scope.dispose();
    }
    return found;
  }

  test('TestPipelinedAndFlush: reads its own writes while flushing, invisible to others until commit', async () => {
    const txn = await client.begin({ pipelined: SCALED });
    const txn1 = await client.begin();
    expect(txn.pipelined).toBe(true);
    const valueAt = (i: number) =>
      'x'.repeat(Math.trunc(MIN_FLUSH_SIZE / MIN_FLUSH_KEYS) - String(i).length + 1);
    for (let i = 0; i < MIN_FLUSH_KEYS; i++) {
      txn.put(key(i), valueAt(i));
      await txn.flush();
      // The write that reaches both thresholds starts a flush: the generation is swapped out.
      expect(txn.memBuffer.len).toBe(i < MIN_FLUSH_KEYS - 1 ? i + 1 : 0);
      expect(text(await txn.get(key(i)))).toBe(valueAt(i));
      expect(await txn1.get(key(i))).toBeUndefined();
    }
    await txn1.rollback();
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.PIPELINED);
    await txn.whenCommitSettled();
    const txn2 = await client.begin();
    const values = await txn2.batchGet(Array.from({ length: MIN_FLUSH_KEYS }, (_x, i) => key(i)));
    expect(values.map(text)).toEqual(Array.from({ length: MIN_FLUSH_KEYS }, (_x, i) => valueAt(i)));
    await txn2.rollback();
  });

  test('TestPipelinedMemDBBufferGet: flushed writes are read back from TiKV', async () => {
    const txn = await client.begin({ pipelined: true });
    for (let i = 0; i < 100; i++) {
      txn.put(key(`bg${i}`), String(i));
      expect(await txn.flush({ force: true })).toBe(true);
    }
    await txn.flushWait();
    const before = gate.count('BufferBatchGet');
    for (let i = 0; i < 100; i++) expect(text(await txn.get(key(`bg${i}`)))).toBe(String(i));
    expect(gate.count('BufferBatchGet')).toBeGreaterThan(before);
    await txn.rollback();
    await txn.whenCommitSettled();
  });

  embeddedTest('TestPipelinedFlushBlock: a flush waits for the one in flight', async () => {
    const txn = await client.begin({ pipelined: true });
    txn.put(key('block1'), 'value1');
    gate.closed = true;
    expect(await txn.flush({ force: true })).toBe(true);
    await gate.whenHeld();
    txn.put(key('block2'), 'value2');
    const second = txn.flush({ force: true });
    expect(await settled(second)).toBe(false);
    gate.open();
    expect(await second).toBe(true);
    await txn.flushWait();
    await txn.rollback();
    await txn.whenCommitSettled();
  });

  test('TestPipelinedSkipFlushedLock: its snapshot skips its own flushed locks', async () => {
    const txn = await client.begin({ pipelined: true });
    txn.put(key('skip1'), 'value1');
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    // No wait for its own lock: the snapshot reads past it.
    expect(await txn.snapshot.get(key('skip1'), { timeoutMs: 1_000 })).toBeUndefined();
    await txn.commit();
    await txn.whenCommitSettled();
    const next = await client.begin({ pipelined: true });
    expect(text(await next.get(key('skip1')))).toBe('value1');
    await next.rollback();
  });

  embeddedTest('TestPipelinedCommit: the flushed range is resolved across regions after commit', async () => {
    env.split([key('c50')]);
    const txn = await client.begin({ pipelined: true });
    for (let i = 0; i < 100; i++) txn.put(key(`c${String(i).padStart(2, '0')}`), String(i));
    await txn.commit();
    await txn.whenCommitSettled();
    // Every lock was resolved by the commit (none is left for readers to resolve).
    for (const i of [0, 49, 50, 99])
      expect(await lockOn(key(`c${String(i).padStart(2, '0')}`))).toBeUndefined();
    const check = await client.begin({ pipelined: true });
    const got = await check.batchGet(
      Array.from({ length: 100 }, (_x, i) => key(`c${String(i).padStart(2, '0')}`)),
    );
    expect(got.map(text)).toEqual(Array.from({ length: 100 }, (_x, i) => String(i)));
    await check.rollback();
  });

  test('TestPipelinedRollback: a rollback cleans the flushed locks up', async () => {
    const txn = await client.begin({ pipelined: true });
    const keys = Array.from({ length: 100 }, (_x, i) => key(`rb${i}`));
    keys.forEach((k, i) => {
      txn.put(k, String(i));
    });
    await txn.flush({ force: true });
    await txn.flushWait();
    expect(await bufferedAt(txn.startTs, keys.slice(0, 3))).toBe(3);
    await txn.rollback();
    await txn.whenCommitSettled();
    expect(await bufferedAt(txn.startTs, keys)).toBe(0);
    const snap = await env.freshSnapshot();
    expect((await snap.batchGet(keys)).every((v) => v === undefined)).toBe(true);
  });

  test("onCommitDetails: a pipelined commit reports the flushes and the primary's commit it sent, and every generation's writes", async () => {
    const txn = await client.begin({ pipelined: true });
    txn.put(key('cd1'), 'v1');
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    // The last generation: the commit flushes it, then commits the primary.
    txn.put(key('cd2'), 'v22');
    const flushesBefore = gate.count('Flush');
    const commitsBefore = gate.count('Commit');
    const got: CommitDetails[] = [];
    const commitTs = await txn.commit({ onCommitDetails: (d) => got.push(d) });
    expect(got).toHaveLength(1);
    const d = got[0] as CommitDetails;
    expect(d.writeKeys).toBe(2);
    expect(d.writeSizeBytes).toBe(key('cd1').length + 2 + key('cd2').length + 3);
    expect(d.prewriteRequestCount).toBeGreaterThan(0);
    expect(d.prewriteRequestCount).toBe(gate.count('Flush') - flushesBefore);
    expect(d.exec.rpcByCommand.Flush?.count).toBe(d.prewriteRequestCount);
    expect(d.prewriteRegionCount).toBeGreaterThan(0);
    expect(d.exec.rpcByCommand.Commit?.count).toBe(gate.count('Commit') - commitsBefore);
    expect(d.exec.rpcByCommand.Commit?.count).toBeGreaterThan(0);
    for (const ms of [d.prewriteMs, d.getCommitTsMs, d.commitMs]) expect(ms).toBeGreaterThanOrEqual(0);
    expect(d).toMatchObject({ getLatestTsMs: 0, localLatchWaitMs: 0 });
    await txn.whenCommitSettled();
    const snap = await env.freshSnapshot();
    expect(snap.ts).toBeGreaterThan(commitTs);
    expect((await snap.batchGet([key('cd1'), key('cd2')])).map(text)).toEqual(['v1', 'v22']);
  });

  test('TestPipelinedPrefetch: batchGet answers are cached until the next flush', async () => {
    const txn = await client.begin({ pipelined: true });
    const prefetch: Uint8Array[] = [];
    const other: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) {
      txn.put(key(`pf${String(i).padStart(3, '0')}`), String(i));
      (i % 2 === 0 ? prefetch : other).push(key(`pf${String(i).padStart(3, '0')}`));
    }
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    for (const [j, k] of prefetch.entries()) expect(text((await txn.batchGet([k]))[0])).toBe(String(j * 2));
    // Prefetched keys are answered from the cache, the others from TiKV.
    let before = gate.count('BufferBatchGet');
    for (const [j, k] of prefetch.entries()) expect(text(await txn.get(k))).toBe(String(j * 2));
    expect(gate.count('BufferBatchGet')).toBe(before);
    for (const k of other.slice(0, 5)) await txn.get(k);
    expect(gate.count('BufferBatchGet')).toBe(before + 5);
    // A flush drops the cache.
    expect(await txn.flush({ force: true })).toBe(true); // an empty generation: the cache is dropped all the same
    before = gate.count('BufferBatchGet');
    await txn.get(prefetch[0] as Uint8Array);
    expect(gate.count('BufferBatchGet')).toBe(before + 1);
    await txn.commit();
    await txn.whenCommitSettled();

    const txn2 = await client.begin({ pipelined: true });
    txn2.put(key('pf100'), '100'); // committed: pf000..pf099; buffered: pf100
    const got = await txn2.batchGet([key('pf099'), key('pf100'), key('pf101')]);
    expect(got.map(text)).toEqual(['99', '100', undefined]);
    txn2.delete(key('pf099'));
    expect(await txn2.flush({ force: true })).toBe(true);
    await txn2.flushWait();
    expect((await txn2.batchGet([key('pf099')]))[0]).toBeUndefined();
    before = gate.count('BufferBatchGet');
    expect(await txn2.get(key('pf099'))).toBeUndefined(); // the cached flushed delete
    expect(gate.count('BufferBatchGet')).toBe(before);
    await txn2.rollback();
    await txn2.whenCommitSettled();
  });

  embeddedTest(
    'TestPipelinedDMLFailedByPKRollback: a lost primary lock stops the heartbeats and the flushes',
    async () => {
      const short = await TransactionClient.connect({
        pdEndpoints: env.target.pdEndpoints,
        apiVersion: mode.apiVersion,
        keyspace: mode.keyspace,
        commit: { managedLockTtlMs: 100 },
      });
      try {
        const txn = await short.begin({ pipelined: true });
        let onHeartbeat: ((e: { startTs: bigint; stopped: boolean; error: unknown }) => void) | undefined;
        const listener = (m: unknown) =>
          onHeartbeat?.(m as { startTs: bigint; stopped: boolean; error: unknown });
        subscribe(TXN_HEARTBEAT_CHANNEL, listener);
        try {
          const beat = new Promise<void>((resolve) => {
            onHeartbeat = (e) => {
              if (e.startTs === txn.startTs && e.error === undefined) resolve();
            };
          });
          txn.put(key('pk1'), 'value1');
          expect(await txn.flush({ force: true })).toBe(true);
          await txn.flushWait();
          await beat; // the heartbeats run from the primary's flush on
          const lock = await lockOn(key('pk1'));
          expect(lock?.primary).toEqual(key('pk1'));
          // Roll the transaction back under it: the next heartbeat finds its lock gone and stops.
          const stopped = new Promise<void>((resolve) => {
            onHeartbeat = (e) => {
              if (e.startTs === txn.startTs && e.stopped) resolve();
            };
          });
          const exec = env.client.parts.executor;
          const { bo, scope } = exec.begin({ timeoutMs: 10_000 });
          try {
            await exec.sendToKey(bo, key('pk1'), () => ({
              $case: 'ResolveLock' as const,
              value: {
                context: undefined,
                startVersion: txn.startTs,
                commitVersion: 0n,
                txnInfos: [],
                keys: [],
                isAsync: false,
                isTxnFile: false,
              },
            }));
          } finally {
            scope.dispose();
          }
          await stopped;
          txn.put(key('pk2'), 'value2');
          expect(await txn.flush({ force: true })).toBe(true);
          const failure = await txn.flushWait().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(failure).toBeInstanceOf(TiKVError);
          expect(String(failure)).toContain('ttl manager is closed');
          await txn.rollback();
          await txn.whenCommitSettled();
        } finally {
          unsubscribe(TXN_HEARTBEAT_CHANNEL, listener);
        }
      } finally {
        await short.close();
      }
    },
  );

  test('TestPipelinedDMLFailedByPKMaxTTLExceeded: heartbeats stop once the transaction outlives its max TTL, and so do the flushes', async () => {
    // client-go's failpoints: ManagedLockTTL 100 ms, MaxPipelinedTxnTTL and MaxTxnTTL 200 ms.
    const short = await TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      commit: { managedLockTtlMs: 100, maxTxnTtlMs: 200 },
    });
    let onHeartbeat: ((e: TxnHeartbeatEvent) => void) | undefined;
    const listener = (m: unknown) => onHeartbeat?.(m as TxnHeartbeatEvent);
    subscribe(TXN_HEARTBEAT_CHANNEL, listener);
    try {
      const txn = await short.begin({ pipelined: { maxTxnTtlMs: 200 } });
      const stopped = new Promise<TxnHeartbeatEvent>((resolve) => {
        onHeartbeat = (e) => {
          if (e.startTs === txn.startTs && e.maxTtlExceeded) resolve(e);
        };
      });
      txn.put(key('ttl1'), 'value1');
      expect(await txn.flush({ force: true })).toBe(true);
      await txn.flushWait();
      expect((await lockOn(key('ttl1')))?.primary).toEqual(key('ttl1'));
      // The TTL manager stops by itself (client-go: Eventually !IsTTLRunning).
      expect(await stopped).toMatchObject({ stopped: true, error: undefined });
      txn.put(key('ttl2'), 'value2');
      expect(await txn.flush({ force: true })).toBe(true);
      const failure = await txn.flushWait().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(TiKVError);
      expect(String(failure)).toContain('ttl manager is closed');
      await txn.rollback();
      await txn.whenCommitSettled();
    } finally {
      unsubscribe(TXN_HEARTBEAT_CHANNEL, listener);
      await short.close();
    }
  });

  embeddedTest(
    'heartbeats broadcast the txn status to every store; commit and the resolve end broadcast it too',
    async () => {
      const short = await TransactionClient.connect({
        pdEndpoints: env.target.pdEndpoints,
        apiVersion: mode.apiVersion,
        keyspace: mode.keyspace,
        commit: { managedLockTtlMs: 100 },
      });
      const events: TxnStatusBroadcastEvent[] = [];
      let onEvent: (() => void) | undefined;
      const listener = (m: unknown) => {
        events.push(m as TxnStatusBroadcastEvent);
        onEvent?.();
      };
      const next = (match: (e: TxnStatusBroadcastEvent) => boolean) =>
        new Promise<TxnStatusBroadcastEvent>((resolve) => {
          const check = () => {
            const found = events.find(match);
            if (found !== undefined) resolve(found);
          };
          onEvent = check;
          check();
        });
      subscribe(TXN_STATUS_BROADCAST_CHANNEL, listener);
      try {
        const txn = await short.begin({ pipelined: { broadcastGracePeriodMs: 0 } });
        const of = (e: TxnStatusBroadcastEvent) => e.startTs === txn.startTs;
        txn.put(key('bc1'), 'v');
        await txn.flush({ force: true });
        await txn.flushWait();
        const ongoing = await next((e) => of(e) && e.commitTs === 0n && e.minCommitTs > txn.startTs);
        expect(ongoing.failedStoreIds).toEqual([]);
        expect(ongoing.stores).toBeGreaterThan(0);
        const commitTs = await txn.commit();
        expect(commitTs).toBeGreaterThan(ongoing.minCommitTs);
        await txn.whenCommitSettled();
        expect(await next((e) => of(e) && e.isCompleted)).toMatchObject({ commitTs, rolledBack: false });
        expect(events.filter(of).some((e) => e.commitTs === commitTs && !e.isCompleted)).toBe(true);
      } finally {
        unsubscribe(TXN_STATUS_BROADCAST_CHANNEL, listener);
        await short.close();
      }
    },
  );
});
