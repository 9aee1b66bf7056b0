// Ports of client-go integration_tests/async_commit_test.go, async_commit_fail_test.go and the
// async-commit cases of 2pc_test.go, on the mock cluster over gRPC.
import {
  composeTs,
  isTiKVError,
  ManualClock,
  RpcError,
  UndeterminedError,
  WriteConflictError,
} from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';
import type { TikvRequest } from '@tikv/rpc';
import {
  CommitProtocol,
  FlagsOp,
  type MemBuffer,
  TwoPhaseCommitter,
  type TxnParts,
} from '../../src/index.js';
import { b, Harness, spyOnRequests, t } from './harness.js';

const prewrites = (request: TikvRequest): kvrpcpb.PrewriteRequest | undefined =>
  request.$case === 'Prewrite' ? request.value : undefined;

describe('async_commit_test.go', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(async () => {
    await h.close();
  });
  let n = 0;
  let prefix = '';
  const p = (name: string) => `${prefix}${name}`;
  const locks = async () => (await h.locks()).filter((l) => t(l.key)?.startsWith(prefix));
  beforeEach(() => {
    prefix = `ac${++n}/`;
  });
  const committer = (buffer: MemBuffer, startTs: bigint, options = {}, parts: TxnParts = h.parts) =>
    new TwoPhaseCommitter(parts, buffer, {
      startTs,
      lockResolver: h.resolver,
      asyncCommit: true,
      ...options,
    });

  test('TestAsyncCommit (2pc_test.go)', async () => {
    const result = await h.commit({ [p('tpk')]: 'pkVal', [p('tk1')]: 'k1Val' }, { asyncCommit: true });
    expect(result.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
    expect(result.commitTs).toBeGreaterThan(result.startTs);
    expect([await h.read(p('tpk')), await h.read(p('tk1'))]).toEqual(['pkVal', 'k1Val']);
    // Both keys committed at the commit ts answered, not one more.
    expect(await h.read(p('tpk'), result.commitTs)).toBe('pkVal');
    expect(await h.read(p('tk1'), result.commitTs - 1n)).toBeUndefined();
    expect(await locks()).toEqual([]);
  });

  test('TestAsyncCommitLinearizability', async () => {
    const [s1, s2] = [await h.ts(), await h.ts()];
    // t2 commits before t1: its commit ts is smaller, whatever the start ts.
    const r2 = await h.commit({ [p('b')]: 'b1' }, { asyncCommit: true, startTs: s2 });
    const r1 = await h.commit({ [p('a')]: 'a1' }, { asyncCommit: true, startTs: s1 });
    expect(r1.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
    expect(r2.commitTs).toBeLessThan(r1.commitTs);
  });

  test('TestRepeatableRead', async () => {
    await h.commit({ [p('k1')]: 'v1' }, { asyncCommit: true });
    const start1 = await h.ts();
    for (let i = 0; i < 20; i++) await h.ts();
    const start2 = await h.ts();
    expect(await h.read(p('k1'), start2)).toBe('v1');
    const r1 = await h.commit({ [p('k1')]: 'v2' }, { asyncCommit: true, startTs: start1 });
    expect(r1.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
    // txn2 read at start2: the commit must land after it, or txn2 would not read again what it read.
    expect(r1.commitTs).toBeGreaterThan(start2);
    expect(await h.read(p('k1'), start2)).toBe('v1');
    expect(await h.read(p('k1'))).toBe('v2');
  });

  test('TestPrewriteSecondaryKeys (2pc_test.go): the primary lists every other key once', async () => {
    const key = (i: number) => p(String.fromCharCode(i));
    h.cluster.split(key(100));
    const buffer = h.buffer({});
    const expected: string[] = [];
    for (let i = 50; i < 120; i++) {
      buffer.set(b(key(i)), new Uint8Array(1024).fill(i));
      expected.push(key(i));
    }
    // Some keys written twice.
    for (let i = 50; i < 120; i += 10) buffer.set(b(key(i)), new Uint8Array(188).fill(1));
    const requests: kvrpcpb.PrewriteRequest[] = [];
    const restore = spyOnRequests(h, (r) => {
      const pr = prewrites(r);
      if (pr !== undefined) requests.push(pr);
    });
    const c = committer(buffer, await h.ts());
    try {
      const result = await c.execute();
      expect(result.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
      await result.background;
    } finally {
      restore();
    }
    const primary = t(c.primaryKey);
    expect(primary).toBe(key(50));
    const isPrimary = (r: kvrpcpb.PrewriteRequest) => r.mutations.some((m) => t(m.key) === primary);
    const primaries = requests.filter(isPrimary);
    expect(primaries.length).toBeGreaterThan(0);
    for (const r of primaries) {
      const listed = r.secondaries.map((k) => t(k) as string);
      expect(listed).not.toContain(primary);
      expect(new Set(listed).size).toBe(listed.length);
      expect(listed.sort()).toEqual(expected.filter((k) => k !== primary));
    }
    const secondaries = requests.filter((r) => !isPrimary(r));
    expect(secondaries.length).toBeGreaterThan(1);
    for (const r of secondaries) expect(r.secondaries).toEqual([]);
    expect(requests.every((r) => r.useAsyncCommit)).toBe(true);
    expect(await locks()).toEqual([]);
  });

  test('the secondaries leave out CheckNotExists keys (they hold no lock), and only them', async () => {
    const buffer = h.buffer({ [p('a')]: '1' });
    buffer.setWithFlags(b(p('b')), b('2'), FlagsOp.SetPrewriteOnly);
    buffer.setWithFlags(b(p('c')), b('3'), FlagsOp.SetPresumeKeyNotExists);
    buffer.delete(b(p('c')));
    const secondaries: string[][] = [];
    const restore = spyOnRequests(h, (r) => {
      const pr = prewrites(r);
      if (pr !== undefined && pr.secondaries.length > 0)
        secondaries.push(pr.secondaries.map((k) => t(k) as string));
    });
    try {
      const result = await committer(buffer, await h.ts()).execute();
      expect(result.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
      await result.background;
    } finally {
      restore();
    }
    expect(secondaries).toEqual([[p('b')]]);
  });

  test('TestAsyncCommitCheck (2pc_test.go)', async () => {
    const entries: Record<string, string> = {};
    for (let i = 0; i < 16; i++) entries[p(`async_check_${String(i).padStart(2, '0')}`)] = 'v';
    const totalKeySize = Object.keys(entries).reduce((s, k) => s + b(k).length, 0);
    const startTs = await h.ts();
    const check = (asyncCommitKeysLimit: number, asyncCommitTotalKeySizeLimitBytes: number) =>
      committer(h.buffer(entries), startTs, {
        asyncCommitKeysLimit,
        asyncCommitTotalKeySizeLimitBytes,
      }).checkAsyncCommit();
    expect(check(16, totalKeySize)).toBe(true);
    expect(check(15, totalKeySize)).toBe(false);
    expect(check(20, totalKeySize - 1)).toBe(false);
    expect(committer(h.buffer(entries), startTs, { asyncCommit: false }).checkAsyncCommit()).toBe(false);
  });

  test('falls back to 2PC past the key limits, without asking TiKV', async () => {
    const requests: kvrpcpb.PrewriteRequest[] = [];
    const restore = spyOnRequests(h, (r) => {
      const pr = prewrites(r);
      if (pr !== undefined) requests.push(pr);
    });
    try {
      const r = await h.commit(
        { [p('a')]: '1', [p('b')]: '2' },
        { asyncCommit: true, asyncCommitKeysLimit: 1 },
      );
      expect(r.protocol).toBe(CommitProtocol.TWO_PC);
    } finally {
      restore();
    }
    expect(requests.map((r) => [r.useAsyncCommit, r.secondaries.length, r.maxCommitTs])).toEqual([
      [false, 0, 0n],
    ]);
    expect(await h.read(p('b'))).toBe('2');
  });

  test('the commit ts is the largest min_commit_ts TiKV answered', async () => {
    h.cluster.split(p('m'));
    const answered: bigint[] = [];
    const restore = spyOnRequests(h, {
      after: (request, response) => {
        const r = response as kvrpcpb.PrewriteResponse;
        if (request.$case === 'Prewrite' && r.regionError === undefined) answered.push(r.minCommitTs);
      },
    });
    let result: Awaited<ReturnType<TwoPhaseCommitter['execute']>>;
    try {
      result = await committer(h.buffer({ [p('a')]: '1', [p('z')]: '2' }), await h.ts()).execute();
    } finally {
      restore();
    }
    expect(result.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
    expect(answered.length).toBe(2);
    expect(result.commitTs).toBe(answered.reduce((x, y) => (x > y ? x : y)));
    await result.background;
  });

  test('every key is committed in the background: the commit returns before any commit RPC', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let held = 0;
    const restore = spyOnRequests(h, async (r) => {
      if (r.$case === 'Commit') {
        held++;
        await gate;
      }
    });
    try {
      const c = committer(h.buffer({ [p('a')]: '1', [p('b')]: '2' }), await h.ts());
      const result = await c.execute();
      expect(result.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
      expect(c.committed).toBe(true);
      // Committed already: readers resolve the async-commit locks at result.commitTs.
      const lock = await h.lock(p('b'));
      expect(lock?.useAsyncCommit).toBe(true);
      expect(lock?.minCommitTs).toBeLessThanOrEqual(result.commitTs);
      release();
      await result.background;
      expect(held).toBe(1);
    } finally {
      release();
      restore();
    }
    expect(await locks()).toEqual([]);
  });

  test('linearizability: a timestamp before prewrite raises min_commit_ts; causal consistency skips it', async () => {
    const spy = jest.spyOn(h.oracle, 'getTimestamp');
    const mins: bigint[] = [];
    const restore = spyOnRequests(h, (r) => {
      const pr = prewrites(r);
      if (pr !== undefined) mins.push(pr.minCommitTs);
    });
    try {
      const s1 = await h.ts();
      spy.mockClear();
      await (await committer(h.buffer({ [p('a')]: '1' }), s1).execute()).background;
      expect(spy).toHaveBeenCalledTimes(1);
      const latest = (await spy.mock.results[0]?.value) as bigint;
      expect(mins[0]).toBe(latest + 1n);

      const s2 = await h.ts();
      spy.mockClear();
      const r2 = await committer(h.buffer({ [p('b')]: '2' }), s2, { causalConsistency: true }).execute();
      await r2.background;
      // No timestamp at all: the commit ts is TiKV's min_commit_ts.
      expect(spy).not.toHaveBeenCalled();
      expect(mins[1]).toBe(s2 + 1n);
      expect(r2.protocol).toBe(CommitProtocol.ASYNC_COMMIT);
    } finally {
      restore();
      spy.mockRestore();
    }
  });

  test('max_commit_ts is the start ts plus the time elapsed plus the safe window', async () => {
    const clock = new ManualClock({ startMs: 1_000_000 });
    const maxes: bigint[] = [];
    const restore = spyOnRequests(h, (r) => {
      const pr = prewrites(r);
      if (pr !== undefined) maxes.push(pr.maxCommitTs);
    });
    try {
      const startTs = await h.ts();
      const c = committer(
        h.buffer({ [p('a')]: '1' }),
        startTs,
        { startTimeMs: clock.now() - 700, asyncCommitSafeWindowMs: 3_000 },
        { ...h.parts, clock },
      );
      // The lock TTL counts the time elapsed too.
      expect(c.lockTtlMs).toBe(3_700);
      await (await c.execute()).background;
      expect(maxes).toEqual([startTs + composeTs(700, 0) + composeTs(3_000, 0)]);
    } finally {
      restore();
    }
  });

  test('a pessimistic async-commit lock outlives the max commit ts (tidb#33641); an optimistic one keeps its TTL', async () => {
    const clock = new ManualClock({ startMs: 1_000_000 });
    const sent: kvrpcpb.PrewriteRequest[] = [];
    const restore = spyOnRequests(h, (r) => {
      const pr = prewrites(r);
      if (pr !== undefined) sent.push(pr);
    });
    try {
      for (const pessimistic of [true, false]) {
        const startTs = await h.ts();
        const c = committer(
          h.buffer({ [p(`${pessimistic}`)]: '1' }),
          startTs,
          { startTimeMs: clock.now() - 200, asyncCommitSafeWindowMs: 5_000, pessimistic },
          { ...h.parts, clock },
        );
        expect(c.lockTtlMs).toBe(3_200);
        await (await c.execute()).background;
      }
      const [pess, opt] = sent;
      // The max commit ts is 5.2 s after the start ts: the lock lives one millisecond longer.
      expect(pess?.lockTtl).toBe(5_201n);
      expect(opt?.lockTtl).toBe(3_200n);
    } finally {
      restore();
    }
  });

  test('TestAsyncCommitPrewriteCancelled (async_commit_fail_test.go): a conflict is a conflict', async () => {
    h.cluster.split(p('s'));
    const startTs = await h.ts();
    await h.commit({ [p('z')]: 'other' });
    const c = committer(h.buffer({ [p('a')]: 'a', [p('z')]: 'z' }), startTs);
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteConflictError);
    await c.whenIdle();
    expect(await locks()).toEqual([]);
    expect(await h.read(p('a'))).toBeUndefined();
  });

  test('TestFailAsyncCommitPrewriteRpcErrors (async_commit_fail_test.go): a lost prewrite answer is undetermined', async () => {
    const restore = spyOnRequests(h, {
      after: (request) => {
        if (request.$case === 'Prewrite') {
          throw new RpcError('response lost by the test', {
            address: 'test',
            requestSent: true,
            grpcCode: 4,
          });
        }
      },
    });
    const c = committer(h.buffer({ [p('a')]: 'a1' }), await h.ts());
    try {
      const error = await c.execute().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UndeterminedError);
      expect((error as UndeterminedError).retryable).toBe(false);
      expect((error as Error).cause).toBeInstanceOf(RpcError);
    } finally {
      restore();
    }
    await c.whenIdle();
    // Nothing was rolled back: the async-commit lock is there for a reader to decide.
    const lock = await h.lock(p('a'));
    expect(lock?.useAsyncCommit).toBe(true);
    expect(lock?.minCommitTs).toBeGreaterThan(0n);
    await c.rollback();
  });

  test('TestAsyncCommitContextCancelCausingUndetermined (async_commit_fail_test.go)', async () => {
    const abort = new AbortController();
    const restore = spyOnRequests(h, (r) => {
      // Abort once the prewrite is on its way.
      if (r.$case === 'Prewrite') setImmediate(() => abort.abort(new Error('cancelled by the test')));
    });
    const c = committer(h.buffer({ [p('a')]: 'a1' }), await h.ts());
    try {
      const error = await c.execute({ signal: abort.signal }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UndeterminedError);
    } finally {
      restore();
    }
    await c.whenIdle();
    await c.rollback();
  });

  test('TestPrewriteFailWithUndeterminedResult (async_commit_fail_test.go)', async () => {
    const fault = h.cluster.inject({ method: 'KvPrewrite', times: 1, error: 'UndeterminedResult' });
    const c = committer(h.buffer({ [p('a')]: 'a1' }), await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeterminedError);
    expect(isTiKVError((error as Error).cause, 'REGION_ERROR')).toBe(true);
    expect(fault.hits).toBe(1);
    await c.whenIdle();
  });
});

describe('async_commit_test.go: TiKV declines async commit', () => {
  let h: Harness;
  /** The cluster's clock (PD's TSO follows it). */
  let nowMs = 0;
  beforeEach(async () => {
    nowMs = Date.now();
    h = await Harness.start({ cluster: { nowMs: () => nowMs } });
  });
  afterEach(async () => {
    await h.close();
  });

  test('falls back to 2PC when TiKV answers without min_commit_ts', async () => {
    // A read ten minutes after the commit's start ts (PD's TSO went on meanwhile) pushes the
    // store's max_ts past any max_commit_ts the commit asks for: TiKV can only prewrite it the
    // 2PC way (its CommitTsTooLarge fallback).
    const startTs = await h.ts();
    nowMs += 600_000;
    await h.inspector.get(b('k'), await h.ts());
    const answered: bigint[] = [];
    const restore = spyOnRequests(h, {
      after: (request, response) => {
        if (request.$case === 'Prewrite') answered.push((response as kvrpcpb.PrewriteResponse).minCommitTs);
      },
    });
    try {
      const r = await h.commit({ k: 'v', l: 'w' }, { asyncCommit: true, startTs });
      expect(r.protocol).toBe(CommitProtocol.TWO_PC);
      expect(answered).toEqual([0n]);
      expect(await h.read('k')).toBe('v');
    } finally {
      restore();
    }
    expect(await h.locks()).toEqual([]);
  });
});
