import { SlowScore, StoreHealthStatus } from './slow-score.js';

describe('slow scores (client-go TestSlowScoreStat, TestTiKVSideSlowScore, TestStoreHealthStatus)', () => {
  it('TestSlowScoreStat', () => {
    const score = new SlowScore();
    expect(score.isSlow).toBe(false);
    score.record(1);
    score.update();
    expect(score.isSlow).toBe(false);
    for (let i = 2; i <= 100; i++) {
      score.record(i);
      if (i % 5 === 0) {
        score.update();
        expect(score.isSlow).toBe(false);
      }
    }
    for (let i = 100; i >= 2; i--) {
      score.record(i);
      if (i % 5 === 0) {
        score.update();
        expect(score.isSlow).toBe(false);
      }
    }
    score.markSlow();
    expect(score.isSlow).toBe(true);
  });

  it('TestTiKVSideSlowScore', () => {
    const stats = new StoreHealthStatus();
    let now = 1_000_000;
    expect(stats.detail().tikvSideSlowScore).toBeLessThanOrEqual(1);
    stats.tick(now);
    expect(stats.detail().tikvSideSlowScore).toBeLessThanOrEqual(1);
    expect(stats.isSlow).toBe(false);
    now += 200;
    stats.updateTikvSlowScore(50, now);
    expect(stats.detail().tikvSideSlowScore).toBe(50);
    expect(stats.isSlow).toBe(false);
    now += 200;
    stats.updateTikvSlowScore(100, now);
    expect(stats.detail().tikvSideSlowScore).toBe(100);
    expect(stats.isSlow).toBe(true);
    now += 120_000;
    stats.tick(now);
    expect(stats.detail().tikvSideSlowScore).toBe(60);
    expect(stats.isSlow).toBe(false);
    now += 180_000;
    stats.tick(now);
    expect(stats.detail().tikvSideSlowScore).toBe(1);
    now += 60_000;
    stats.tick(now);
    expect(stats.detail().tikvSideSlowScore).toBe(1);
  });

  it('TestStoreHealthStatus', () => {
    const stats = new StoreHealthStatus();
    let now = 1_000_000;
    expect(stats.isSlow).toBe(false);
    while (!stats.clientSide.isSlow) stats.clientSide.record(60_000);
    stats.tick(now);
    expect(stats.isSlow).toBe(true);
    expect(stats.detail().clientSideSlowScore).toBe(stats.clientSide.value);
    now += 1000;
    stats.updateTikvSlowScore(100, now);
    expect(stats.isSlow).toBe(true);
    expect(stats.detail().tikvSideSlowScore).toBe(100);
    while (stats.clientSide.isSlow) {
      stats.recordLatency(1);
      stats.tick(now);
    }
    expect(stats.isSlow).toBe(true);
    now += 1000;
    stats.updateTikvSlowScore(1, now);
    expect(stats.isSlow).toBe(false);
  });
});
