// Ports of client-go integration_tests/1pc_test.go, on the mock cluster over gRPC.
import { UndeterminedError } from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';
import { CommitProtocol, type MemBuffer, TtlManagerState, TwoPhaseCommitter } from '../../src/index.js';
import { b, Harness, spyOnRequests, t } from './harness.js';

describe('1pc_test.go', () => {
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
  beforeEach(() => {
    prefix = `1pc${++n}/`;
  });
  const committer = (buffer: MemBuffer, startTs: bigint, options = {}) =>
    new TwoPhaseCommitter(h.parts, buffer, { startTs, lockResolver: h.resolver, onePc: true, ...options });
  /** Records the prewrite requests while `fn` runs. */
  async function prewritesOf<T>(fn: () => Promise<T>): Promise<[T, kvrpcpb.PrewriteRequest[]]> {
    const seen: kvrpcpb.PrewriteRequest[] = [];
    const restore = spyOnRequests(h, (r) => {
      if (r.$case === 'Prewrite') seen.push(r.value);
    });
    try {
      return [await fn(), seen];
    } finally {
      restore();
    }
  }

  test('Test1PC', async () => {
    const c1 = committer(h.buffer({ [p('k1')]: 'v1' }), await h.ts());
    const r1 = await c1.execute();
    expect(r1.protocol).toBe(CommitProtocol.ONE_PC);
    expect(c1.onePcCommitTs).toBe(c1.commitTs);
    expect(c1.onePcCommitTs).toBe(r1.commitTs);
    expect(c1.onePcCommitTs).toBeGreaterThan(c1.startTs);
    // The TTL manager is never used for 1PC.
    expect(c1.ttlManagerState).toBe(TtlManagerState.UNINITIALIZED);

    // 1PC is not used unless asked for.
    const c2 = committer(h.buffer({ [p('k2')]: 'v2' }), await h.ts(), { onePc: false });
    const r2 = await c2.execute();
    await r2.background;
    expect(r2.protocol).toBe(CommitProtocol.TWO_PC);
    expect(c2.onePcCommitTs).toBe(0n);
    expect(c2.commitTs).toBeGreaterThan(c2.startTs);

    // Several keys of one region: one version for all.
    const c3 = committer(h.buffer({ [p('k3')]: 'v3', [p('k4')]: 'v4', [p('k5')]: 'v5' }), await h.ts());
    const r3 = await c3.execute();
    expect(r3.protocol).toBe(CommitProtocol.ONE_PC);
    for (const [k, v] of [
      ['k3', 'v3'],
      ['k4', 'v4'],
      ['k5', 'v5'],
    ] as const) {
      expect(await h.read(p(k), r3.commitTs)).toBe(v);
      expect(await h.read(p(k), r3.commitTs - 1n)).toBeUndefined();
    }

    // Overwriting keeps MVCC versions.
    const c4 = committer(h.buffer({ [p('k5')]: 'v5new' }), await h.ts());
    const r4 = await c4.execute();
    expect(r4.protocol).toBe(CommitProtocol.ONE_PC);
    expect(await h.read(p('k5'), r4.commitTs)).toBe('v5new');
    expect(await h.read(p('k5'), r4.commitTs - 1n)).toBe('v5');

    const now = await h.ts();
    const all = await Promise.all(['k1', 'k2', 'k3', 'k4', 'k5'].map((k) => h.read(p(k), now)));
    expect(all).toEqual(['v1', 'v2', 'v3', 'v4', 'v5new']);
    expect((await h.locks()).filter((l) => t(l.key)?.startsWith(prefix))).toEqual([]);
  });

  test('Test1PCIsolation', async () => {
    await h.commit({ [p('isolation_k')]: 'v1' }, { onePc: true });
    const start = await h.ts();
    const c = committer(h.buffer({ [p('isolation_k')]: 'v2' }), start);
    // Make a wrong commit ts likely to fall below the next start ts.
    for (let i = 0; i < 10; i++) await h.ts();
    const start2 = await h.ts();
    expect(await h.read(p('isolation_k'), start2)).toBe('v1');
    const r = await c.execute();
    expect(r.protocol).toBe(CommitProtocol.ONE_PC);
    expect(r.commitTs).toBeGreaterThan(start2);
    expect(await h.read(p('isolation_k'), start2)).toBe('v1');
    expect(await h.read(p('isolation_k'), r.commitTs)).toBe('v2');
    expect(await h.read(p('isolation_k'), r.commitTs - 1n)).toBe('v1');
  });

  test('Test1PCDisallowMultiRegion: 1PC falls back to 2PC when the txn spans two regions', async () => {
    await h.commit({ [p('k0')]: 'v0', [p('k3')]: 'v3' }, { onePc: true });
    h.cluster.split(p('k2'));
    const c = committer(h.buffer({ [p('k1')]: 'v1', [p('k2')]: 'v2' }), await h.ts());
    // The cache still has the region before the split: the first prewrite (one batch, asking
    // for 1PC) meets EpochNotMatch; the two batches after it do not ask for 1PC.
    const answered: [boolean, bigint][] = [];
    const restore = spyOnRequests(h, {
      after: (request, response) => {
        const r = response as kvrpcpb.PrewriteResponse;
        if (request.$case === 'Prewrite' && r.regionError === undefined) {
          answered.push([request.value.tryOnePc, r.onePcCommitTs]);
        }
      },
    });
    try {
      const r = await c.execute();
      await r.background;
      expect(r.protocol).toBe(CommitProtocol.TWO_PC);
    } finally {
      restore();
    }
    expect(c.onePcCommitTs).toBe(0n);
    expect(c.commitTs).toBeGreaterThan(c.startTs);
    expect(answered).toEqual([
      [false, 0n],
      [false, 0n],
    ]);
    const now = await h.ts();
    expect(await Promise.all(['k0', 'k1', 'k2', 'k3'].map((k) => h.read(p(k), now)))).toEqual([
      'v0',
      'v1',
      'v2',
      'v3',
    ]);
  });

  test('1PC falls back to 2PC when the txn needs more than one batch of a region', async () => {
    // A batch closes once it reaches 16 KiB: a and b make one, c another.
    const big = 'x'.repeat(10 * 1024);
    const c = committer(h.buffer({ [p('a')]: big, [p('b')]: big, [p('c')]: big }), await h.ts());
    const [r, requests] = await prewritesOf(() => c.execute());
    await r.background;
    expect(r.protocol).toBe(CommitProtocol.TWO_PC);
    expect(requests.map((q) => q.mutations.length)).toEqual([2, 1]);
    expect(requests.some((q) => q.tryOnePc)).toBe(false);
  });

  test('Test1PCLinearizability', async () => {
    const [s1, s2] = [await h.ts(), await h.ts()];
    const r2 = await h.commit({ [p('linear_b')]: 'b1' }, { startTs: s2 });
    const r1 = await h.commit({ [p('linear_a')]: 'a1' }, { startTs: s1 });
    expect(r2.commitTs).toBeLessThan(r1.commitTs);
  });

  test('1PC wins over async commit when both are allowed', async () => {
    const c = committer(h.buffer({ [p('a')]: '1', [p('b')]: '2' }), await h.ts(), { asyncCommit: true });
    const [result, sent] = await prewritesOf(() => c.execute());
    expect(result.protocol).toBe(CommitProtocol.ONE_PC);
    expect(sent.map((q) => [q.tryOnePc, q.useAsyncCommit])).toEqual([[true, true]]);
  });

  test('TestFailWithUndeterminedResult: a 1PC prewrite with an undetermined result', async () => {
    const fault = h.cluster.inject({ method: 'KvPrewrite', times: 1, error: 'UndeterminedResult' });
    const c = committer(h.buffer({ [p('undetermined_key')]: 'value' }), await h.ts());
    await expect(c.execute()).rejects.toBeInstanceOf(UndeterminedError);
    expect(fault.hits).toBe(1);
    await c.whenIdle();
  });
});

describe('1pc_test.go: TiKV declines 1PC', () => {
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

  test('falls back to 2PC when TiKV answers one_pc_commit_ts = 0', async () => {
    // A read ten minutes after the commit's start ts (PD's TSO went on meanwhile) pushes max_ts
    // past the commit's max_commit_ts: TiKV prewrites the 2PC way and answers no 1PC commit ts.
    const startTs = await h.ts();
    nowMs += 600_000;
    await h.inspector.get(b('k'), await h.ts());
    const answers: kvrpcpb.PrewriteResponse[] = [];
    const restore = spyOnRequests(h, {
      after: (request, response) => {
        if (request.$case === 'Prewrite') answers.push(response as kvrpcpb.PrewriteResponse);
      },
    });
    try {
      const c = new TwoPhaseCommitter(h.parts, h.buffer({ k: 'v' }), {
        startTs,
        lockResolver: h.resolver,
        onePc: true,
        asyncCommit: true,
      });
      const r = await c.execute();
      await r.background;
      // Falling back from 1PC leaves async commit too (client-go).
      expect(r.protocol).toBe(CommitProtocol.TWO_PC);
      expect(c.onePcCommitTs).toBe(0n);
      expect(answers.map((a) => [a.onePcCommitTs, a.minCommitTs])).toEqual([[0n, 0n]]);
      expect(await h.read('k')).toBe('v');
    } finally {
      restore();
    }
    expect(await h.locks()).toEqual([]);
  });
});
