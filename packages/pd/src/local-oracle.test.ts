import { tsFromMs } from '@tikv/common';
import { LocalOracle } from './local-oracle.js';

// Ports client-go oracle/oracles/local_test.go.
describe('LocalOracle', () => {
  test('generates unique timestamps (TestLocalOracle)', async () => {
    const l = new LocalOracle();
    const m = new Set<bigint>();
    for (let i = 0; i < 100_000; i++) m.add(await l.getTimestamp());
    expect(m.size).toBe(100_000);
    l.close();
  });

  test('isExpired (TestIsExpired)', async () => {
    const o = new LocalOracle();
    const start = Date.now();
    o.setCurrentTime(start);
    const ts = await o.getTimestamp();
    o.setCurrentTime(start + 10);
    expect(o.isExpired(ts, 5)).toBe(true);
    expect(o.isExpired(ts, 200)).toBe(false);
  });

  test('untilExpired (TestLocalOracle_UntilExpired)', async () => {
    const o = new LocalOracle();
    const start = Date.now();
    o.setCurrentTime(start);
    const ts = await o.getTimestamp();
    o.setCurrentTime(start + 10);
    expect(o.untilExpired(ts, 6)).toBe(-4);
    expect(o.untilExpired(ts, 14)).toBe(4);
  });

  test('low resolution, stale, async and external timestamps', async () => {
    let now = 1_700_000_000_000;
    const o = new LocalOracle({ now: () => now });
    expect(await o.getLowResolutionTimestamp()).toBe(tsFromMs(now));
    expect(await o.getTimestampAsync().wait()).toBe(tsFromMs(now) + 1n);
    expect(await o.getStaleTimestamp(10)).toBe(tsFromMs(now - 10_000));
    o.setLowResolutionTimestampUpdateInterval();
    await expect(o.validateReadTs()).resolves.toBeUndefined();
    expect(await o.getExternalTimestamp()).toBe(0n);
    const ts = await o.getTimestamp();
    await o.setExternalTimestamp(ts);
    expect(await o.getExternalTimestamp()).toBe(ts);
    await expect(o.setExternalTimestamp(ts - 1n)).rejects.toThrow('cannot decrease');
    now += 5;
    await expect(o.setExternalTimestamp(tsFromMs(now + 100_000))).rejects.toThrow('greater than');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(o.getTimestamp({ signal: ac.signal })).rejects.toThrow('stop');
  });
});
