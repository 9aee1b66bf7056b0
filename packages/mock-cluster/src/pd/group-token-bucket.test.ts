import { GroupTokenBucket } from './group-token-bucket.js';

describe('GroupTokenBucket (PD token_buckets.go, one slot)', () => {
  it('a burstable group starts with 100,000 RU, refills at its rate and caps at its burst', () => {
    const b = new GroupTokenBucket({ fillRate: 100, burstLimit: 1000 });
    expect(b.request(0, 10, 5_000)).toEqual({ tokens: 10, trickleTimeMs: 0, burstLimit: 1000 });
    expect(b.tokens).toBe(99_990);
    // The next request caps the bucket at its burst first.
    b.request(1_000, 0, 5_000);
    expect(b.tokens).toBe(1000);
    b.request(1_000, 1000, 5_000);
    expect(b.tokens).toBe(0);
    b.request(3_000, 0, 5_000);
    expect(b.tokens).toBe(200);
  });

  it('an unlimited group grants everything', () => {
    const b = new GroupTokenBucket({ fillRate: 0, burstLimit: -1 });
    expect(b.request(0, 1e9, 5_000)).toEqual({ tokens: 1e9, trickleTimeMs: 0, burstLimit: -1 });
  });

  it('beyond the tokens left, a loan trickled over the period; deep in debt, half a period of fill', () => {
    const b = new GroupTokenBucket({ fillRate: 100, burstLimit: 0 });
    // Rate controlled: no tokens, two loan rounds: up to 1000 RU at 2x the fill rate (5 s of it),
    // then up to 1500 RU of debt at 1x.
    const first = b.request(0, 1500, 5_000);
    expect(first.tokens).toBe(1000);
    expect(first.trickleTimeMs).toBe(5_000);
    const second = b.request(0, 1000, 5_000);
    expect(second.tokens).toBe(500);
    expect(b.tokens).toBe(-1500);
    const deep = b.request(0, 10_000, 5_000);
    expect(deep.tokens).toBe(250);
    expect(b.request(0, 0, 5_000).tokens).toBe(0);
  });

  it('tokens left are granted first and the rest borrowed, trickled over the borrowing time', () => {
    const b = new GroupTokenBucket({ fillRate: 100, burstLimit: 50 });
    b.request(0, 100_000 - 20, 1_000);
    const g = b.request(0, 120, 1_000);
    // 20 left, then 100 borrowed at 1x the rate (burst <= rate: one round of 100 RU a second).
    expect(g.tokens).toBe(120);
    expect(g.trickleTimeMs).toBe(1_000);
    b.setLimit({ fillRate: 10, burstLimit: 50 });
    expect(b.request(0, 0, 1_000).tokens).toBe(0);
  });
});
