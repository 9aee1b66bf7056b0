import diagnostics from 'node:diagnostics_channel';
import { BACKOFF_CHANNEL, type BackoffEvent, type Backoffer, BackoffKinds, ManualClock } from '@tikv/common';
import { dec, drive, enc, gate, Keyspace, keysOf, type Sent } from '../test/executor-fixture.js';
import type { RegionBatch } from './region-batches.js';
import { DEFAULT_REGION_EXECUTOR_OPTIONS, RegionExecutor } from './region-executor.js';
import type { TikvRequest } from './tikv-commands.js';

const identity = (k: Uint8Array): Uint8Array => k;

function executor(ks: Keyspace, options: { maxBackoffMs?: number; maxConcurrency?: number } = {}) {
  const clock = new ManualClock({ autoAdvance: true });
  return { exec: new RegionExecutor({ sender: ks.sender, locator: ks.locator, clock, ...options }), clock };
}

const batchGet = (keys: readonly Uint8Array[]): TikvRequest => ({
  $case: 'RawBatchGet',
  value: { context: undefined, keys: keys as Uint8Array[], cf: '' },
});

/** A send callback that sends RawBatchGet for the batch and reports the region error. */
function sendBatchGet(exec: RegionExecutor) {
  return async (batch: RegionBatch<Uint8Array>, bo: Backoffer) =>
    (await exec.sendToRegion(bo, batch.region, batchGet(batch.items))) === undefined ? 'regionError' : 'done';
}

const sentKeys = (sent: readonly Sent[]): string[] => sent.map((s) => keysOf(s.request).join(','));

describe('RegionExecutor options', () => {
  test('defaults and checks', () => {
    const ks = new Keyspace();
    const exec = new RegionExecutor({ sender: ks.sender, locator: ks.locator });
    expect(exec.tuning.maxConcurrency).toBe(DEFAULT_REGION_EXECUTOR_OPTIONS.maxConcurrency);
    expect(exec.tuning.maxBackoffMs).toBe(20_000);
    expect(exec.sender).toBe(ks.sender);
    expect(exec.locator).toBe(ks.locator);
    expect(() => new RegionExecutor({ sender: ks.sender, locator: ks.locator, maxConcurrency: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => new RegionExecutor({ sender: ks.sender, locator: ks.locator, maxBackoffMs: -1 })).toThrow(
      /maxBackoffMs/,
    );
  });

  test('begin: a budget per operation, a scope only with a signal or a timeout', async () => {
    const ks = new Keyspace();
    const { exec } = executor(ks, { maxBackoffMs: 100 });
    const plain = exec.begin(undefined);
    expect(plain.scope.signal).toBeUndefined();
    expect(plain.bo.maxBackoffMs).toBe(200);
    const own = exec.begin({ timeoutMs: 50 }, { maxBackoffMs: 7 });
    expect(own.bo.maxBackoffMs).toBe(14);
    expect(own.bo.deadlineAtMs).toBe(own.scope.deadlineAtMs);
    own.scope.dispose();
    const aborted = AbortSignal.abort(new Error('gone'));
    expect(() => exec.begin({ signal: aborted })).toThrow('gone');
    const step = exec.backofferIn(own.scope, { maxBackoffMs: 1 });
    expect(step.maxBackoffMs).toBe(2);
  });
});

describe('sendToKey', () => {
  test('locates again after a region error and backs off regionMiss', async () => {
    const ks = new Keyspace();
    const { exec } = executor(ks);
    ks.split('m');
    const { bo } = exec.begin(undefined);
    const built: bigint[] = [];
    const { location } = await exec.sendToKey(bo, enc('x'), (loc) => {
      built.push(loc.region.version);
      return { $case: 'RawGet', value: { context: undefined, key: enc('x'), cf: '' } };
    });
    expect(built).toEqual([1n, 2n]);
    expect(location.region.id).toBe(ks.regionOf('x'));
    expect(bo.backoffTimes.get('regionMiss')).toBe(1);
  });

  test('reverse sends to the region ending at the key, with the request options', async () => {
    const ks = new Keyspace().split('m').refreshCache();
    const { exec } = executor(ks);
    const { bo } = exec.begin(undefined);
    const options = { priority: 'high' as const };
    const { location } = await exec.sendToKey(
      bo,
      enc('m'),
      () => ({ $case: 'RawGet', value: { context: undefined, key: enc('a'), cf: '' } }),
      { reverse: true, request: options },
    );
    expect(dec(location.endKey)).toBe('m');
    expect(ks.sent[0]?.options).toBe(options);
  });
});

describe('walkRange', () => {
  /** A walk that records the spans it was sent for. */
  async function walk(
    ks: Keyspace,
    start: string,
    end: string,
    options: { reverse?: boolean; concurrency?: number } = {},
  ): Promise<string[]> {
    const { exec } = executor(ks);
    const spans: string[] = [];
    await exec.walkRange(exec.begin(undefined).bo, {
      start: enc(start),
      end: enc(end),
      ...options,
      build: (span) => {
        spans.push(`${dec(span.startKey)}-${dec(span.endKey)}`);
        return {
          $case: 'RawDeleteRange',
          value: { context: undefined, startKey: span.startKey, endKey: span.endKey, cf: '' },
        };
      },
      onResponse: () => 'next',
    });
    return spans;
  }

  test('forward: one request per region, clipped to the region and the bound', async () => {
    const ks = new Keyspace().split('d', 'h', 'p').refreshCache();
    expect(await walk(ks, 'b', 'k')).toEqual(['b-d', 'd-h', 'h-k']);
    expect(await walk(ks, '', '')).toEqual(['-d', 'd-h', 'h-p', 'p-']);
    expect(await walk(ks, 'e', 'e')).toEqual([]);
    expect(await walk(ks, 'h', 'p')).toEqual(['h-p']);
  });

  test('reverse: from the upper bound down, an empty start meaning +infinity', async () => {
    const ks = new Keyspace().split('d', 'h', 'p').refreshCache();
    expect(await walk(ks, 'k', 'b', { reverse: true })).toEqual(['h-k', 'd-h', 'b-d']);
    expect(await walk(ks, '', '', { reverse: true })).toEqual(['p-', 'h-p', 'd-h', '-d']);
    expect(await walk(ks, 'h', 'h', { reverse: true })).toEqual([]);
    expect(await walk(ks, 'h', 'd', { reverse: true })).toEqual(['d-h']);
  });

  test('a split during the walk is followed', async () => {
    const ks = new Keyspace().split('h');
    expect(await walk(ks, '', '')).toEqual(['-', '-h', 'h-']);
  });

  test('stop, retry and resumeAt', async () => {
    const ks = new Keyspace().split('h').refreshCache();
    const { exec } = executor(ks);
    const starts: string[] = [];
    const outcomes = ['retry', { resumeAt: enc('c') }, 'next', 'stop', 'next'] as const;
    let i = 0;
    await exec.walkRange(exec.begin(undefined).bo, {
      start: enc('a'),
      end: enc(''),
      build: (span) => {
        starts.push(dec(span.startKey));
        return { $case: 'RawGet', value: { context: undefined, key: span.startKey, cf: '' } };
      },
      onResponse: () => outcomes[i++] ?? 'next',
    });
    expect(starts).toEqual(['a', 'a', 'c', 'h']);
  });

  test('with concurrency: the regions in flight are bounded, every region is walked once', async () => {
    const ks = new Keyspace().split('b', 'c', 'd', 'e', 'f').refreshCache();
    const { exec } = executor(ks);
    let inFlight = 0;
    let peak = 0;
    const seen: string[] = [];
    const turn = gate();
    ks.answer = async (sent) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await turn.promise;
      inFlight--;
      seen.push(dec((sent.request.value as { startKey: Uint8Array }).startKey));
      return {};
    };
    const done = exec.walkRange(exec.begin(undefined).bo, {
      start: enc(''),
      end: enc(''),
      concurrency: 2,
      build: (span) => ({
        $case: 'RawDeleteRange',
        value: { context: undefined, startKey: span.startKey, endKey: span.endKey, cf: '' },
      }),
      onResponse: () => 'next',
    });
    await new Promise((r) => setImmediate(r));
    expect(inFlight).toBe(2);
    turn.open();
    await done;
    expect(peak).toBe(2);
    expect(seen.sort()).toEqual(['', 'b', 'c', 'd', 'e', 'f']);
  });

  test('with concurrency, a region split since the cache was read is walked piece by piece', async () => {
    const ks = new Keyspace().split('h').refreshCache();
    ks.split('c', 'p');
    expect(await walk(ks, '', '', { concurrency: 4 })).toEqual(
      expect.arrayContaining(['-h', '-c', 'c-h', 'h-', 'h-p', 'p-']),
    );
    expect(await walk(ks, '', '', { reverse: true, concurrency: 4 })).toEqual(
      expect.arrayContaining(['p-', 'h-p', 'c-h', '-c']),
    );
  });

  test('stop ends the walk; with concurrency it starts no further region; a failure is thrown', async () => {
    const ks = new Keyspace().split('b', 'c', 'd').refreshCache();
    const { exec } = executor(ks);
    let calls = 0;
    await exec.walkRange(exec.begin(undefined).bo, {
      start: enc(''),
      end: enc(''),
      build: () => ({ $case: 'RawGet', value: { context: undefined } }) as TikvRequest,
      onResponse: () => (++calls === 2 ? 'stop' : 'next'),
    });
    expect(calls).toBe(2);
    calls = 0;
    await exec.walkRange(exec.begin(undefined).bo, {
      start: enc(''),
      end: enc(''),
      concurrency: 2,
      build: () => ({ $case: 'RawGet', value: { context: undefined } }) as TikvRequest,
      onResponse: () => {
        calls++;
        return 'stop';
      },
    });
    expect(calls).toBe(2);
    await expect(
      exec.walkRange(exec.begin(undefined).bo, {
        start: enc(''),
        end: enc(''),
        concurrency: 2,
        build: () => ({ $case: 'RawGet', value: { context: undefined } }) as TikvRequest,
        onResponse: () => {
          throw new Error('bad region');
        },
      }),
    ).rejects.toThrow('bad region');
    await expect(
      exec.walkRange(exec.begin(undefined).bo, {
        start: enc(''),
        end: enc(''),
        concurrency: 0,
        build: () => ({ $case: 'RawGet', value: { context: undefined } }) as TikvRequest,
        onResponse: () => 'next',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('sendRangeStep says where the walk goes next', async () => {
    const ks = new Keyspace().split('h').refreshCache();
    const { exec } = executor(ks);
    const { bo } = exec.begin(undefined);
    const build = () => ({ $case: 'RawGet', value: { context: undefined } }) as TikvRequest;
    const first = await exec.sendRangeStep(bo, { start: enc('a'), end: enc('') }, build);
    expect(dec(first.next as Uint8Array)).toBe('h');
    const last = await exec.sendRangeStep(bo, { start: enc('h'), end: enc('') }, build);
    expect(last.next).toBeUndefined();
    const bounded = await exec.sendRangeStep(bo, { start: enc('a'), end: enc('c') }, build);
    expect(bounded.next).toBeUndefined();
    expect(dec(bounded.span.endKey)).toBe('c');
    const down = await exec.sendRangeStep(bo, { start: enc('k'), end: enc(''), reverse: true }, build);
    expect(dec(down.next as Uint8Array)).toBe('h');
    expect([dec(down.span.startKey), dec(down.span.endKey)]).toEqual(['h', 'k']);
  });
});

describe('runBatches', () => {
  test('one region, one batch: sent on the operation’s backoffer, no fork', async () => {
    const ks = new Keyspace();
    const { exec } = executor(ks);
    const { bo } = exec.begin(undefined);
    const keys = ['a', 'b', 'c'].map(enc);
    const run = await exec.runBatches(bo, {
      items: keys,
      keyOf: identity,
      limit: { maxCount: 8 },
      send: sendBatchGet(exec),
    });
    expect(run.background).toBeUndefined();
    expect(ks.sent).toHaveLength(1);
    expect(ks.sent[0]?.bo).toBe(bo);
    expect((ks.sent[0]?.request.value as { keys?: Uint8Array[] } | undefined)?.keys).toBe(keys);
    expect(
      (
        await exec.runBatches(bo, {
          items: [],
          keyOf: identity,
          limit: { maxCount: 1 },
          send: sendBatchGet(exec),
        })
      ).background,
    ).toBeUndefined();
  });

  test('a region error mid-round re-splits only the failed batch', async () => {
    const ks = new Keyspace().split('h', 'p').refreshCache();
    const { exec } = executor(ks);
    ks.split('k');
    const keys = ['a', 'b', 'i', 'm', 'q', 'r'].map(enc);
    await exec.runBatches(exec.begin(undefined).bo, {
      items: keys,
      keyOf: identity,
      limit: { maxCount: 8 },
      send: sendBatchGet(exec),
    });
    // The middle region split: its batch fails and its keys alone are grouped again.
    expect(sentKeys(ks.sent).sort()).toEqual(['a,b', 'i', 'i,m', 'm', 'q,r']);
    const batches = ks.sent.map((s) => s.region.id);
    expect(new Set(batches).size).toBe(4);
  });

  test('sorted items: batches are runs, and a region error re-splits its run only', async () => {
    const ks = new Keyspace().split('h', 'p').refreshCache();
    const { exec } = executor(ks);
    ks.split('k');
    await exec.runBatches(exec.begin(undefined).bo, {
      items: ['a', 'b', 'i', 'm', 'q', 'r'].map(enc),
      keyOf: identity,
      limit: { maxCount: 8 },
      sorted: true,
      send: sendBatchGet(exec),
    });
    expect(sentKeys(ks.sent).sort()).toEqual(['a,b', 'i', 'i,m', 'm', 'q,r']);
  });

  test('cuts by count and by size', async () => {
    const ks = new Keyspace();
    const { exec } = executor(ks);
    const { bo } = exec.begin(undefined);
    await exec.runBatches(bo, {
      items: ['a', 'b', 'c', 'd', 'e'].map(enc),
      keyOf: identity,
      limit: { maxCount: 2 },
      send: sendBatchGet(exec),
    });
    expect(sentKeys(ks.sent).sort()).toEqual(['a,b', 'c,d', 'e']);
    ks.sent.length = 0;
    await exec.runBatches(bo, {
      items: ['aa', 'b', 'cccc', 'd'].map(enc),
      keyOf: identity,
      limit: { maxBytes: 3, sizeOf: (k) => k.length },
      send: sendBatchGet(exec),
    });
    expect(sentKeys(ks.sent).sort()).toEqual(['aa,b', 'cccc', 'd']);
    await expect(
      exec.runBatches(bo, {
        items: [enc('a')],
        keyOf: identity,
        limit: { maxCount: 0 },
        send: sendBatchGet(exec),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(
      exec.runBatches(bo, {
        items: [enc('a')],
        keyOf: identity,
        limit: { maxCount: 1 },
        concurrency: 0,
        send: sendBatchGet(exec),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('the batches in flight are bounded by the concurrency', async () => {
    const ks = new Keyspace().split('b', 'c', 'd', 'e').refreshCache();
    const { exec } = executor(ks);
    let inFlight = 0;
    let peak = 0;
    ks.answer = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return {};
    };
    await exec.runBatches(exec.begin(undefined).bo, {
      items: ['a', 'b', 'c', 'd', 'e'].map(enc),
      keyOf: identity,
      limit: { maxCount: 10 },
      concurrency: 2,
      send: sendBatchGet(exec),
    });
    expect(peak).toBe(2);
    expect(ks.sent).toHaveLength(5);
  });

  test("'retry' re-sends the same batch with the same backoffer; { retry } re-sends part of it", async () => {
    const ks = new Keyspace().split('m').refreshCache();
    const { exec } = executor(ks);
    const seen: { keys: string; bo: Backoffer }[] = [];
    const outcomes = new Map<string, ('retry' | { retry: Uint8Array[] } | 'done')[]>([
      ['a,b,c', ['retry', { retry: [enc('b')] }]],
      ['b', ['done']],
      ['x', ['done']],
    ]);
    await exec.runBatches(exec.begin(undefined).bo, {
      items: ['a', 'b', 'c', 'x'].map(enc),
      keyOf: identity,
      limit: { maxCount: 10 },
      send: async (batch, bo) => {
        const keys = batch.items.map(dec).join(',');
        seen.push({ keys, bo });
        await bo.backoff(BackoffKinds.txnLockFast, new Error('locked'));
        return outcomes.get(keys)?.shift() ?? 'done';
      },
    });
    const left = seen.filter((s) => s.keys !== 'x');
    expect(left.map((s) => s.keys)).toEqual(['a,b,c', 'a,b,c', 'b']);
    expect(new Set(left.map((s) => s.bo)).size).toBe(1);
    expect(left[0]?.bo.backoffTimes.get('txnLockFast')).toBe(3);
    // An empty retry list is done.
    const { bo } = exec.begin(undefined);
    let sends = 0;
    await exec.runBatches(bo, {
      items: [enc('a')],
      keyOf: identity,
      limit: { maxCount: 1 },
      send: async () => (++sends === 1 ? { retry: [] } : 'done'),
    });
    expect(sends).toBe(1);
  });

  test('the first failure cancels the batches in flight and is thrown once they settle', async () => {
    const ks = new Keyspace().split('m').refreshCache();
    const { exec } = executor(ks);
    const hung = gate();
    let cancelled: unknown;
    const run = exec.runBatches(exec.begin(undefined).bo, {
      items: ['a', 'x'].map(enc),
      keyOf: identity,
      limit: { maxCount: 10 },
      send: async (batch, bo) => {
        if (dec(batch.items[0] as Uint8Array) === 'a') {
          await new Promise<void>((resolve) => {
            bo.signal?.addEventListener('abort', () => {
              cancelled = bo.signal?.reason;
              resolve();
            });
          });
          hung.open();
          return 'done';
        }
        throw new Error('store down');
      },
    });
    await expect(run).rejects.toThrow('store down');
    await hung.promise;
    expect(cancelled).toEqual(new Error('store down'));
  });

  describe('primary first (client-go doActionOnGroupMutations)', () => {
    test('the primary batch goes alone; the others start only once it is done', async () => {
      const ks = new Keyspace().split('h', 'p').refreshCache();
      const { exec } = executor(ks);
      const order: string[] = [];
      const primaryDone = gate();
      ks.answer = async (sent) => {
        const keys = keysOf(sent.request).join(',');
        order.push(`start ${keys}`);
        if (keys === 'i,j') await primaryDone.promise;
        order.push(`end ${keys}`);
        return {};
      };
      const run = exec.runBatches(exec.begin(undefined).bo, {
        items: ['a', 'b', 'i', 'j', 'q'].map(enc),
        keyOf: identity,
        limit: { maxCount: 10 },
        primary: { key: enc('j') },
        send: async (batch, bo) => {
          if (batch.primary !== keysOf(batchGet(batch.items)).includes('j')) throw new Error('primary flag');
          return (await exec.sendToRegion(bo, batch.region, batchGet(batch.items))) === undefined
            ? 'regionError'
            : 'done';
        },
      });
      await new Promise((r) => setImmediate(r));
      expect(order).toEqual(['start i,j']);
      primaryDone.open();
      await run;
      expect(order.slice(0, 2)).toEqual(['start i,j', 'end i,j']);
      expect(
        order
          .slice(2)
          .filter((o) => o.startsWith('start'))
          .sort(),
      ).toEqual(['start a,b', 'start q']);
    });

    test('a region error on the primary batch groups it again, and the primary’s new batch goes alone first', async () => {
      const ks = new Keyspace().split('h').refreshCache();
      const { exec } = executor(ks);
      ks.split('k');
      const keys: string[] = [];
      await exec.runBatches(exec.begin(undefined).bo, {
        items: ['a', 'i', 'm'].map(enc),
        keyOf: identity,
        limit: { maxCount: 10 },
        primary: { key: enc('m') },
        concurrency: 1,
        send: async (batch, bo) => {
          keys.push(`${batch.primary ? '*' : ''}${batch.items.map(dec).join(',')}`);
          return (await exec.sendToRegion(bo, batch.region, batchGet(batch.items))) === undefined
            ? 'regionError'
            : 'done';
        },
      });
      expect(keys.slice(0, 2)).toEqual(['*i,m', '*m']);
      expect(keys.slice(2).sort()).toEqual(['a', 'i']);
    });

    test('the rest in the background, on its own backoffer', async () => {
      const ks = new Keyspace().split('h').refreshCache();
      const { exec } = executor(ks);
      const secondaries = gate();
      const seen: Backoffer[] = [];
      ks.answer = async (sent) => {
        seen.push(sent.bo);
        if (keysOf(sent.request).includes('x')) await secondaries.promise;
        return {};
      };
      const { bo } = exec.begin(undefined);
      const { bo: background } = exec.begin(undefined, { maxBackoffMs: 1000 });
      const run = await exec.runBatches(bo, {
        items: ['a', 'x'].map(enc),
        keyOf: identity,
        limit: { maxCount: 10 },
        primary: { key: enc('a'), background },
        send: sendBatchGet(exec),
      });
      expect(run.background).toBeInstanceOf(Promise);
      expect(seen[0]).toBe(bo);
      secondaries.open();
      await run.background;
      expect(seen[1]).toBe(background);
    });

    test('a primary key that is not among the items is refused', async () => {
      const ks = new Keyspace();
      const { exec } = executor(ks);
      await expect(
        exec.runBatches(exec.begin(undefined).bo, {
          items: [enc('a')],
          keyOf: identity,
          limit: { maxCount: 10 },
          primary: { key: enc('b') },
          send: sendBatchGet(exec),
        }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });

  test('the budget holds across rounds, and each round backs off longer than the one before', async () => {
    const ks = new Keyspace().split('m').refreshCache();
    const clock = new ManualClock();
    const exec = new RegionExecutor({ sender: ks.sender, locator: ks.locator, clock, maxBackoffMs: 100 });
    for (let i = 0; i < 10_000; i++) ks.regionErrors.push({ error: { serverIsBusy: {} } });
    const events: BackoffEvent[] = [];
    const record = (m: unknown): void => {
      events.push(m as BackoffEvent);
    };
    diagnostics.subscribe(BACKOFF_CHANNEL, record);
    let err: unknown;
    try {
      const run = exec.runBatches(exec.begin(undefined).bo, {
        items: ['a', 'z'].map(enc),
        keyOf: identity,
        limit: { maxCount: 10 },
        send: sendBatchGet(exec),
      });
      err = await drive(clock, run).catch((e: unknown) => e);
    } finally {
      diagnostics.unsubscribe(BACKOFF_CHANNEL, record);
    }
    expect(err).toMatchObject({ code: 'BACKOFF_EXCEEDED' });
    const step = Math.max(...events.map((e) => e.sleepMs));
    expect(clock.now()).toBeLessThanOrEqual(200 + step);
    const steps = [2, 4, 8, 16, 32, 64, 128];
    expect(events.map((e) => e.sleepMs).sort((a, b) => a - b)).toEqual(steps.flatMap((s) => [s, s]));
    expect(ks.sent.length).toBeLessThanOrEqual(16);
  });
});

describe('mapConcurrently', () => {
  test('results aligned, one clone per call, the longest sleep flows back', async () => {
    const ks = new Keyspace();
    const { exec } = executor(ks);
    const { bo } = exec.begin(undefined);
    const out = await exec.mapConcurrently(
      bo,
      [3, 1, 2],
      async (n, child) => {
        expect(child).not.toBe(bo);
        for (let i = 0; i < n; i++) await child.backoff(BackoffKinds.regionMiss, new Error('x'));
        return n * 2;
      },
      { concurrency: 2 },
    );
    expect(out).toEqual([6, 2, 4]);
    expect(bo.backoffTimes.get('regionMiss')).toBe(3);
    await expect(exec.mapConcurrently(bo, [1], async () => 1, { concurrency: 1.5 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
