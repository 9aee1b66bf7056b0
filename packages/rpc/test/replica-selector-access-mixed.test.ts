// Ports of client-go internal/locate/replica_selector_test.go's access-path tables: each row runs
// one request through the real RegionRequestSender and RegionCache against scripted answers and
// compares the replicas visited, the outcome, the backoffs and the region's validity (see
// ./access-path.ts for the harness).
import { type AccessPathRow, expectRows, leader, path } from './access-path.js';

const byMixedAndPreferLeaderCase: AccessPathRow[] = [
  {
    ca: { reqType: 'Get', readType: 'mixed', accessErr: [] },
    expect: { accessPath: path([1, false, false]), backoffDetail: [], regionIsValid: true },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      accessErr: ['ServerIsBusyWithEstimatedWaitMsErr', 'StaleCommandErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'mixed', accessErr: ['ServerIsBusyErr', 'RegionNotFoundErr'] },
    expect: {
      accessPath: path([1, false, false], [2, true, false]),
      respRegionError: 'RegionNotFoundErr',
      backoffDetail: [],
      regionIsValid: false,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'mixed', accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'] },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      backoffDetail: ['tikvRPC+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'preferLeader', accessErr: [] },
    expect: { accessPath: path([1, false, false]), backoffDetail: [], regionIsValid: true },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'preferLeader',
      accessErr: ['ServerIsBusyWithEstimatedWaitMsErr', 'StaleCommandErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: false,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'preferLeader', accessErr: ['ServerIsBusyErr', 'RegionNotFoundErr'] },
    expect: {
      accessPath: path([1, false, false], [2, true, false]),
      respRegionError: 'RegionNotFoundErr',
      backoffDetail: [],
      regionIsValid: false,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'preferLeader', accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'] },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      backoffDetail: ['tikvRPC+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'preferLeader',
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      label: { key: 'id', value: '2' },
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([2, true, false], [1, false, false], [3, true, false]),
      backoffDetail: ['tikvRPC+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'preferLeader',
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
      beforeRun: leader(3),
    },
    expect: {
      accessPath: path([3, false, false], [1, true, false], [2, true, false]),
      backoffDetail: ['tikvRPC+1'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'preferLeader',
      label: { key: 'id', value: '2' },
      accessErr: ['DeadLineExceededErr', 'ServerIsBusyErr'],
      beforeRun: leader(3),
    },
    expect: {
      accessPath: path([2, true, false], [3, false, false], [1, true, false]),
      backoffDetail: ['tikvRPC+1'],
      regionIsValid: true,
    },
  },
  {
    shared: [
      {
        ca: { reqType: 'Get', readType: 'preferLeader', accessErr: ['ServerIsBusyErr'] },
        expect: {
          accessPath: path([1, false, false], [2, true, false]),
          backoffDetail: [],
          regionIsValid: true,
        },
      },
      {
        ca: {
          reqType: 'Get',
          readType: 'preferLeader',
          accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
        },
        expect: {
          accessPath: path([2, true, false], [3, true, false], [1, false, false]),
          respRegionError: 'fakeEpochNotMatch',
          backoffDetail: ['tikvServerBusy+1'],
          regionIsValid: false,
        },
      },
    ],
  },
  {
    shared: [
      {
        ca: { reqType: 'Get', readType: 'preferLeader', accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr'] },
        expect: {
          accessPath: path([1, false, false], [2, true, false], [3, true, false]),
          backoffDetail: [],
          regionIsValid: true,
        },
      },
      {
        ca: {
          reqType: 'Get',
          readType: 'preferLeader',
          accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr', 'ServerIsBusyErr'],
        },
        expect: {
          accessPath: path([3, true, false], [1, false, false]),
          respRegionError: 'fakeEpochNotMatch',
          backoffDetail: ['tikvServerBusy+1'],
          regionIsValid: false,
        },
      },
    ],
  },
];

const byTryIdleReplicaCase: AccessPathRow[] = [
  {
    ca: {
      reqType: 'Prewrite',
      readType: 'leader',
      busyThresholdMs: 10,
      accessErr: ['ServerIsBusyErr', 'ServerIsBusyErr'],
    },
    expect: {
      accessPath: path([1, false, false], [1, false, false], [2, false, false]),
      backoffDetail: ['tikvServerBusy+2'],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      busyThresholdMs: 10,
      accessErr: ['ServerIsBusyWithEstimatedWaitMsErr', 'ServerIsBusyWithEstimatedWaitMsErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      busyThresholdMs: 10,
      accessErr: [
        'ServerIsBusyWithEstimatedWaitMsErr',
        'ServerIsBusyWithEstimatedWaitMsErr',
        'ServerIsBusyWithEstimatedWaitMsErr',
      ],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false], [1, false, false]),
      backoffDetail: ['tikvServerBusy+1'],
      regionIsValid: true,
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
];
const byFlashbackInProgressCase: AccessPathRow[] = [
  {
    ca: { reqType: 'Get', readType: 'leader', timeoutMs: 1000, accessErr: ['FlashbackInProgressErr'] },
    expect: {
      accessPath: path([1, false, false]),
      respErr: 'RegionError:FlashbackInProgress',
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'leader',
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'FlashbackInProgressErr', 'FlashbackInProgressErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: { reqType: 'Get', readType: 'mixed', accessErr: ['FlashbackInProgressErr'] },
    expect: {
      accessPath: path([1, false, false]),
      respErr: 'RegionError:FlashbackInProgress',
      backoffDetail: [],
      regionIsValid: true,
    },
  },
  {
    ca: {
      reqType: 'Get',
      readType: 'mixed',
      timeoutMs: 1000,
      accessErr: ['DeadLineExceededErr', 'FlashbackInProgressErr', 'FlashbackInProgressErr'],
    },
    expect: {
      accessPath: path([1, false, false], [2, true, false], [3, true, false]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: [],
      regionIsValid: true,
    },
  },
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
