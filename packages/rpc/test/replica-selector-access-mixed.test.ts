// Ports of client-go internal/locate/replica_selector_test.go's access-path tables: each row runs
// one request through the real RegionRequestSender and RegionCache against scripted answers and
// compares the replicas visited, the outcome, the backoffs and the region's validity (see
// ./access-path.ts for the harness).
import { type AccessPathRow, expectRows, leader, path, row, times } from './access-path.js';
import { busyThresholdNotLeaderRows } from './replica-selector-access-shared-rows.js';

/** The rows client-go lists once for mixed and once for prefer-leader reads: the same answers. */
const followerFallbackRows = (readType: 'mixed' | 'preferLeader'): AccessPathRow[] => [
  row({ readType, accessErr: [] }, { accessPath: path([1, false, false]) }),
  row(
    { readType, accessErr: ['ServerIsBusyWithEstimatedWaitMsErr', 'StaleCommandErr', 'ServerIsBusyErr'] },
    {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  ),
  row(
    { readType, accessErr: ['ServerIsBusyErr', 'RegionNotFoundErr'] },
    {
      accessPath: path([1, false, false], [2, true, false]),
      respRegionError: 'RegionNotFoundErr',
      regionIsValid: false,
    },
  ),
  row(
    { readType, accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'] },
    { accessPath: path([1, false, false], [2, true, false], [3, true, false]), backoffDetail: ['tikvRPC+1'] },
  ),
  row(
    { readType, timeoutMs: 1000, accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'] },
    { accessPath: path([1, false, false], [2, true, false], [3, true, false]) },
  ),
];

const byMixedAndPreferLeaderCase: AccessPathRow[] = [
  ...followerFallbackRows('mixed'),
  ...followerFallbackRows('preferLeader'),
  row(
    {
      readType: 'mixed',
      label: { key: 'id', value: '2' },
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
    },
    { accessPath: path([2, true, false], [1, false, false], [3, true, false]), backoffDetail: ['tikvRPC+1'] },
  ),
  row(
    { readType: 'preferLeader', accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'], beforeRun: leader(3) },
    { accessPath: path([3, false, false], [1, true, false], [2, true, false]), backoffDetail: ['tikvRPC+1'] },
  ),
  row(
    {
      readType: 'preferLeader',
      label: { key: 'id', value: '2' },
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
      beforeRun: leader(3),
    },
    { accessPath: path([2, true, false], [3, false, false], [1, true, false]), backoffDetail: ['tikvRPC+1'] },
  ),
  {
    shared: [
      row(
        { readType: 'preferLeader', accessErr: ['ServerIsBusyErr'] },
        { accessPath: path([1, false, false], [2, true, false]) },
      ),
      row(
        { readType: 'preferLeader', accessErr: times(3, 'ServerIsBusyErr') },
        {
          accessPath: path([2, true, false], [3, true, false], [1, false, false]),
          respRegionError: 'fakeEpochNotMatch',
          backoffDetail: ['tikvServerBusy+1'],
          regionIsValid: false,
        },
      ),
    ],
  },
  {
    shared: [
      row(
        { readType: 'preferLeader', accessErr: times(2, 'ServerIsBusyErr') },
        { accessPath: path([1, false, false], [2, true, false], [3, true, false]) },
      ),
      row(
        { readType: 'preferLeader', accessErr: times(3, 'ServerIsBusyErr') },
        {
          accessPath: path([3, true, false], [1, false, false]),
          respRegionError: 'fakeEpochNotMatch',
          backoffDetail: ['tikvServerBusy+1'],
          regionIsValid: false,
        },
      ),
    ],
  },
];

const byTryIdleReplicaCase: AccessPathRow[] = [
  row(
    { reqType: 'Prewrite', readType: 'leader', busyThresholdMs: 10, accessErr: times(2, 'ServerIsBusyErr') },
    {
      accessPath: path([1, false, false], [1, false, false], [2, false, false]),
      backoffDetail: ['tikvServerBusy+2'],
    },
  ),
  row(
    { readType: 'leader', busyThresholdMs: 10, accessErr: times(2, 'ServerIsBusyWithEstimatedWaitMsErr') },
    { accessPath: path([1, false, false], [2, true, false], [3, true, false]) },
  ),
  row(
    { readType: 'leader', busyThresholdMs: 10, accessErr: times(3, 'ServerIsBusyWithEstimatedWaitMsErr') },
    {
      accessPath: path([1, false, false], [2, true, false], [3, true, false], [1, false, false]),
      backoffDetail: ['tikvServerBusy+1'],
    },
  ),
  ...busyThresholdNotLeaderRows,
];

const byFlashbackInProgressCase: AccessPathRow[] = [
  row(
    { readType: 'leader', timeoutMs: 1000, accessErr: ['FlashbackInProgressErr'] },
    { accessPath: path([1, false, false]), respErr: 'RegionError:FlashbackInProgress' },
  ),
  row(
    {
      readType: 'leader',
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'FlashbackInProgressErr', 'FlashbackInProgressErr'],
    },
    {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
    },
  ),
  row(
    { readType: 'mixed', accessErr: ['FlashbackInProgressErr'] },
    { accessPath: path([1, false, false]), respErr: 'RegionError:FlashbackInProgress' },
  ),
  row(
    {
      readType: 'mixed',
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'FlashbackInProgressErr', 'FlashbackInProgressErr'],
    },
    {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
    },
  ),
];

describe('replica_selector_test.go access-path tables (mixed, prefer-leader, idle replicas, flashback)', () => {
  test('TestReplicaReadAccessPathByMixedAndPreferLeaderCase', async () => {
    await expectRows(byMixedAndPreferLeaderCase);
  });
  test('TestReplicaReadAccessPathByTryIdleReplicaCase', async () => {
    await expectRows(byTryIdleReplicaCase);
  });
  test('TestReplicaReadAccessPathByFlashbackInProgressCase', async () => {
    await expectRows(byFlashbackInProgressCase);
  });
});
