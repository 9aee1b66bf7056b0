// A pipelined transaction's heartbeats, its status broadcasts (TiKV's txn status cache), its max
// TTL and the already-exists error of a flush, against a three-store mock cluster. Waits are on
// the diagnostics channels (heartbeats, broadcasts), never on time.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { AlreadyExistsError, KeyIsLockedError, keyErrorFromWire, TiKVError } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import {
  FlagsOp,
  TransactionClient,
  TXN_HEARTBEAT_CHANNEL,
  TXN_STATUS_BROADCAST_CHANNEL,
  type TxnHeartbeatEvent,
  type TxnStatusBroadcastEvent,
} from '../src/index.js';

const enc = new TextEncoder();
const k = (s: string): Uint8Array => enc.encode(s);

/** Events of one channel, and a wait for the next one that matches. */
class ChannelLog<E> {
  readonly events: E[] = [];
  readonly #waiters: { match: (e: E) => boolean; resolve: (e: E) => void }[] = [];
  readonly #listener = (m: unknown) => {
    const e = m as E;
    this.events.push(e);
    for (const w of [...this.#waiters]) {
      if (w.match(e)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  };

  constructor(readonly name: string) {
    subscribe(name, this.#listener);
  }

  /** The first event from now on (or already logged, when `past`) that matches. */
  next(match: (e: E) => boolean, past = false): Promise<E> {
    const seen = past ? this.events.find(match) : undefined;
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  close(): void {
    unsubscribe(this.name, this.#listener);
  }
}

describe('pipelined transaction status', () => {
  let cluster: MockCluster;
  let client: TransactionClient;
  let broadcasts: ChannelLog<TxnStatusBroadcastEvent>;
  let heartbeats: ChannelLog<TxnHeartbeatEvent>;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 3, regionKeyEncoding: 'memcomparable' });
    // Heartbeats every 50 ms (client-go's ticker: half the managed lock TTL).
    client = await TransactionClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      commit: { managedLockTtlMs: 100 },
    });
    broadcasts = new ChannelLog(TXN_STATUS_BROADCAST_CHANNEL);
    heartbeats = new ChannelLog(TXN_HEARTBEAT_CHANNEL);
  });
  afterAll(async () => {
    broadcasts?.close();
    heartbeats?.close();
    await client?.close();
    await cluster?.close();
  });

  /** The lock on a key as a fresh KvGet meets it. */
  async function lockOn(key: Uint8Array) {
    const exec = client.parts.executor;
    const version = await client.currentTimestamp();
    const { bo, scope } = exec.begin({ timeoutMs: 10_000 });
    try {
      const { response } = await exec.sendToKey(bo, key, () => ({
        $case: 'Get' as const,
        value: { context: undefined, key, version, needCommitTs: false },
      }));
      const error = response.value.error;
      if (error === undefined) return undefined;
      const e = keyErrorFromWire(error);
      return e instanceof KeyIsLockedError ? e.lock : undefined;
    } finally {
      scope.dispose();
    }
  }

  it('heartbeats push the min commit ts and broadcast it to every store; commit broadcasts committed, then completed', async () => {
    const txn = await client.begin({ pipelined: { broadcastGracePeriodMs: 0 } });
    const of = (e: TxnStatusBroadcastEvent) => e.startTs === txn.startTs;
    txn.put(k('hb1'), 'v1');
    txn.put(k('hb2'), 'v2');
    expect(await txn.flush({ force: true })).toBe(true);
    await txn.flushWait();
    const ongoing = await broadcasts.next((e) => of(e) && e.minCommitTs > txn.startTs);
    expect(ongoing).toMatchObject({
      commitTs: 0n,
      rolledBack: false,
      isCompleted: false,
      failedStoreIds: [],
    });
    expect(ongoing.stores).toBe(3);
    // The heartbeat carried it to the primary lock before the stores heard of it.
    const lock = await lockOn(k('hb1'));
    expect(lock?.minCommitTs).toBeGreaterThanOrEqual(ongoing.minCommitTs);
    const cached = cluster.txnStatus(1n, txn.startTs);
    expect(cached?.kind).toBe('ongoing');
    expect(cached?.kind === 'ongoing' && cached.minCommitTs >= ongoing.minCommitTs).toBe(true);

    const completed = broadcasts.next((e) => of(e) && e.isCompleted);
    const commitTs = await txn.commit();
    // The commit ts passes every min commit ts the heartbeats pushed.
    expect(commitTs).toBeGreaterThan(ongoing.minCommitTs);
    const committed = await broadcasts.next((e) => of(e) && e.commitTs !== 0n && !e.isCompleted, true);
    expect(committed).toMatchObject({ commitTs, rolledBack: false });
    await txn.whenCommitSettled();
    expect(await completed).toMatchObject({
      commitTs,
      minCommitTs: 0n,
      rolledBack: false,
      isCompleted: true,
    });
    expect(cluster.txnStatus(1n, txn.startTs)).toEqual({ kind: 'committed', commitTs });
  });

  it('a rollback broadcasts rolled back, and completed once the flushed locks are gone', async () => {
    const txn = await client.begin({ pipelined: { broadcastGracePeriodMs: 0 } });
    const of = (e: TxnStatusBroadcastEvent) => e.startTs === txn.startTs;
    txn.put(k('rb1'), 'v');
    await txn.flush({ force: true });
    await txn.flushWait();
    const completed = broadcasts.next((e) => of(e) && e.isCompleted);
    await txn.rollback();
    expect(await broadcasts.next((e) => of(e) && e.rolledBack && !e.isCompleted, true)).toMatchObject({
      commitTs: 0n,
    });
    await txn.whenCommitSettled();
    expect(await completed).toMatchObject({ rolledBack: true, commitTs: 0n });
    expect(cluster.txnStatus(1n, txn.startTs)).toEqual({ kind: 'rolledBack' });

    // Nothing flushed: one broadcast, already complete (client-go broadcasts on every rollback).
    const empty = await client.begin({ pipelined: true });
    const once = broadcasts.next((e) => e.startTs === empty.startTs);
    await empty.rollback();
    expect(await once).toMatchObject({ rolledBack: true, isCompleted: true });
  });

  it('a failed commit broadcasts rolled back before its locks are rolled back', async () => {
    const txn = await client.begin({ pipelined: { broadcastGracePeriodMs: 0 } });
    const of = (e: TxnStatusBroadcastEvent) => e.startTs === txn.startTs;
    txn.put(k('fc1'), 'v');
    await txn.flush({ force: true });
    await txn.flushWait();
    // A newer transaction locks fc2: the commit's last flush meets a write conflict.
    const other = await client.begin();
    other.put(k('fc2'), 'other');
    const otherOutcome = await other.commit().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(otherOutcome).toBeUndefined();
    txn.put(k('fc2'), 'mine');
    const completed = broadcasts.next((e) => of(e) && e.isCompleted);
    await expect(txn.commit()).rejects.toBeInstanceOf(TiKVError);
    expect(await broadcasts.next((e) => of(e) && e.rolledBack && !e.isCompleted, true)).toBeDefined();
    await txn.whenCommitSettled();
    expect(await completed).toMatchObject({ rolledBack: true });
  });

  it('stops the heartbeats past pipelined.maxTxnTtlMs: the next flush fails', async () => {
    const short = await TransactionClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      commit: { managedLockTtlMs: 100, maxTxnTtlMs: 200 },
    });
    try {
      const txn = await short.begin({ pipelined: { maxTxnTtlMs: 200 } });
      const stopped = heartbeats.next((e) => e.startTs === txn.startTs && e.maxTtlExceeded);
      txn.put(k('ttl1'), 'v');
      await txn.flush({ force: true });
      await txn.flushWait();
      expect(await stopped).toMatchObject({ stopped: true, error: undefined, lockTtlMs: undefined });
      txn.put(k('ttl2'), 'v');
      await txn.flush({ force: true });
      await expect(txn.flushWait()).rejects.toThrow('ttl manager is closed');
      await txn.rollback();
      await txn.whenCommitSettled();
    } finally {
      await short.close();
    }
  });

  it('an insert that meets an existing key fails the flush with an AlreadyExistsError carrying the value', async () => {
    const seed = await client.begin();
    seed.put(k('dup'), 'old');
    await seed.commit();
    const txn = await client.begin({ pipelined: true });
    txn.memBuffer.setWithFlags(k('dup'), k('new'), FlagsOp.SetPresumeKeyNotExists);
    await txn.flush({ force: true });
    const e = await txn.flushWait().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(AlreadyExistsError);
    expect(e).toMatchObject({ key: k('dup'), value: k('new') });
    await txn.rollback();
    await txn.whenCommitSettled();

    // TiKV answering already-exists for a key the transaction did not presume absent (client-go
    // extractKeyExistsErr): an internal error, not a duplicate.
    const plain = await client.begin({ pipelined: true });
    plain.put(k('dup2'), 'v');
    cluster.inject({
      method: 'KvFlush',
      times: 1,
      error: { keyError: { alreadyExist: { key: k('dup2') } } },
    });
    await plain.flush({ force: true });
    const internal = await plain.flushWait().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(internal).toMatchObject({ code: 'INTERNAL', cause: expect.any(AlreadyExistsError) });
    await plain.rollback();
    await plain.whenCommitSettled();
  });
});
