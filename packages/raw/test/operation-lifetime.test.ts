// What an operation leaves behind and how long it retries (issue 10): timers and abort listeners
// end with the call, the backoff budget holds across retry rounds and names the real cause,
// oversized batches never break a stream.
import diagnostics from 'node:diagnostics_channel';
import { BACKOFF_CHANNEL, type BackoffEvent, ManualClock } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { MessageTooLargeError, RPC_STREAM_CHANNEL, RpcError, type RpcStreamEvent } from '@tikv/rpc';
import { driveClock as drive } from '@tikv/testing';
import { RawClient } from '../src/index.js';
import { dec, FakeCluster } from './fake-cluster.js';

jest.setTimeout(30_000);

/** Collects the messages of a diagnostics channel while `fn` runs. */
async function published<T>(name: string, fn: () => Promise<void>): Promise<T[]> {
  const seen: T[] = [];
  const record = (m: unknown): void => {
    seen.push(m as T);
  };
  diagnostics.subscribe(name, record);
  try {
    await fn();
  } finally {
    diagnostics.unsubscribe(name, record);
  }
  return seen;
}

describe('an operation leaves no timer and no listener behind (issue 10)', () => {
  test('calls with a long timeoutMs leave no timer pending once they settle', async () => {
    const cluster = new FakeCluster();
    cluster.split('m');
    cluster.refreshCache();
    const clock = new ManualClock();
    const raw = new RawClient({ sender: cluster.sender, locator: cluster.locator }, { clock });
    const cas = raw.withAtomicForCas(true);
    const t = { timeoutMs: 60_000 };
    for (let i = 0; i < 20; i++) {
      await raw.put(`k${i}`, 'v', t);
      await raw.get(`k${i}`, t);
      await raw.batchPut(
        [
          { key: `a${i}`, value: 'v' },
          { key: `z${i}`, value: 'v' },
        ],
        t,
      );
      await raw.batchGet([`a${i}`, `z${i}`], t);
      await raw.getKeyTTL(`k${i}`, t);
      await raw.scan('', '', { ...t, limit: 5 });
      await raw.reverseScan('', '', { ...t, limit: 5 });
      await raw.batchScan([{ startKey: 'a', endKey: 'b' }], t);
      for await (const _ of raw.scanIter('', '', { ...t, pageSize: 2 })) break;
      await raw.checksum('', '', t);
      await cas.compareAndSwap(`c${i}`, undefined, 'v', t);
      await raw.delete(`k${i}`, t);
      await raw.batchDelete([`a${i}`], t);
      await raw.deleteRange('z', '', t);
    }
    // A call that fails ends its timer too.
    cluster.failures.set('RawGet', new Error('boom'));
    await expect(raw.get('x', t)).rejects.toThrow('boom');
    expect(clock.pendingSleeps).toBe(0);
    await raw.close();
  });

  test("scanIter's timeoutMs covers the whole iteration, not each page", async () => {
    const cluster = new FakeCluster();
    const clock = new ManualClock();
    const raw = new RawClient({ sender: cluster.sender, locator: cluster.locator }, { clock });
    await raw.batchPut(['a', 'b', 'c', 'd'].map((key) => ({ key, value: key })));
    const it = raw.scanIter('', '', { pageSize: 1, timeoutMs: 100 });
    expect(dec((await it.next()).value?.key)).toBe('a');
    clock.advance(100);
    await expect(it.next()).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(clock.pendingSleeps).toBe(0);
  });

  test('50 concurrent calls sharing one AbortSignal emit no MaxListenersExceededWarning', async () => {
    const cluster = await MockCluster.start({ stores: 1 });
    const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints });
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      const keys = Array.from({ length: 50 }, (_, i) => `w${i}`);
      await Promise.all(keys.map((k) => raw.put(k, k, { signal: shared.signal })));
      const got = await Promise.all(
        keys.map((k) => raw.get(k, { signal: shared.signal, timeoutMs: 60_000 })),
      );
      expect(got.map(dec)).toEqual(keys);
      await Promise.all(keys.map(() => raw.batchGet(keys, { signal: shared.signal })));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
      await raw.close();
      await cluster.close();
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});

describe('the backoff budget (issue 10)', () => {
  test('it holds across retry rounds, and each round backs off longer than the one before', async () => {
    const cluster = new FakeCluster();
    cluster.split('m');
    cluster.refreshCache();
    const clock = new ManualClock();
    // 100 ms before the weight: 200 ms of sleep.
    const raw = new RawClient(
      { sender: cluster.sender, locator: cluster.locator },
      { maxBackoffMs: 100, clock },
    );
    for (let i = 0; i < 10_000; i++)
      cluster.regionErrors.push({ $case: 'RawBatchGet', error: { serverIsBusy: {} } });
    let err: unknown;
    const events = await published<BackoffEvent>(BACKOFF_CHANNEL, async () => {
      err = await drive(clock, raw.batchGet(['a', 'z'])).catch((e: unknown) => e);
    });
    expect(err).toMatchObject({ code: 'BACKOFF_EXCEEDED' });
    // Two batches back off side by side each round: on the operation's timeline the sleep
    // stays within the budget plus the one step that crossed it.
    const step = Math.max(...events.map((e) => e.sleepMs));
    expect(clock.now()).toBeLessThanOrEqual(200 + step);
    // regionMiss 2, 4, 8, ... ms across rounds, as one retry loop would: a handful of rounds,
    // not a hundred rounds of 2 ms.
    const steps = [2, 4, 8, 16, 32, 64, 128];
    expect(events.map((e) => e.sleepMs).sort((a, b) => a - b)).toEqual(steps.flatMap((s) => [s, s]));
    expect(cluster.sent.length).toBeLessThanOrEqual(16);
  });

  test('an unreachable store: the budget error names the store error as its cause and is retryable', async () => {
    const cluster = await MockCluster.start({ stores: 1 });
    const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints, maxBackoffMs: 300 });
    try {
      await raw.put('k', 'v');
      const store = cluster.stores()[0];
      if (store === undefined) throw new Error('no store');
      await cluster.stopStore(store.id);
      const err = await raw.get('k').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'BACKOFF_EXCEEDED', retryable: true, causeKind: 'tikvRPC' });
      const cause = (err as Error).cause;
      expect(cause).toBeInstanceOf(RpcError);
      expect(cause).toMatchObject({ address: store.address, retryable: true });
      expect((err as Error).message.split('\n')[0]).toContain(
        `last cause (tikvRPC): ${(cause as Error).message}`,
      );
      expect((err as Error).message).not.toMatch(/^[^\n]*EpochNotMatch/);
    } finally {
      await raw.close();
      await cluster.close();
    }
  });
});

describe('oversized batches (issue 10)', () => {
  const LIMIT = 1024 * 1024;
  let cluster: MockCluster;
  let raw: RawClient;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, maxReceiveMessageBytes: LIMIT });
    raw = await RawClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      maxBackoffMs: 2_000,
      transport: { maxBatchBytes: 256 * 1024 },
    });
  });
  afterAll(async () => {
    await raw.close();
    await cluster.close();
  });

  test('a batchPut of large values never packs one message past the store limit', async () => {
    const value = Buffer.alloc(200 * 1024, 1);
    const pairs = Array.from({ length: 9 }, (_, i) => ({ key: `big${i}`, value }));
    const broken = await published<RpcStreamEvent>(RPC_STREAM_CHANNEL, () => raw.batchPut(pairs));
    expect(broken.filter((e) => e.event === 'broken')).toEqual([]);
    const back = await raw.batchGet(pairs.map((p) => p.key));
    expect(back.map((v) => v?.length)).toEqual(Array(9).fill(value.length));
  });

  test('a value too large for the store by itself fails at once, not retried, and the store stays healthy', async () => {
    let err: unknown;
    const backoffs = await published<BackoffEvent>(BACKOFF_CHANNEL, async () => {
      err = await raw.put('huge', Buffer.alloc(2 * LIMIT, 1)).catch((e: unknown) => e);
    });
    expect(err).toBeInstanceOf(MessageTooLargeError);
    expect(err).toMatchObject({ retryable: false });
    expect(backoffs).toEqual([]);
    await raw.put('after', 'ok');
    expect(dec(await raw.get('after'))).toBe('ok');
  });
});
