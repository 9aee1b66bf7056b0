// Ports of client-go internal/locate/replica_selector_test.go's access-path tables: each row runs
// one request through the real RegionRequestSender and RegionCache against scripted answers and
// compares the replicas visited, the outcome, the backoffs and the region's validity (see
// ./access-path.ts for the harness).
import { type AccessPathRow, expectRows, leader, path, row, times } from './access-path.js';
import { busyThresholdNotLeaderRows } from './replica-selector-access-shared-rows.js';

const label2 = { key: 'id', value: '2' } as const;
const lostRegion = { respRegionError: 'fakeEpochNotMatch', regionIsValid: false } as const;

const byCase: AccessPathRow[] = [
  row(
    { readType: 'mixed', staleRead: true, accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr'] },
    { accessPath: path([1, false, true], [2, true, false], [3, true, false]) },
  ),
  row(
    { readType: 'mixed', staleRead: true, label: label2, accessErr: ['DataIsNotReadyErr'] },
    { accessPath: path([2, false, true], [1, false, false]) },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      label: label2,
      accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr'],
    },
    { accessPath: path([2, false, true], [1, false, false], [2, false, true]) },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 1000,
      label: label2,
      accessErr: ['DataIsNotReadyErr', 'NotLeaderWithNewLeader2Err'],
    },
    { accessPath: path([2, false, true], [1, false, false], [2, false, false]) },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 1000,
      label: label2,
      accessErr: ['DeadLineExceededErr', 'NotLeaderWithNewLeader2Err'],
    },
    { accessPath: path([2, false, true], [1, false, false], [3, false, true]) },
  ),
  row(
    { readType: 'leader', timeoutMs: 1000, accessErr: ['DeadLineExceededErr'] },
    { accessPath: path([1, false, false], [2, true, false]) },
  ),
  row(
    { readType: 'leader', timeoutMs: 1000, accessErr: ['NotLeaderWithNewLeader3Err', 'DeadLineExceededErr'] },
    { accessPath: path([1, false, false], [3, false, false], [2, true, false]) },
  ),
  row(
    {
      reqType: 'Prewrite',
      readType: 'leader',
      timeoutMs: 1000,
      accessErr: ['NotLeaderWithNewLeader3Err', 'DeadLineExceededErr'],
    },
    {
      accessPath: path([1, false, false], [3, false, false], [2, false, false]),
      backoffDetail: ['tikvRPC+1'],
    },
  ),
  row(
    {
      readType: 'leader',
      timeoutMs: 1000,
      accessErr: ['NotLeaderErr', 'DeadLineExceededErr', 'NotLeaderWithNewLeader2Err'],
    },
    {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['regionScheduling+1'],
    },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
    },
    {
      accessPath: path([1, false, true], [2, false, true], [3, false, true]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
    },
  ),
  row(
    {
      readType: 'mixed',
      timeoutMs: 1000,
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr', 'DeadLineExceededErr'],
    },
    {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
    },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      label: { key: 'id', value: '3' },
      accessErr: times(2, 'ServerIsBusyErr'),
    },
    { accessPath: path([3, false, true], [1, false, false], [2, false, true]) },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      label: label2,
      accessErr: ['DataIsNotReadyErr', ...times(3, 'ServerIsBusyErr' as const)],
    },
    {
      accessPath: path([2, false, true], [1, false, false], [2, false, true], [3, false, true]),
      backoffDetail: ['tikvServerBusy+1'],
      ...lostRegion,
    },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      beforeRun: leader(2),
    },
    { accessPath: path([1, false, true], [2, false, false], [3, false, true], [1, false, true]) },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      accessErr: ['DataIsNotReadyErr', ...times(3, 'ServerIsBusyErr' as const)],
      beforeRun: leader(2),
    },
    {
      accessPath: path([1, false, true], [2, false, false], [3, false, true], [1, false, true]),
      backoffDetail: ['tikvServerBusy+1'],
      ...lostRegion,
    },
  ),
  row(
    {
      readType: 'mixed',
      timeoutMs: 1000,
      label: label2,
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
    },
    { accessPath: path([2, true, false], [1, false, false], [3, true, false]) },
  ),
  row(
    {
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 0.1,
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyWithEstimatedWaitMsErr'],
    },
    { accessPath: path([1, false, true], [2, false, true], [3, false, true]) },
  ),
  row(
    { readType: 'mixed', accessErr: times(3, 'ServerIsBusyErr'), beforeRun: leader(3) },
    {
      accessPath: path([1, true, false], [2, true, false], [3, false, false]),
      backoffDetail: ['tikvServerBusy+1'],
      ...lostRegion,
    },
  ),
  row(
    { readType: 'preferLeader', accessErr: times(3, 'ServerIsBusyErr'), beforeRun: leader(3) },
    {
      accessPath: path([3, false, false], [1, true, false], [2, true, false]),
      backoffDetail: ['tikvServerBusy+1'],
      ...lostRegion,
    },
  ),
  row(
    { readType: 'preferLeader', label: label2, accessErr: times(3, 'ServerIsBusyErr'), beforeRun: leader(3) },
    {
      accessPath: path([2, true, false], [3, false, false], [1, true, false]),
      backoffDetail: ['tikvServerBusy+1'],
      ...lostRegion,
    },
  ),
];

const byLeaderCase: AccessPathRow[] = [
  row({ readType: 'leader', accessErr: [] }, { accessPath: path([1, false, false]) }),
  row(
    { readType: 'leader', accessErr: ['ServerIsBusyWithEstimatedWaitMsErr', 'ServerIsBusyErr'] },
    {
      accessPath: path(...times<[number, boolean, boolean]>(3, [1, false, false])),
      backoffDetail: ['tikvServerBusy+2'],
    },
  ),
  row(
    { readType: 'leader', accessErr: times(11, 'ServerIsBusyErr') },
    {
      accessPath: path(
        [1, false, false],
        [1, false, false],
        [2, false, false],
        [3, false, false],
        ...times<[number, boolean, boolean]>(8, [1, false, false]),
      ),
      backoffDetail: ['tikvServerBusy+11'],
    },
  ),
  row(
    { readType: 'leader', accessErr: ['NotLeaderErr'] },
    { accessPath: path([1, false, false], [2, false, false]), backoffDetail: ['regionScheduling+1'] },
  ),
  row(
    { readType: 'leader', accessErr: times(2, 'NotLeaderErr') },
    {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      backoffDetail: ['regionScheduling+2'],
    },
  ),
  row(
    { readType: 'leader', accessErr: times(3, 'NotLeaderErr') },
    {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      backoffDetail: ['regionScheduling+3'],
      ...lostRegion,
    },
  ),
  row(
    { readType: 'leader', accessErr: ['NotLeaderWithNewLeader3Err'] },
    { accessPath: path([1, false, false], [3, false, false]) },
  ),
  row(
    { readType: 'leader', accessErr: ['NotLeaderWithNewLeader3Err', 'ServerIsBusyErr'] },
    {
      accessPath: path([1, false, false], [3, false, false], [3, false, false]),
      backoffDetail: ['tikvServerBusy+1'],
    },
  ),
  row(
    { readType: 'leader', accessErr: ['DeadLineExceededErr'] },
    { accessPath: path([1, false, false], [2, false, false]), backoffDetail: ['tikvRPC+1'] },
  ),
  row(
    {
      readType: 'leader',
      accessErr: ['DeadLineExceededErr', 'NotLeaderWithNewLeader1Err', 'NotLeaderWithNewLeader1Err'],
    },
    {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      // One tikvRPC more than client-go: with only unreachable stores left the sender backs off
      // before its pseudo error (RegionRequestSender.unreachableBackoff).
      backoffDetail: ['tikvRPC+2'],
      ...lostRegion,
    },
  ),
  row(
    { readType: 'leader', accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr', 'ServerIsBusyErr'] },
    {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      backoffDetail: ['tikvRPC+1', 'tikvServerBusy+1'],
      ...lostRegion,
    },
  ),
  ...busyThresholdNotLeaderRows,
  {
    shared: [
      row(
        { readType: 'leader', accessErr: ['NotLeaderErr'] },
        { accessPath: path([1, false, false], [2, false, false]), backoffDetail: ['regionScheduling+1'] },
      ),
      row(
        { readType: 'leader', accessErr: ['NotLeaderWithNewLeader3Err'] },
        { accessPath: path([2, false, false], [3, false, false]) },
      ),
      row(
        { readType: 'leader', accessErr: ['ServerIsBusyErr'] },
        { accessPath: path([3, false, false], [3, false, false]), backoffDetail: ['tikvServerBusy+1'] },
      ),
    ],
  },
];

describe('replica_selector_test.go access-path tables (leader and stale reads)', () => {
  test('TestReplicaReadAccessPathByCase', async () => {
    await expectRows(byCase);
  });
  test('TestReplicaReadAccessPathByLeaderCase', async () => {
    await expectRows(byLeaderCase);
  });
});
