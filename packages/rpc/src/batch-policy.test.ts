// Port of client-go internal/client/client_test.go TestBatchPolicy.
import { isTiKVError } from '@tikv/common';
import { BATCH_POLICIES, BatchTrigger, parseBatchPolicy } from './batch-policy.js';

const US = 0.001; // one microsecond in milliseconds

describe('TestBatchPolicy', () => {
  it('basic never waits', () => {
    expect(new BatchTrigger(parseBatchPolicy('basic')).waitMs).toBe(0);
  });

  it('positive always waits 0.1 ms with the configured wait size', () => {
    const t = new BatchTrigger(parseBatchPolicy('positive'));
    expect(t.waitMs).toBeCloseTo(0.1);
    expect(t.needFetchMore(3_600_000)).toBe(true);
    expect(t.needFetchMore(1)).toBe(true);
    expect(t.preferredWaitSize(1, 8)).toBe(8);
    expect(t.preferredWaitSize(1.2, 8)).toBe(8);
    expect(t.preferredWaitSize(1.8, 8)).toBe(8);
  });

  it('standard waits while the estimated arrival interval is below 80 µs', () => {
    const t = new BatchTrigger(parseBatchPolicy('standard'));
    expect(t.preferredWaitSize(1, 8)).toBe(1);
    expect(t.preferredWaitSize(1.2, 8)).toBe(1);
    expect(t.preferredWaitSize(1.8, 8)).toBe(2);
    expect(t.waitMs).toBeCloseTo(0.1);
    expect(t.needFetchMore(100 * US)).toBe(false);
    expect(t.needFetchMore(80 * US)).toBe(false);
    expect(t.needFetchMore(10 * US)).toBe(true);
    expect(t.needFetchMore(80 * US)).toBe(true);
    expect(t.needFetchMore(90 * US)).toBe(false);
    for (let i = 0; i < 50; i++) t.needFetchMore(3_600_000);
    for (let i = 0; i < 8; i++) expect(t.needFetchMore(10 * US)).toBe(false);
    expect(t.needFetchMore(10 * US)).toBe(true);
  });

  it('custom takes JSON parameters', () => {
    expect(parseBatchPolicy('custom {} ')).toEqual(BATCH_POLICIES.basic);
    expect(parseBatchPolicy('{"t":0.0001}')).toEqual(BATCH_POLICIES.positive);
    expect(parseBatchPolicy('custom {"v":1,"t":0.0001,"n":5,"w":0.2,"p":0.8,"q":0.8}')).toEqual(
      BATCH_POLICIES.standard,
    );
    const t = new BatchTrigger(parseBatchPolicy('custom {"v":2,"t":0.001,"w":0.2,"p":0.5}'));
    expect(t.preferredWaitSize(1, 8)).toBe(2);
    expect(t.preferredWaitSize(1.2, 8)).toBe(2);
    expect(t.waitMs).toBeCloseTo(1);
    expect(t.needFetchMore(1 - US)).toBe(false);
    expect(t.needFetchMore(1 - US)).toBe(false);
    expect(t.needFetchMore(1 - US)).toBe(false);
    expect(t.needFetchMore(1 - US)).toBe(true);
    expect(t.needFetchMore(1)).toBe(false);
  });

  it.each(['', 'invalid', 'custom', 'custom {x:1}', 'custom []', 'custom {"v":3}', 'custom {"t":-1}'])(
    'refuses %j (client-go falls back to standard)',
    (policy) => {
      let err: unknown;
      try {
        parseBatchPolicy(policy);
      } catch (e) {
        err = e;
      }
      expect(isTiKVError(err, 'INVALID_ARGUMENT')).toBe(true);
    },
  );
});
