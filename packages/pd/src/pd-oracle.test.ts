import { composeTs, extractPhysical, isTiKVError, tsFromMs } from '@tikv/common';
import {
  ADAPTIVE_BLOCK_RECOVER_THRESHOLD_MS,
  ADAPTIVE_DELAY_BEFORE_RECOVERING_MS,
  ADAPTIVE_RECOVER_PER_SECOND_MS,
  ADAPTIVE_SHRINKING_PRESERVE_MS,
  AdaptiveIntervalState,
  MIN_ADAPTIVE_UPDATE_INTERVAL_MS,
} from './adaptive-update-interval.js';
import type { CallOptions } from './call-options.js';
import { MAX_INT64, MAX_TS } from './oracle.js';
import { PdOracle } from './pd-oracle.js';

// Ports client-go oracle/oracles/pd_test.go.

/** client-go's MockPdClient: same physical time, increasing logical time. */
class MockPdClient {
  logical = 0n;
  paused: Promise<void> | undefined;
  private release: (() => void) | undefined;
  calls = 0;
  external = 0n;
  async getTimestamp(options?: CallOptions): Promise<bigint> {
    this.calls++;
    options?.signal?.throwIfAborted();
    while (this.paused !== undefined) await this.paused;
    this.logical += 1n;
    return composeTs(0n, this.logical);
  }
  pause(): void {
    this.paused = new Promise<void>((r) => (this.release = r));
  }
  resume(): void {
    this.paused = undefined;
    this.release?.();
  }
  getExternalTimestamp(): Promise<bigint> {
    return Promise.resolve(this.external);
  }
  setExternalTimestamp(ts: bigint): Promise<void> {
    this.external = ts;
    return Promise.resolve();
  }
}

const noUpdate = { updateIntervalMs: 2000, noUpdateTs: true } as const;

describe('PdOracle', () => {
  test('untilExpired (TestPDOracle_UntilExpired)', () => {
    const o = new PdOracle(new MockPdClient(), noUpdate);
    expect(o.untilExpired(1n, 10)).toBe(0); // no last ts yet
    expect(o.isExpired(1n, 10)).toBe(true);
    const start = Date.now();
    o.setLastTs(tsFromMs(start), start);
    const lockTs = tsFromMs(start + 10) + 1n;
    expect(o.untilExpired(lockTs, 15)).toBe(25);
    expect(o.isExpired(lockTs, 15)).toBe(false);
    expect(o.isExpired(tsFromMs(start - 20), 15)).toBe(true);
    o.close();
  });

  test('getStaleTimestamp (TestPdOracle_GetStaleTimestamp)', async () => {
    const start = Date.now();
    const o = new PdOracle(new MockPdClient(), { ...noUpdate, now: () => start });
    o.setLastTs(tsFromMs(start), start);
    const ts = await o.getStaleTimestamp(10);
    expect(extractPhysical(ts)).toBe(start - 10_000);
    await expect(o.getStaleTimestamp(1e12)).rejects.toThrow(/invalid prevSecond/);
    await expect(o.getStaleTimestamp(Number.MAX_SAFE_INTEGER)).rejects.toThrow(/invalid prevSecond/);
    await expect(o.getStaleTimestamp(-1)).rejects.toThrow(/invalid prevSecond/);
  });

  test('staleTimestampSync: milliseconds back from the last ts plus the local time since it arrived', () => {
    let now = 1_700_000_000_000;
    const o = new PdOracle(new MockPdClient(), { ...noUpdate, now: () => now });
    expect(o.staleTimestampSync(10)).toBeUndefined();
    o.setLastTs(tsFromMs(now), now);
    now += 250;
    expect(extractPhysical(o.staleTimestampSync(5_000) as bigint)).toBe(now - 5_000);
    expect(extractPhysical(o.staleTimestampSync(0) as bigint)).toBe(now);
    expect(() => o.staleTimestampSync(-1)).toThrow(/stalenessMs/);
    o.close();
  });

  test('stale timestamps are never in the future (TestNonFutureStaleTSO)', () => {
    let now = 1_700_000_000_000;
    const o = new PdOracle(new MockPdClient(), { ...noUpdate, now: () => now });
    o.setLastTs(tsFromMs(now), now);
    for (let i = 0; i < 100; i++) {
      now += 10;
      // a timestamp that arrives "late" (its arrival is now, its physical time is now)
      o.setLastTs(tsFromMs(now), now);
      for (let k = 0; k < 3; k++) {
        const ts = (o as unknown as { staleTimestampFrom(l: unknown, s: number): bigint }).staleTimestampFrom(
          { ts: tsFromMs(now), arrivalMs: now },
          0,
        );
        expect(extractPhysical(ts)).toBeLessThanOrEqual(now);
      }
    }
  });

  test('low resolution timestamp follows the update interval (TestPdOracle_SetLowResolutionTimestampUpdateInterval)', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick', 'setImmediate'] });
    const pd = new MockPdClient();
    const o = new PdOracle(pd, { updateIntervalMs: 50 });
    try {
      await o.getTimestamp();
      const lowRes = await o.getLowResolutionTimestamp();
      const ts = await o.getTimestamp();
      expect(ts > lowRes).toBe(true);
      for (const interval of [50, 150, 500]) {
        o.setLowResolutionTimestampUpdateInterval(interval);
        // the new interval takes effect after at most the previous one
        await jest.advanceTimersByTimeAsync(500);
        // align with a refresh, then the next one comes exactly one interval later
        let before = await o.getLowResolutionTimestamp();
        for (;;) {
          await jest.advanceTimersByTimeAsync(1);
          const cur = await o.getLowResolutionTimestamp();
          if (cur !== before) {
            before = cur;
            break;
          }
        }
        await jest.advanceTimersByTimeAsync(interval - 1);
        expect(await o.getLowResolutionTimestamp()).toBe(before);
        await jest.advanceTimersByTimeAsync(1);
        expect((await o.getLowResolutionTimestamp()) > before).toBe(true);
      }
      expect(() => o.setLowResolutionTimestampUpdateInterval(0)).toThrow('must be > 0');
    } finally {
      o.close();
      jest.useRealTimers();
    }
  });

  test('adaptive update interval (TestAdaptiveUpdateTSInterval)', async () => {
    let now = Date.now();
    const o = await PdOracle.create(new MockPdClient(), { ...noUpdate, now: () => now });
    const a = o.adaptiveInterval;
    const base = now;
    const mockTs = (beforeNowMs: number): bigint => composeTs(BigInt(base - beforeNowMs), 1n);
    const mustNotifyShrinking = (expected: number): void => expect(o.takePendingShrink()).toBe(expected);
    const mustNoNotify = (): void => expect(o.takePendingShrink()).toBeUndefined();
    const S = 1000;

    now += 2 * S;
    expect(a.next(now, 0)).toBe(2 * S);
    now += 2 * S;
    expect(a.next(now, 0)).toBe(2 * S);
    expect(a.state).toBe(AdaptiveIntervalState.NORMAL);

    now += S;
    o.observeStaleRead(mockTs(3 * S), mockTs(0), now);
    mustNoNotify();
    expect(a.next(now, 0)).toBe(2 * S);

    now += S;
    o.observeStaleRead(mockTs(S), mockTs(0), now);
    mustNotifyShrinking(S);
    let expected = S - ADAPTIVE_SHRINKING_PRESERVE_MS;
    expect(a.next(now, S)).toBe(expected);
    expect(a.state).toBe(AdaptiveIntervalState.ADAPTING);
    expect(a.lastShortStalenessReadMs).toBe(now);

    now += ADAPTIVE_DELAY_BEFORE_RECOVERING_MS / 2;
    o.observeStaleRead(mockTs(S), mockTs(0), now);
    mustNoNotify();
    expect(a.lastShortStalenessReadMs).toBe(now);

    now += ADAPTIVE_DELAY_BEFORE_RECOVERING_MS / 2 + S;
    a.lastTickMs = now - S;
    expect(a.next(now, 0)).toBe(expected);
    expect(a.state).toBe(AdaptiveIntervalState.ADAPTING);

    now += ADAPTIVE_DELAY_BEFORE_RECOVERING_MS / 2;
    a.lastTickMs = now - S;
    expected += ADAPTIVE_RECOVER_PER_SECOND_MS;
    expect(a.next(now, 0)).toBeCloseTo(expected, 3);
    expect(a.state).toBe(AdaptiveIntervalState.RECOVERING);
    a.lastTickMs = now;
    now += 2 * S;
    o.observeStaleRead(mockTs(expected + ADAPTIVE_BLOCK_RECOVER_THRESHOLD_MS * 2), mockTs(0), now);
    mustNoNotify();
    expected += ADAPTIVE_RECOVER_PER_SECOND_MS * 2;
    expect(a.next(now, 0)).toBeCloseTo(expected, 3);
    expect(a.state).toBe(AdaptiveIntervalState.RECOVERING);

    a.lastTickMs = now;
    now += S;
    o.observeStaleRead(mockTs(expected + ADAPTIVE_BLOCK_RECOVER_THRESHOLD_MS / 2), mockTs(0), now);
    mustNoNotify();
    expect(a.next(now, 0)).toBeCloseTo(expected, 3);
    expect(a.state).toBe(AdaptiveIntervalState.ADAPTING);
    a.lastTickMs = now;
    now += S;
    expect(a.next(now, 0)).toBeCloseTo(expected, 3);
    expect(a.state).toBe(AdaptiveIntervalState.ADAPTING);

    now += ADAPTIVE_DELAY_BEFORE_RECOVERING_MS;
    a.lastTickMs = now - S;
    expected += ADAPTIVE_RECOVER_PER_SECOND_MS;
    expect(a.next(now, 0)).toBeCloseTo(expected, 3);
    expect(a.state).toBe(AdaptiveIntervalState.RECOVERING);

    for (;;) {
      a.lastTickMs = now;
      now += S;
      expected += ADAPTIVE_RECOVER_PER_SECOND_MS;
      if (expected >= 2 * S) break;
      expect(a.next(now, 0)).toBeCloseTo(expected, 3);
      expect(a.state).toBe(AdaptiveIntervalState.RECOVERING);
    }
    expected = 2 * S;
    expect(a.next(now, 0)).toBe(expected);
    expect(a.state).toBe(AdaptiveIntervalState.NORMAL);

    // manual configuration while not adapted: followed at once
    o.setLowResolutionTimestampUpdateInterval(S);
    expect(a.adaptiveMs).toBe(S);
    expect(a.next(now, 0)).toBe(S);
    o.setLowResolutionTimestampUpdateInterval(2 * S);
    expect(a.adaptiveMs).toBe(2 * S);
    expect(a.next(now, 0)).toBe(2 * S);

    // while adapted, a longer configured value does not take effect at once
    now += S;
    o.observeStaleRead(mockTs(S), mockTs(0), now);
    mustNotifyShrinking(S);
    expected = S - ADAPTIVE_SHRINKING_PRESERVE_MS;
    expect(a.next(now, S)).toBe(expected);
    expect(a.state).toBe(AdaptiveIntervalState.ADAPTING);
    o.setLowResolutionTimestampUpdateInterval(3 * S);
    expect(a.adaptiveMs).toBe(expected);
    expect(a.next(now, 0)).toBe(expected);
    o.setLowResolutionTimestampUpdateInterval(S);
    expect(a.adaptiveMs).toBe(expected);
    expect(a.next(now, 0)).toBe(expected);

    // ...unless it is shorter than the interval in use
    o.setLowResolutionTimestampUpdateInterval(800);
    expect(a.adaptiveMs).toBe(800);
    expect(a.next(now, 0)).toBe(800);
    expect(a.state).toBe(AdaptiveIntervalState.NORMAL);

    // too short a configured value is not adaptive
    o.setLowResolutionTimestampUpdateInterval(MIN_ADAPTIVE_UPDATE_INTERVAL_MS / 2);
    expect(a.adaptiveMs).toBe(MIN_ADAPTIVE_UPDATE_INTERVAL_MS / 2);
    expect(a.next(now, 0)).toBe(MIN_ADAPTIVE_UPDATE_INTERVAL_MS / 2);
    expect(a.state).toBe(AdaptiveIntervalState.UNADJUSTABLE);
    o.close();
  });

  test('validateReadTs (TestValidateReadTS)', async () => {
    for (const staleRead of [true, false]) {
      const pd = new MockPdClient();
      const o = await PdOracle.create(pd, { updateIntervalMs: 2000 });
      try {
        if (staleRead) await expect(o.validateReadTs(MAX_TS, staleRead)).rejects.toThrow();
        else await expect(o.validateReadTs(MAX_TS, staleRead)).resolves.toBeUndefined();
        await expect(o.validateReadTs(MAX_INT64, staleRead)).rejects.toThrow(/MaxInt64/);

        let ts = await o.getTimestamp();
        expect(ts >= 1n).toBe(true);
        await o.validateReadTs(1n, staleRead);
        ts = await o.getTimestamp();
        // above the cached ts: fetches ts+1 from PD and passes
        await o.validateReadTs(ts + 1n, staleRead);
        ts = await o.getTimestamp();
        // ts+2 passes thanks to the one retry
        await o.validateReadTs(ts + 2n, staleRead);
        ts = await o.getTimestamp();
        // ts+3 cannot pass: at most one retry
        const err: unknown = await o.validateReadTs(ts + 3n, staleRead).catch((e: unknown) => e);
        expect(isTiKVError(err, 'FUTURE_TS_READ')).toBe(true);

        // another client advanced PD's timestamps
        ts = await o.getTimestamp();
        pd.logical += 2n;
        await o.validateReadTs(ts + 3n, staleRead);
      } finally {
        o.close();
      }
    }
  });

  test('concurrent validations share one fetch; a cancelled one does not cancel the others (TestValidateReadTSForStaleReadReusingGetTSResult)', async () => {
    const pd = new MockPdClient();
    const o = await PdOracle.create(pd, noUpdate);
    // the test disables the retry of the Go version with a failpoint; with our retry a
    // readTs above the shared result fetches once more, which the paused client also holds.
    const cancelIndices = [-1, -1, 0, 1];
    for (const [caseIndex, ts] of [100n, 200n, 300n, 400n].entries()) {
      const cancelIndex = cancelIndices[caseIndex] as number;
      pd.pause();
      const ac = new AbortController();
      const signalFor = (i: number): AbortSignal | undefined => (i === cancelIndex ? ac.signal : undefined);
      const readTss = [ts - 2n, ts + 2n, ts - 1n, ts + 1n, ts];
      const settled: Array<'pending' | 'ok' | unknown> = readTss.map(() => 'pending');
      const results = readTss.map((r, i) =>
        o.validateReadTs(r, true, { signal: signalFor(i) }).then(
          () => (settled[i] = 'ok'),
          (e: unknown) => (settled[i] = e),
        ),
      );
      await new Promise((r) => setImmediate(r));
      expect(settled.every((s) => s === 'pending')).toBe(true);
      const callsBefore = pd.calls;
      ac.abort(new Error('context canceled'));
      if (cancelIndex >= 0) {
        await results[cancelIndex];
        expect(String(settled[cancelIndex])).toContain('context canceled');
      }
      pd.logical = ts - 1n;
      pd.resume();
      await Promise.all(results);
      // one shared fetch for the first round (plus one shared retry round)
      expect(pd.calls - callsBefore).toBeLessThanOrEqual(2);
      const expectedOk = [true, false, true, true, true];
      for (const [i, s] of settled.entries()) {
        if (i === cancelIndex) continue;
        if (expectedOk[i] === true) expect(s).toBe('ok');
        else expect(isTiKVError(s, 'FUTURE_TS_READ')).toBe(true);
      }
    }
    o.close();
  });

  test('validation of a normal read does not touch the update interval (TestValidateReadTSForNormalReadDoNotAffectUpdateInterval)', async () => {
    const o = await PdOracle.create(new MockPdClient(), noUpdate);
    const ts = await o.getTimestamp();
    await o.validateReadTs(ts, false);
    expect(o.takePendingShrink()).toBeUndefined();
    await o.validateReadTs(ts + 2n, false);
    expect(o.takePendingShrink()).toBeUndefined();
    await expect(o.validateReadTs(ts + 5n, false)).rejects.toThrow(/future/);
    expect(o.takePendingShrink()).toBeUndefined();
    await o.validateReadTs(ts + 5n, false);
    expect(o.takePendingShrink()).toBeUndefined();
    o.close();
  });

  test('setLastTs only moves forward (TestSetLastTSAlwaysPushTS)', async () => {
    const o = await PdOracle.create(new MockPdClient(), noUpdate);
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        for (let i = 0; i < 20; i++) {
          const ts = await o.getTimestamp();
          expect((await o.getLowResolutionTimestamp()) >= ts).toBe(true);
        }
      }),
    );
    o.setLastTs(1n);
    expect((await o.getLowResolutionTimestamp()) > 1n).toBe(true);
    o.close();
  });

  test('a ts from another client is not a false positive (TestValidateReadTSFromDifferentSource)', async () => {
    const pd = new MockPdClient();
    const o = await PdOracle.create(pd, noUpdate);
    const ts = await o.getTimestamp();
    expect(await o.getLowResolutionTimestamp()).toBe(ts);
    pd.pause();
    const first = o.validateReadTs(ts + 1n, false);
    // another client takes 10 timestamps meanwhile; the next one is ts + 12
    pd.logical += 10n;
    const nextTs = composeTs(0n, pd.logical + 2n);
    const second = o.validateReadTs(nextTs, false);
    pd.resume();
    await expect(first).resolves.toBeUndefined();
    await expect(second).resolves.toBeUndefined();
    o.close();
  });

  test('async, external timestamps, validation off and create failure', async () => {
    const pd = new MockPdClient();
    const o = new PdOracle(pd, { ...noUpdate, validateReadTs: false });
    await expect(o.getLowResolutionTimestamp()).rejects.toThrow(/no low-resolution/);
    const f = o.getTimestampAsync();
    expect(await f.wait()).toBe(1n);
    await o.setExternalTimestamp(5n);
    expect(await o.getExternalTimestamp()).toBe(5n);
    await expect(o.validateReadTs(MAX_TS - 1n, true)).resolves.toBeUndefined();
    o.close();
    expect(() => new PdOracle(pd, { updateIntervalMs: 0 })).toThrow();
    const failing = {
      getTimestamp: () => Promise.reject(new Error('pd down')),
      getExternalTimestamp: () => pd.getExternalTimestamp(),
      setExternalTimestamp: (ts: bigint) => pd.setExternalTimestamp(ts),
    };
    await expect(PdOracle.create(failing, noUpdate)).rejects.toThrow('pd down');
    // stale timestamp without a cached ts fetches one first
    let now = 1_700_000_000_000;
    const src = {
      getTimestamp: () => Promise.resolve(tsFromMs(now)),
      getExternalTimestamp: () => pd.getExternalTimestamp(),
      setExternalTimestamp: (ts: bigint) => pd.setExternalTimestamp(ts),
    };
    const o2 = new PdOracle(src, { ...noUpdate, now: () => now });
    now += 0;
    expect(extractPhysical(await o2.getStaleTimestamp(1))).toBe(now - 1000);
  });
});
