// Access-path rows that client-go's replica_selector_test.go lists in more than one table.
import { type AccessErr, type AccessPathRow, path, row, times } from './access-path.js';

/** A leader read with a busy threshold: NotLeader, NotLeader naming store 3, store 3 busy, then `last`. */
const notLeaderThenBusy = (last: AccessErr): Parameters<typeof row>[0] => ({
  readType: 'leader',
  busyThresholdMs: 10,
  accessErr: ['NotLeaderErr', 'NotLeaderWithNewLeader3Err', 'ServerIsBusyWithEstimatedWaitMsErr', last],
});

/**
 * A leader read with a busy threshold meeting NotLeader answers, then a busy leader: listed in
 * both `TestReplicaReadAccessPathByLeaderCase` and `TestReplicaReadAccessPathByTryIdleReplicaCase`.
 */
export const busyThresholdNotLeaderRows: readonly AccessPathRow[] = [
  row(notLeaderThenBusy('NotLeaderErr'), {
    accessPath: path(
      [1, false, false],
      [2, false, false],
      ...times<[number, boolean, boolean]>(2, [3, false, false]),
    ),
    respRegionError: 'fakeEpochNotMatch',
    backoffDetail: ['regionScheduling+2', 'tikvServerBusy+1'],
    regionIsValid: false,
  }),
  row(notLeaderThenBusy('ServerIsBusyErr'), {
    accessPath: path(
      [1, false, false],
      [2, false, false],
      ...times<[number, boolean, boolean]>(3, [3, false, false]),
    ),
    backoffDetail: ['regionScheduling+1', 'tikvServerBusy+2'],
  }),
];
