import {
  AlreadyExistsError,
  BackoffBudgetExceededError,
  Backoffer,
  BackoffKinds,
  DeadlineExceededError,
  ManualClock,
  RegionError,
  RpcError,
} from '@tikv/common';
import { latestRpcFailure, mayHaveBeenApplied, rpcFailureCount } from './send-outcome.js';

const rpc = (requestSent: boolean) => new RpcError('boom', { address: 'a', requestSent });

describe('whether a failed request may have been applied', () => {
  test('a transport failure says whether the request was sent', () => {
    expect(mayHaveBeenApplied(rpc(true))).toBe(true);
    expect(mayHaveBeenApplied(rpc(false))).toBe(false);
  });

  test("TiKV's answers say it was not", () => {
    expect(mayHaveBeenApplied(new RegionError('NotLeader', ''))).toBe(false);
    expect(mayHaveBeenApplied(new AlreadyExistsError(new Uint8Array([1])))).toBe(false);
  });

  test('the cause chain decides: a budget exhausted on region errors, or on a sent RPC', () => {
    const budget = (cause: unknown) =>
      new BackoffBudgetExceededError(
        {
          kind: 'regionMiss',
          maxBackoffMs: 1,
          totalSleepMs: 2,
          excludedSleepMs: 0,
          history: [],
          recentErrors: [],
          longestSleepKind: undefined,
          longestSleepMs: 0,
          maxBackoffTimeExceeded: true,
          maxExcludedTimeExceeded: false,
        },
        { cause },
      );
    expect(mayHaveBeenApplied(budget(new RegionError('ServerIsBusy', '')))).toBe(false);
    expect(mayHaveBeenApplied(budget(rpc(true)))).toBe(true);
    expect(
      mayHaveBeenApplied(new DeadlineExceededError('x', { cause: new RegionError('NotLeader', '') })),
    ).toBe(false);
  });

  test('anything else (a timeout, an abort) may have been', () => {
    expect(mayHaveBeenApplied(new DeadlineExceededError())).toBe(true);
    expect(mayHaveBeenApplied(new Error('aborted'))).toBe(true);
    expect(mayHaveBeenApplied(undefined)).toBe(true);
  });

  test('a backoffer counts the failed RPCs the sender retried', async () => {
    const bo = new Backoffer({ clock: new ManualClock({ autoAdvance: true }) });
    expect(rpcFailureCount(bo)).toBe(0);
    expect(latestRpcFailure(bo)).toBeUndefined();
    const first = rpc(true);
    await bo.backoff(BackoffKinds.tikvRPC, first);
    await bo.backoff(BackoffKinds.regionMiss, new RegionError('EpochNotMatch', ''));
    expect(rpcFailureCount(bo)).toBe(1);
    expect(latestRpcFailure(bo)).toBe(first);
  });
});
