// Ports of client-go internal/locate/replica_selector_test.go's access-path cases that need more
// than a fresh three-store region: a learner peer, forwarding through a proxy, a slow store (see
// ./access-path.ts for the harness).

import { SyncFlag } from '@tikv/region-cache';
import {
  type AccessErr,
  type AccessPathRow,
  expectRows,
  leader,
  path,
  row,
  runAccessPathCase,
} from './access-path.js';
import type { Fixture } from './sender-fixture.js';

/** A leader read or a prewrite with forwarding through a follower on. */
const proxied = (
  reqType: 'Get' | 'Prewrite',
  accessErr: readonly AccessErr[],
): Parameters<typeof row>[0] => ({ enableForwarding: true, reqType, readType: 'leader', accessErr });

const byProxyCase: AccessPathRow[] = [
  {
    shared: [
      row(proxied('Get', ['DeadLineExceededErr']), {
        accessPath: path([1, false, false], [2, false, false, 1]),
        backoffDetail: ['tikvRPC+1'],
      }),
      row(proxied('Get', []), { accessPath: path([2, false, false, 1]) }),
    ],
  },
  row(proxied('Get', ['DeadLineExceededErr', 'DeadLineExceededErr', 'DeadLineExceededErr']), {
    accessPath: path([1, false, false], [2, false, false, 1], [3, false, false, 1]),
    respRegionError: 'fakeEpochNotMatch',
    // One tikvRPC more than client-go: with only unreachable stores left the sender backs off
    // before its pseudo error (RegionRequestSender.unreachableBackoff).
    backoffDetail: ['tikvRPC+4'],
    regionIsValid: false,
  }),
  row(
    proxied('Get', [
      'DeadLineExceededErr',
      'NotLeaderWithNewLeader2Err',
      'DeadLineExceededErr',
      'ServerIsBusyErr',
    ]),
    {
      accessPath: path([1, false, false], [2, false, false, 1], [2, false, false], [3, false, false, 2]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvRPC+2', 'tikvServerBusy+1'],
      regionIsValid: false,
    },
  ),
  row(
    proxied('Get', [
      'DeadLineExceededErr',
      'ServerIsBusyWithEstimatedWaitMsErr',
      'ServerIsBusyWithEstimatedWaitMsErr',
    ]),
    {
      accessPath: path([1, false, false], [2, false, false, 1], [3, false, false, 1]),
      respRegionError: 'fakeEpochNotMatch',
      backoffDetail: ['tikvRPC+1', 'tikvServerBusy+2'],
      regionIsValid: false,
    },
  ),
  row(proxied('Prewrite', ['NotLeaderErr']), {
    accessPath: path([1, false, false], [2, false, false]),
    backoffDetail: ['regionScheduling+1'],
  }),
  row(proxied('Prewrite', ['DeadLineExceededErr', 'NotLeaderErr']), {
    accessPath: path([1, false, false], [2, false, false, 1], [3, false, false]),
    backoffDetail: ['regionScheduling+1', 'tikvRPC+1'],
  }),
  row(proxied('Prewrite', ['NotLeaderWithNewLeader2Err', 'DeadLineExceededErr', 'NotLeaderErr']), {
    accessPath: path([1, false, false], [2, false, false], [3, false, false, 2]),
    respRegionError: 'fakeEpochNotMatch',
    // One tikvRPC more than client-go: with only unreachable stores left the sender backs off
    // before its pseudo error (RegionRequestSender.unreachableBackoff).
    backoffDetail: ['regionScheduling+1', 'tikvRPC+2'],
    regionIsValid: false,
  }),
];

describe('replica_selector_test.go access paths with learners, proxies and slow stores', () => {
  test('TestReplicaReadAccessPathByLearnerCase: a learner read tries the learner, then the leader', async () => {
    const addLearner = (f: Fixture): void => {
      f.cluster.addStore(4n, 'store4');
      f.cluster.addPeer(f.regionId, 4n, f.cluster.allocId(), 'learner');
    };
    await expectRows([
      row(
        { readType: 'learner', accessErr: ['ServerIsBusyErr'], beforeRun: addLearner },
        { accessPath: path([4, true, false], [1, false, false]) },
      ),
    ]);
  });

  test('TestReplicaReadAccessPathByProxyCase', async () => {
    await expectRows(byProxyCase);
  });

  test('TestReplicaReadAccessPathByProxyCase: a leader that cannot be reached, then busy proxies, leaves the leader replica with a stale epoch', async () => {
    const r = await runAccessPathCase({
      enableForwarding: true,
      reqType: 'Get',
      readType: 'leader',
      accessErr: [
        'DeadLineExceededErr',
        'ServerIsBusyWithEstimatedWaitMsErr',
        'ServerIsBusyWithEstimatedWaitMsErr',
      ],
      afterRun: (f, verId) => {
        const region = f.cache.getCachedRegion(verId)!;
        const leaderStore = f.cache.getStore(f.storeIds[0]!)!;
        expect(region.rs.storeEpochs[0]).toBeLessThan(leaderStore.epoch);
        // Every follower was tried as a proxy: the region reloads on next access.
        expect(region.checkSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS)).toBe(true);
      },
    });
    expect(r.regionIsValid).toBe(false);
  });

  test('TestReplicaReadAvoidSlowStore: a slow store is avoided unless a label asks for it', async () => {
    const rows: AccessPathRow[] = [];
    // The leader is on store 3; store 1 is the closest follower, and the slow one.
    const slow1 = async (f: Fixture): Promise<void> => {
      leader(3)(f);
      await f.region();
      f.cache.getStore(1n)!.health.updateTikvSlowScore(100, f.clock.now());
    };
    for (const staleRead of [false, true]) {
      for (const withLabel of [false, true]) {
        const base = {
          reqType: 'Get',
          readType: 'mixed',
          ...(staleRead ? { staleRead: true } : {}),
          ...(withLabel ? { label: { key: 'id', value: '1' } } : {}),
        } as const;
        // Not slow: store 1 first.
        rows.push(
          row(
            { ...base, accessErr: [], beforeRun: leader(3) },
            { accessPath: path([1, !staleRead, staleRead]) },
          ),
        );
        // Slow: another follower, or the leader when a label is asked for.
        const first = withLabel ? 3 : 2;
        rows.push(
          row(
            { ...base, accessErr: [], beforeRun: slow1 },
            { accessPath: path([first, !staleRead && first !== 3, staleRead]) },
          ),
        );
        // Not slow, but busy: the leader next (a stale read falls back to a leader read), or
        // without a label and without stale read any other replica.
        const second: [number, boolean, boolean] =
          staleRead || withLabel ? [3, false, false] : [2, true, false];
        rows.push(
          row(
            { ...base, accessErr: ['ServerIsBusyErr'], beforeRun: leader(3) },
            { accessPath: path([1, !staleRead, staleRead], second) },
          ),
        );
        // Slow and busy.
        const slowSecond: [number, boolean, boolean] =
          first === 3 ? (staleRead ? [2, false, true] : [2, true, false]) : [3, false, false];
        rows.push(
          row(
            { ...base, accessErr: ['ServerIsBusyErr'], beforeRun: slow1 },
            { accessPath: path([first, !staleRead && first !== 3, staleRead], slowSecond) },
          ),
        );
      }
    }
    await expectRows(rows);
  });
});
