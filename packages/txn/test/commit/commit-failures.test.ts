// How a commit fails: an unknown outcome of the primary's commit (client-go
// integration_tests/2pc_test.go TestFailCommitPrimary*, TestContextCancelCausingUndetermined,
// TestFailWithUndeterminedResult), the rollback of a failed prewrite, and errors of secondaries.
import {
  BackoffBudgetExceededError,
  isTiKVError,
  type Logger,
  RpcError,
  TxnLockNotFoundError,
  UndeterminedError,
} from '@tikv/common';
import { GrpcStatus } from '@tikv/mock-cluster';
import { kvrpcpb } from '@tikv/proto';
import { CommitProtocol, type MemBuffer, TwoPhaseCommitter } from '../../src/index.js';
import { b, Harness, spyOnRequests, t } from './harness.js';

/** A logger that keeps its lines. */
function recordingLogger(): Logger & { readonly lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const log = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

const isPrimaryCommit = (request: { $case: string; value: unknown }) =>
  request.$case === 'Commit' &&
  (request.value as kvrpcpb.CommitRequest).commitRole === kvrpcpb.CommitRole.Primary;

describe('2pc_test.go: commit failures', () => {
  let h: Harness;
  const logger = recordingLogger();
  beforeAll(async () => {
    h = await Harness.start({ logger });
  });
  afterAll(async () => {
    await h.close();
  });
  let n = 0;
  let prefix = '';
  const p = (name: string) => `${prefix}${name}`;
  const locks = async () => (await h.locks()).filter((l) => t(l.key)?.startsWith(prefix));
  beforeEach(() => {
    prefix = `cf${++n}/`;
    h.cluster.split([p('b'), p('c')]);
  });
  afterEach(() => {
    h.cluster.clearFaults();
  });
  // A small budget for the primary's commit (client-go's suite sets CommitMaxBackoff = 1000).
  const committer = (buffer: MemBuffer, startTs: bigint, options = {}) =>
    new TwoPhaseCommitter(h.parts, buffer, {
      startTs,
      lockResolver: h.resolver,
      commitMaxBackoffMs: 100,
      ...options,
    });

  test('a crashed primary commit: the request was applied, its answer lost', async () => {
    const restore = spyOnRequests(h, {
      after: (request) => {
        if (isPrimaryCommit(request)) {
          throw new RpcError('connection reset after the request was sent', {
            address: 'test',
            requestSent: true,
            grpcCode: GrpcStatus.UNAVAILABLE,
          });
        }
      },
    });
    const c = committer(h.buffer({ [p('a')]: 'a1', [p('b')]: 'b1' }), await h.ts());
    let error: unknown;
    try {
      error = await c.execute().catch((e: unknown) => e);
    } finally {
      restore();
    }
    expect(error).toBeInstanceOf(UndeterminedError);
    expect(error).toMatchObject({ code: 'UNDETERMINED', retryable: false, startTs: c.startTs });
    expect((error as Error).cause).toBeInstanceOf(RpcError);
    await c.whenIdle();
    // Neither success nor failure would have been true: TiKV did commit the primary ...
    const primary = await h.inspector.mvcc(b(p('a')));
    expect(primary.lock).toBeUndefined();
    expect(primary.writes.map((w) => [w.type, w.startTs])).toEqual([[kvrpcpb.Op.Put, c.startTs]]);
    // ... and nothing was rolled back: the secondary's lock is left for a reader to commit.
    expect((await h.lock(p('b')))?.lockVersion).toBe(c.startTs);
  });

  test('TestFailCommitPrimaryRpcErrors: RPC failures until the budget runs out', async () => {
    h.cluster.inject({
      method: 'KvCommit',
      times: Number.POSITIVE_INFINITY,
      error: { grpcStatus: GrpcStatus.UNAVAILABLE },
    });
    const c = committer(h.buffer({ [p('a')]: 'a1' }), await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeterminedError);
    h.cluster.clearFaults();
    await c.whenIdle();
    // Not rolled back.
    expect((await h.lock(p('a')))?.lockVersion).toBe(c.startTs);
  });

  test('TestFailCommitPrimaryRegionError: region errors only are a plain failure', async () => {
    h.cluster.inject({ method: 'KvCommit', times: Number.POSITIVE_INFINITY, error: 'RegionNotFound' });
    const c = committer(h.buffer({ [p('b')]: 'b1' }), await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(UndeterminedError);
    expect(error).toBeInstanceOf(BackoffBudgetExceededError);
    h.cluster.clearFaults();
    await c.whenIdle();
    // Known not committed: rolled back.
    expect(await locks()).toEqual([]);
  });

  test('TestFailCommitPrimaryRPCErrorThenRegionError', async () => {
    h.cluster.inject({ method: 'KvCommit', times: 1, error: { grpcStatus: GrpcStatus.UNAVAILABLE } });
    h.cluster.inject({ method: 'KvCommit', times: Number.POSITIVE_INFINITY, error: 'RegionNotFound' });
    const c = committer(h.buffer({ [p('a')]: 'a1' }), await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeterminedError);
  });

  test('TestFailCommitPrimaryKeyError: a key error is a plain failure', async () => {
    h.cluster.inject({
      method: 'KvCommit',
      times: 1,
      error: { keyError: { txnLockNotFound: { key: b(p('c')) } } },
    });
    const c = committer(h.buffer({ [p('c')]: 'c1' }), await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TxnLockNotFoundError);
    expect(c.committed).toBe(false);
  });

  test('TestFailCommitPrimaryRPCErrorThenKeyError: the key error is the answer', async () => {
    h.cluster.inject({ method: 'KvCommit', times: 1, error: { grpcStatus: GrpcStatus.UNAVAILABLE } });
    h.cluster.inject({
      method: 'KvCommit',
      times: 1,
      error: { keyError: { txnLockNotFound: { key: b(p('c')) } } },
    });
    const c = committer(h.buffer({ [p('c')]: 'c1' }), await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TxnLockNotFoundError);
  });

  test('an RPC failure, then success: committed', async () => {
    h.cluster.inject({ method: 'KvCommit', times: 1, error: { grpcStatus: GrpcStatus.UNAVAILABLE } });
    const c = committer(h.buffer({ [p('a')]: 'a1', [p('b')]: 'b1' }), await h.ts());
    const result = await c.execute();
    await result.background;
    expect(await h.read(p('a'))).toBe('a1');
    expect(await h.read(p('b'))).toBe('b1');
  });

  test('TestContextCancelCausingUndetermined: aborted while the primary commit is in flight', async () => {
    const abort = new AbortController();
    const restore = spyOnRequests(h, (r) => {
      if (isPrimaryCommit(r)) setImmediate(() => abort.abort(new Error('cancelled by the test')));
    });
    const c = committer(h.buffer({ [p('a')]: 'va' }), await h.ts());
    try {
      const error = await c.execute({ signal: abort.signal }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UndeterminedError);
      expect((error as Error).cause).toBe(abort.signal.reason);
    } finally {
      restore();
    }
  });

  test('TestFailWithUndeterminedResult: a 2PC prewrite retries it, the primary commit cannot', async () => {
    const f1 = h.cluster.inject({ method: 'KvPrewrite', times: 1, error: 'UndeterminedResult' });
    const r = await h.commit({ [p('key')]: 'value' });
    expect(r.protocol).toBe(CommitProtocol.TWO_PC);
    expect(f1.hits).toBe(1);
    expect(await h.read(p('key'))).toBe('value');

    const f2 = h.cluster.inject({ method: 'KvCommit', times: 1, error: 'UndeterminedResult' });
    const c = committer(h.buffer({ [p('key')]: 'value2' }), await h.ts());
    const error = await c.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeterminedError);
    expect(isTiKVError((error as Error).cause, 'REGION_ERROR')).toBe(true);
    expect(f2.hits).toBe(1);
  });

  test('TestPrewriteCancel: a failed prewrite rolls back every key it wrote, leaving no lock', async () => {
    const start = await h.ts();
    await h.commit({ [p('b')]: 'b2' });
    // a (primary), b and c in three regions; b conflicts.
    const c = committer(h.buffer({ [p('a')]: 'a1', [p('b')]: 'b1', [p('c')]: 'c1', [p('cc')]: 'c2' }), start);
    const error = await c.execute().catch((e: unknown) => e);
    expect(isTiKVError(error, 'WRITE_CONFLICT')).toBe(true);
    await c.whenIdle();
    expect(await locks()).toEqual([]);
    // Every key got a rollback record at the start ts (MvccGetByKey), so a late prewrite cannot land.
    for (const k of ['a', 'c', 'cc']) {
      const info = await h.inspector.mvcc(b(p(k)));
      expect(info.lock).toBeUndefined();
      expect(info.writes.filter((w) => w.startTs === start).map((w) => w.type)).toEqual([
        kvrpcpb.Op.Rollback,
      ]);
    }
    expect(await h.read(p('b'))).toBe('b2');
  });

  test('errors of secondaries are logged, not thrown', async () => {
    const region = h.cluster.regionByKey(b(p('c')));
    h.cluster.inject({
      method: 'KvCommit',
      regionId: region.id,
      times: Number.POSITIVE_INFINITY,
      error: { keyError: { abort: 'injected by the test' } },
    });
    const c = committer(h.buffer({ [p('a')]: 'a1', [p('c')]: 'c1' }), await h.ts());
    const before = logger.lines.length;
    const result = await c.execute();
    expect(result.protocol).toBe(CommitProtocol.TWO_PC);
    await result.background;
    const logged = logger.lines.slice(before);
    expect(
      logged.some((l) => l.level === 'error' && l.message.includes('after the primary was committed')),
    ).toBe(true);
    expect(
      logged.some((l) => l.level === 'warn' && l.message.includes('commit of the secondaries failed')),
    ).toBe(true);
    expect(await h.read(p('a'))).toBe('a1');
    h.cluster.clearFaults();
  });
});
