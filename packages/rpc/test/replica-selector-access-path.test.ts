// Ports of client-go internal/locate/replica_selector_test.go that pin what the selector and the
// region-error handler do across attempts: TestReplicaSelectorBasic, TestPendingBackoff and the
// access-path cases (see ./access-path.ts for the harness).
import { Backoffer, BackoffKinds } from '@tikv/common';
import type { CachedRegion } from '@tikv/region-cache';
import { ReplicaSelector } from '../src/replica-selector.js';
import { type AccessErr, changeRegionLeader, expectCase, isFakeEpochNotMatch, path } from './access-path.js';
import { type Fixture, setupFixture } from './sender-fixture.js';

describe('replica_selector_test.go', () => {
  let f: Fixture;
  beforeEach(() => {
    f = setupFixture(3);
  });
  afterEach(async () => {
    await f.close();
  });
  const staleMixed = { replicaRead: 'mixed', staleRead: true, readOnly: true, busyThresholdMs: 0 } as const;

  test('TestReplicaSelectorBasic', async () => {
    // A region invalidated before the request: the sender builds no selector and answers the
    // pseudo EpochNotMatch without sending (client-go: newReplicaSelector returns nil).
    let verId = await f.region();
    f.cache.getCachedRegion(verId)?.invalidate('other');
    expect(await f.cache.getRpcContext(verId)).toBeUndefined();
    const res = await f.sender.sendRequest(f.backoffer(), f.get(), verId, {
      replicaRead: 'mixed',
      staleRead: true,
    });
    expect(isFakeEpochNotMatch(res.value.regionError)).toBe(true);
    expect(f.transport.sent).toHaveLength(0);

    // A stale read with mixed replica read: the leader, then each follower, then nothing.
    verId = await f.region();
    let selector = new ReplicaSelector(f.cache.getCachedRegion(verId) as CachedRegion, staleMixed, {
      locator: f.cache,
      random: () => 0,
    });
    const types: string[] = [];
    for (let i = 0; i < 4; i++) {
      selector.next();
      types.push(selector.replicaType());
    }
    expect(types).toEqual(['leader', 'follower', 'follower', 'unknown']);

    // Invalidating the region between attempts ends the selection.
    verId = await f.region();
    const region = f.cache.getCachedRegion(verId) as CachedRegion;
    selector = new ReplicaSelector(region, staleMixed, { locator: f.cache, random: () => 0 });
    expect(selector.next()).toBeDefined();
    region.invalidate('other');
    expect(selector.next()).toBeUndefined();
  });

  test('TestPendingBackoff', async () => {
    const verId = await f.region();
    const selector = new ReplicaSelector(f.cache.getCachedRegion(verId) as CachedRegion, staleMixed, {
      locator: f.cache,
    });
    const bo = Backoffer.noop();
    // client-go backoffOnRetry / backoffOnNoCandidate: nothing pending, nothing to back off.
    const backoffOnRetry = async (storeId: bigint): Promise<unknown> => {
      const p = selector.takePendingBackoff(storeId);
      return p === undefined ? undefined : bo.backoff(p.kind, p.error).catch((e: unknown) => e);
    };
    const backoffOnNoCandidate = async (): Promise<unknown> => {
      const p = selector.largestPendingBackoff();
      return p === undefined ? undefined : bo.backoff(p.kind, p.error).catch((e: unknown) => e);
    };
    expect(await backoffOnRetry(0n)).toBeUndefined();
    expect(await backoffOnRetry(1n)).toBeUndefined();
    expect(await backoffOnNoCandidate()).toBeUndefined();

    // One pending backoff per store (store 0: client-go's nil store); a later one replaces it.
    const pending = (): bigint[] =>
      [0n, 1n, 2n, 10n].filter((id) => {
        const p = selector.takePendingBackoff(id);
        if (p !== undefined) selector.addPendingBackoff(id, p);
        return p !== undefined;
      });
    selector.addPendingBackoff(0n, { kind: BackoffKinds.regionScheduling, error: new Error('err-0') });
    expect(pending()).toHaveLength(1);
    selector.addPendingBackoff(1n, { kind: BackoffKinds.tikvRPC, error: new Error('err-1') });
    expect(pending()).toHaveLength(2);
    selector.addPendingBackoff(2n, { kind: BackoffKinds.tikvDiskFull, error: new Error('err-2') });
    expect(pending()).toHaveLength(3);
    selector.addPendingBackoff(1n, { kind: BackoffKinds.tikvServerBusy, error: new Error('err-3') });
    expect(pending()).toEqual([0n, 1n, 2n]);

    // Retrying on a store applies (and removes) its pending backoff only.
    expect(((await backoffOnRetry(0n)) as Error).message).toBe('err-0');
    expect(pending()).toEqual([1n, 2n]);
    expect(await backoffOnRetry(10n)).toBeUndefined();
    expect(pending()).toEqual([1n, 2n]);
    // No candidate left: the pending backoff with the largest base (tikvServerBusy, 2 s) applies.
    expect(((await backoffOnNoCandidate()) as Error).message).toBe('err-3');
  });

  test('TestReplicaReadAccessPathByStaleReadCase', async () => {
    const mixedStale = { reqType: 'Get', readType: 'mixed', staleRead: true } as const;
    const id2 = { key: 'id', value: '2' };
    await expectCase(
      { ...mixedStale, accessErr: [] },
      { accessPath: path([1, false, true]), backoffDetail: [], regionIsValid: true },
    );
    await expectCase(
      { ...mixedStale, accessErr: ['DataIsNotReadyErr'] },
      {
        accessPath: path([1, false, true], [2, true, false]),
        backoffDetail: [],
        regionIsValid: true,
      },
    );
    // Stale read with a label: the labelled follower, then the leader with a leader read.
    await expectCase(
      { ...mixedStale, label: id2, accessErr: ['DataIsNotReadyErr'] },
      {
        accessPath: path([2, false, true], [1, false, false]),
        backoffDetail: [],
        regionIsValid: true,
      },
    );
    await expectCase(
      { ...mixedStale, accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'] },
      {
        accessPath: path([1, false, true], [2, true, false], [3, true, false]),
        respRegionError: 'fakeEpochNotMatch',
        backoffDetail: ['tikvServerBusy+1'],
        regionIsValid: false,
      },
    );
    await expectCase(
      { ...mixedStale, label: id2, accessErr: ['DataIsNotReadyErr', 'NotLeaderWithNewLeader3Err'] },
      {
        accessPath: path([2, false, true], [1, false, false], [3, false, false]),
        backoffDetail: [],
        regionIsValid: true,
      },
    );
    await expectCase(
      {
        ...mixedStale,
        label: id2,
        accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      },
      {
        accessPath: path([2, false, true], [1, false, false], [2, false, true], [3, false, true]),
        respRegionError: 'fakeEpochNotMatch',
        backoffDetail: ['tikvServerBusy+1'],
        regionIsValid: false,
      },
    );
    await expectCase(
      {
        ...mixedStale,
        accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
        beforeRun: (fx) => changeRegionLeader(fx, 2n),
      },
      {
        accessPath: path([1, false, true], [2, false, false], [3, false, true], [1, false, true]),
        respRegionError: 'fakeEpochNotMatch',
        backoffDetail: ['tikvServerBusy+1'],
        regionIsValid: false,
      },
    );
    // The follower that answered DataIsNotReady is tried once more, as a replica read, after
    // the leader failed (client-go onDataIsNotReady: the replica may serve a normal read).
    await expectCase(
      {
        ...mixedStale,
        label: id2,
        accessErr: ['DataIsNotReadyErr', 'NotLeaderErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      },
      {
        accessPath: path([2, false, true], [1, false, false], [2, true, false], [3, true, false]),
        respRegionError: 'fakeEpochNotMatch',
        backoffDetail: ['regionScheduling+1', 'tikvServerBusy+1'],
        regionIsValid: false,
      },
    );
    await expectCase(
      {
        ...mixedStale,
        label: id2,
        accessErr: [
          'DataIsNotReadyErr',
          'NotLeaderWithNewLeader3Err',
          'ServerIsBusyErr',
          'NotLeaderWithNewLeader2Err',
          'ServerIsBusyErr',
        ],
      },
      {
        accessPath: path(
          [2, false, true],
          [1, false, false],
          [3, false, false],
          [3, false, false],
          [2, false, false],
          [2, false, false],
        ),
        backoffDetail: ['tikvServerBusy+2'],
        regionIsValid: true,
      },
    );
    await expectCase(
      { ...mixedStale, label: id2, accessErr: ['DataIsNotReadyErr', 'RegionNotFoundErr'] },
      {
        accessPath: path([2, false, true], [1, false, false]),
        respRegionError: 'RegionNotFoundErr',
        backoffDetail: [],
        regionIsValid: false,
      },
    );
    await expectCase(
      { ...mixedStale, timeoutMs: 1000, accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'] },
      {
        accessPath: path([1, false, true], [2, false, true], [3, false, true]),
        backoffDetail: [],
        regionIsValid: true,
      },
    );
    await expectCase(
      { ...mixedStale, timeoutMs: 1000, label: id2, accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'] },
      {
        accessPath: path([2, false, true], [1, false, false], [3, false, true]),
        backoffDetail: [],
        regionIsValid: true,
      },
    );
    await expectCase(
      {
        ...mixedStale,
        timeoutMs: 1000,
        label: id2,
        accessErr: ['DeadLineExceededErr', 'DeadLineExceededErr'],
      },
      {
        accessPath: path([2, false, true], [1, false, false], [3, false, true]),
        backoffDetail: [],
        regionIsValid: true,
      },
    );
  });

  test('TestReplicaReadAccessPathByCase2: DataIsNotReady, then NotLeader from the leader, retries the follower', async () => {
    await expectCase(
      {
        reqType: 'Get',
        readType: 'mixed',
        staleRead: true,
        label: { key: 'id', value: '3' },
        accessErr: ['DataIsNotReadyErr', 'NotLeaderErr'],
      },
      {
        accessPath: path([3, false, true], [1, false, false], [3, true, false]),
        backoffDetail: ['regionScheduling+1'],
        regionIsValid: true,
      },
    );
  });

  test('TestReplicaReadAccessPathByCase2: DiskFull backs off once, FlashbackNotPrepared is final', async () => {
    await expectCase(
      {
        reqType: 'Get',
        readType: 'mixed',
        timeoutMs: 1000,
        label: { key: 'id', value: '2' },
        accessErr: ['DeadLineExceededErr', 'DiskFullErr', 'FlashbackNotPreparedErr'],
      },
      {
        accessPath: path([2, true, false], [1, false, false], [3, true, false]),
        respErr: 'RegionError:FlashbackNotPrepared',
        backoffDetail: ['tikvDiskFull+1'],
        regionIsValid: true,
      },
    );
  });

  test('TestReplicaReadAccessPathByBasicCase', async () => {
    const retryable: AccessErr[] = [
      'ServerIsBusyErr',
      'ServerIsBusyWithEstimatedWaitMsErr',
      'StaleCommandErr',
      'MaxTimestampNotSyncedErr',
      'ProposalInMergingModeErr',
      'ReadIndexNotReadyErr',
      'RegionNotInitializedErr',
      'DiskFullErr',
    ];
    const noRetry: AccessErr[] = [
      'RegionNotFoundErr',
      'KeyNotInRegionErr',
      'EpochNotMatchErr',
      'StoreNotMatchErr',
      'RaftEntryTooLargeErr',
      'RecoveryInProgressErr',
      'FlashbackNotPreparedErr',
      'IsWitnessErr',
      'MismatchPeerIdErr',
      'BucketVersionNotMatchErr',
    ];
    for (const reqType of ['Get', 'Prewrite'] as const) {
      for (const readType of ['leader', 'follower', 'mixed', 'preferLeader'] as const) {
        if (reqType === 'Prewrite' && readType !== 'leader') continue;
        for (const staleRead of [false, true]) {
          if (staleRead && readType !== 'mixed') continue;
          for (const tp of retryable) {
            let backoff: string[] = [];
            if (tp === 'ServerIsBusyErr' || tp === 'ServerIsBusyWithEstimatedWaitMsErr') {
              if (readType === 'leader') backoff = ['tikvServerBusy+1'];
            } else if (tp === 'DiskFullErr') backoff = ['tikvDiskFull+1'];
            else if (tp === 'RegionNotInitializedErr') backoff = ['regionNotInitialized+1'];
            else if (tp === 'ReadIndexNotReadyErr' || tp === 'ProposalInMergingModeErr')
              backoff = ['regionScheduling+1'];
            else if (tp === 'MaxTimestampNotSyncedErr') backoff = ['maxTsNotSynced+1'];
            let accessPath = path([1, false, false], [2, true, false]);
            if (readType === 'leader') accessPath = path([1, false, false], [1, false, false]);
            else if (readType === 'follower') {
              if (tp === 'ServerIsBusyErr') backoff = [];
              accessPath = path([2, true, false], [3, true, false]);
            } else if (readType === 'mixed') {
              if (tp === 'ServerIsBusyErr') backoff = [];
              if (staleRead) {
                accessPath =
                  tp === 'ServerIsBusyErr' || tp === 'ServerIsBusyWithEstimatedWaitMsErr'
                    ? path([1, false, true], [2, false, true])
                    : path([1, false, true], [2, true, false]);
              }
            } else if (tp === 'ServerIsBusyErr') backoff = [];
            await expectCase(
              { reqType, readType, staleRead, accessErr: [tp] },
              { accessPath, backoffDetail: backoff, regionIsValid: true },
            );
          }
          for (const tp of noRetry) {
            let backoff: string[] = [];
            let regionIsValid = false;
            let respErr: string | undefined;
            let respRegionError: AccessErr | undefined = tp;
            let accessPath = path([1, false, false]);
            if (tp === 'RecoveryInProgressErr') backoff = ['regionRecoveryInProgress+1'];
            else if (tp === 'IsWitnessErr') backoff = ['isWitness+1'];
            else if (tp === 'BucketVersionNotMatchErr') regionIsValid = true;
            else if (tp === 'RaftEntryTooLargeErr' || tp === 'FlashbackNotPreparedErr') {
              respErr = `RegionError:${tp.replace(/Err$/, '')}`;
              respRegionError = undefined;
              regionIsValid = true;
            }
            if (readType === 'follower') {
              if (tp === 'RegionNotFoundErr') {
                accessPath = path([2, true, false], [1, false, false]);
                respRegionError = undefined;
                regionIsValid = false;
              } else {
                accessPath = path([2, true, false]);
              }
            } else if (readType === 'mixed' && staleRead) {
              accessPath = path([1, false, true]);
            }
            await expectCase(
              { reqType, readType, staleRead, accessErr: [tp] },
              {
                accessPath,
                ...(respErr === undefined ? {} : { respErr }),
                ...(respRegionError === undefined ? {} : { respRegionError }),
                backoffDetail: backoff,
                regionIsValid,
              },
            );
          }
        }
      }
    }
  });
});
