// Ports of client-go internal/locate/replica_selector_test.go's access-path tables: each row runs
// one request through the real RegionRequestSender and RegionCache against scripted answers and
// compares the replicas visited, the outcome, the backoffs and the region's validity (see
// ./access-path.ts for the harness).
import { type AccessPathRow, expectRows, leader, path } from './access-path.js';

const byCase: AccessPathRow[] = [
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, true], [2, true, false], [3, true, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      label: { key: 'id', value: '2' },
      accessErr: ['DataIsNotReadyErr'],
    },
    expect: { accessPath: path([2, false, true], [1, false, false]), backoffDetail: [], regionIsValid: true },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      label: { key: 'id', value: '2' },
      accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([2, false, true], [1, false, false], [2, false, true]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 1000,
      label: { key: 'id', value: '2' },
      accessErr: ['DataIsNotReadyErr', 'NotLeaderWithNewLeader2Err'],
    },
    expect: {
      accessPath: path([2, false, true], [1, false, false], [2, false, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 1000,
      label: { key: 'id', value: '2' },
      accessErr: ['DeadLineExceededErr', 'NotLeaderWithNewLeader2Err'],
    },
    expect: {
      accessPath: path([2, false, true], [1, false, false], [3, false, true]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'leader', timeoutMs: 1000, accessErr: ['DeadLineExceededErr'] },
    expect: { accessPath: path([1, false, false], [2, true, false]), backoffDetail: [], regionIsValid: true },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      timeoutMs: 1000,
      accessErr: ['NotLeaderWithNewLeader3Err', 'DeadLineExceededErr'],
    },
    expect: {
      accessPath: path([1, false, false], [3, false, false], [2, true, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Prewrite',
      readType: 'leader',
      timeoutMs: 1000,
      accessErr: ['NotLeaderWithNewLeader3Err', 'DeadLineExceededErr'],
    },
    expect: {
      accessPath: path([1, false, false], [3, false, false], [2, false, false]),
      backoffDetail: ['tikvRPC+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      timeoutMs: 1000,
      accessErr: ['NotLeaderErr', 'DeadLineExceededErr', 'NotLeaderWithNewLeader2Err'],
    },
    expect: {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['regionScheduling+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, true], [2, false, true], [3, false, true]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      timeoutMs: 1000,
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr', 'DeadLineExceededErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      label: { key: 'id', value: '3' },
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([3, false, true], [1, false, false], [2, false, true]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      label: { key: 'id', value: '2' },
      accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([2, false, true], [1, false, false], [2, false, true], [3, false, true]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      beforeRun: leader(2),
    },
    expect: {
      accessPath: path([1, false, true], [2, false, false], [3, false, true], [1, false, true]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      accessErr: ['DataIsNotReadyErr', 'ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      beforeRun: leader(2),
    },
    expect: {
      accessPath: path([1, false, true], [2, false, false], [3, false, true], [1, false, true]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      timeoutMs: 1000,
      label: { key: 'id', value: '2' },
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([2, true, false], [1, false, false], [3, true, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      staleRead: true,
      timeoutMs: 0.1,
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyWithEstimatedWaitMsErr'],
    },
    expect: {
      accessPath: path([1, false, true], [2, false, true], [3, false, true]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      beforeRun: leader(3),
    },
    expect: {
      accessPath: path([1, true, false], [2, true, false], [3, false, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'preferLeader',
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      beforeRun: leader(3),
    },
    expect: {
      accessPath: path([3, false, false], [1, true, false], [2, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'preferLeader',
      label: { key: 'id', value: '2' },
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
      beforeRun: leader(3),
    },
    expect: {
      accessPath: path([2, true, false], [3, false, false], [1, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
];

const byLeaderCase: AccessPathRow[] = [
  {
    ca: { reqType: 'Get', readType: 'leader', accessErr: [] },
    expect: { accessPath: path([1, false, false]), backoffDetail: [], regionIsValid: true },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      accessErr: ['ServerIsBusyWithEstimatedWaitMsErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, false], [1, false, false], [1, false, false]),
      backoffDetail: ['tikvServerBusy+2'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      accessErr: [
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
        'ServerIsBusyErr',
      ],
    },
    expect: {
      accessPath: path(
        [1, false, false],
        [1, false, false],
        [2, false, false],
        [3, false, false],
        [1, false, false],
        [1, false, false],
        [1, false, false],
        [1, false, false],
        [1, false, false],
        [1, false, false],
        [1, false, false],
        [1, false, false],
      ),
      backoffDetail: ['tikvServerBusy+11'],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'leader', accessErr: ['NotLeaderErr'] },
    expect: {
      accessPath: path([1, false, false], [2, false, false]),
      backoffDetail: ['regionScheduling+1'],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'leader', accessErr: ['NotLeaderErr', 'NotLeaderErr'] },
    expect: {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      backoffDetail: ['regionScheduling+2'],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'leader', accessErr: ['NotLeaderErr', 'NotLeaderErr', 'NotLeaderErr'] },
    expect: {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['regionScheduling+3'],
      regionIsValid: false,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'leader', accessErr: ['NotLeaderWithNewLeader3Err'] },
    expect: {
      accessPath: path([1, false, false], [3, false, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'leader', accessErr: ['NotLeaderWithNewLeader3Err', 'ServerIsBusyErr'] },
    expect: {
      accessPath: path([1, false, false], [3, false, false], [3, false, false]),
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'leader', accessErr: ['DeadLineExceededErr'] },
    expect: {
      accessPath: path([1, false, false], [2, false, false]),
      backoffDetail: ['tikvRPC+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      accessErr: ['DeadLineExceededErr', 'NotLeaderWithNewLeader1Err', 'NotLeaderWithNewLeader1Err'],
    },
    expect: {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      respRegionError: 'fakeEpochNotMatch',
      // One tikvRPC more than client-go: with only unreachable stores left the sender backs off
      // before its pseudo error (RegionRequestSender.unreachableBackoff).
      backoffDetail: ['tikvRPC+2'],
      regionIsValid: false,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, false, false], [3, false, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvRPC+1', 'tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      busyThresholdMs: 10,
      accessErr: [
        'NotLeaderErr',
        'NotLeaderWithNewLeader3Err',
        'ServerIsBusyWithEstimatedWaitMsErr',
        'NotLeaderErr',
      ],
    },
    expect: {
      accessPath: path([1, false, false], [2, false, false], [3, false, false], [3, false, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['regionScheduling+2', 'tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      busyThresholdMs: 10,
      accessErr: [
        'NotLeaderErr',
        'NotLeaderWithNewLeader3Err',
        'ServerIsBusyWithEstimatedWaitMsErr',
        'ServerIsBusyErr',
      ],
    },
    expect: {
      accessPath: path(
        [1, false, false],
        [2, false, false],
        [3, false, false],
        [3, false, false],
        [3, false, false],
      ),
      backoffDetail: ['regionScheduling+1', 'tikvServerBusy+2'],
      regionIsValid: true,
    },
  },
  {
    shared: [
      {
        ca: { reqType: 'Get', readType: 'leader', accessErr: ['NotLeaderErr'] },
        expect: {
          accessPath: path([1, false, false], [2, false, false]),
          backoffDetail: ['regionScheduling+1'],
          regionIsValid: true,
        },
      },
      {
        ca: { reqType: 'Get', readType: 'leader', accessErr: ['NotLeaderWithNewLeader3Err'] },
        expect: {
          accessPath: path([2, false, false], [3, false, false]),
          backoffDetail: [],
          regionIsValid: true,
        },
      },
      {
        ca: { reqType: 'Get', readType: 'leader', accessErr: ['ServerIsBusyErr'] },
        expect: {
          accessPath: path([3, false, false], [3, false, false]),
          backoffDetail: ['tikvServerBusy+1'],
          regionIsValid: true,
        },
      },
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
