/** Requests TiKV refuses (or takes as they are): the mock must answer the same, never crash. */
import { kvrpcpb } from '@tikv/proto';
import type { Scenario } from '../scenario.js';
import { ownRegion } from './admin.js';
import { get, mvcc, prewrite, put, val } from './helpers.js';

export const badRequests: Scenario[] = [
  {
    name: 'bad-requests',
    origin: 'issue 12: missing primary, wrong epoch, oversized keys, unknown region, wrong store',
    modes: ['v1', 'v2'],
    async run(s) {
      // A region of its own, so that the regions around it (which EpochNotMatch lists) are alike.
      await ownRegion(s);
      const k = s.key('k');
      const t = await s.ts('t');
      // No primary: TiKV writes the locks with an empty primary.
      await prewrite(s, 'prewrite.noPrimary', [put(k, 'v')], t, { primaryLock: new Uint8Array(0) });
      await get(s, 'get.noPrimaryLock', k, await s.ts('read'));
      await s.call('rollback', 'kvBatchRollback', { keys: [k], startVersion: t });
      // No mutations: not sent, TiKV panics on it ("write lock is expected for command").
      const route = await s.route(k);
      const epoch = route.context.regionEpoch!;
      const u = await s.ts('u');
      await s.call(
        'prewrite.epochVersionBehind',
        'kvPrewrite',
        { mutations: [put(k, 'v')], primaryLock: k, startVersion: u },
        { context: { regionEpoch: { confVer: epoch.confVer, version: epoch.version - 1n } } },
      );
      await s.call(
        'prewrite.epochConfVerBehind',
        'kvPrewrite',
        { mutations: [put(k, 'v')], primaryLock: k, startVersion: u },
        { context: { regionEpoch: { confVer: epoch.confVer - 1n, version: epoch.version } } },
      );
      await s.call(
        'prewrite.epochAhead',
        'kvPrewrite',
        { mutations: [put(k, 'v')], primaryLock: k, startVersion: u },
        { context: { regionEpoch: { confVer: epoch.confVer, version: epoch.version + 5n } } },
      );
      await s.call('get.unknownRegion', 'kvGet', { key: k, version: u }, { context: { regionId: 999_999n } });
      await s.call(
        'get.wrongStore',
        'kvGet',
        { key: k, version: u },
        {
          context: { peer: { id: route.context.peer!.id, storeId: 999n } },
        },
      );
      await s.call(
        'get.wrongPeer',
        'kvGet',
        { key: k, version: u },
        {
          context: { peer: { id: 999_999n, storeId: route.context.peer!.storeId } },
        },
      );
      await s.call('get.noEpoch', 'kvGet', { key: k, version: u }, { context: { regionEpoch: undefined } });
      // Oversized keys: TiKV measures the memcomparable-encoded key against max-key-size (8 KiB).
      const big = s.key('b'.repeat(8 * 1024));
      await s.call('prewrite.keyTooLarge', 'kvPrewrite', {
        mutations: [put(big, 'v')],
        primaryLock: big,
        startVersion: u,
      });
      await s.call('lock.keyTooLarge', 'kvPessimisticLock', {
        mutations: [{ op: kvrpcpb.Op.PessimisticLock, key: big }],
        primaryLock: big,
        startVersion: u,
        forUpdateTs: u,
        waitTimeout: -1n,
      });
      await s.call('get.keyTooLarge', 'kvGet', { key: big, version: u });
      await s.call('commit.keyTooLarge', 'kvCommit', { keys: [big], startVersion: u, commitVersion: u + 1n });
      // A value over the raft entry limit (8 MiB).
      await s.call('prewrite.valueTooLarge', 'kvPrewrite', {
        mutations: [{ op: 0, key: s.key('huge'), value: new Uint8Array(9 * 1024 * 1024), assertion: 0 }],
        primaryLock: s.key('huge'),
        startVersion: u,
      });
      await mvcc(s, 'mvcc.huge', s.key('huge'));
      // start ts 0.
      await s.call('prewrite.zeroStartTs', 'kvPrewrite', {
        mutations: [put(s.key('z'), 'v')],
        primaryLock: s.key('z'),
        startVersion: 0n,
      });
      await mvcc(s, 'mvcc.z', s.key('z'));
      // An empty key.
      await s.call('get.emptyKey', 'kvGet', { key: new Uint8Array(0), version: u }, { routeKey: k });
      // A scan whose end is before its start.
      await s.call('scan.inverted', 'kvScan', {
        startKey: s.key('z'),
        endKey: s.key('a'),
        limit: 10,
        version: u,
      });
      // An operation prewrite does not take (Rollback, PessimisticLock): not sent, TiKV panics on
      // it ("mismatch Op in prewrite mutations").
    },
  },
  {
    name: 'api-version-mismatch',
    origin: 'storage::check_api_version: the request version must match the storage',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      const t = await s.ts('t');
      const other = s.target.mode === 'v2' ? kvrpcpb.APIVersion.V1 : kvrpcpb.APIVersion.V2;
      await s.call('get.otherVersion', 'kvGet', { key: k, version: t }, { context: { apiVersion: other } });
      await s.call(
        'prewrite.otherVersion',
        'kvPrewrite',
        {
          mutations: [put(k, 'v')],
          primaryLock: k,
          startVersion: t,
        },
        { context: { apiVersion: other } },
      );
      await s.call(
        'get.v1ttl',
        'kvGet',
        { key: k, version: t },
        { context: { apiVersion: kvrpcpb.APIVersion.V1TTL } },
      );
      if (s.target.mode === 'v2') {
        // Raw-mode and unprefixed keys in a transactional request.
        const raw = new Uint8Array([0x72, 0, 0, 0, ...val('k')]);
        await s.call('get.rawKey', 'kvGet', { key: raw, version: t }, { routeKey: k });
        await s.call(
          'prewrite.rawKey',
          'kvPrewrite',
          {
            mutations: [put(raw, 'v')],
            primaryLock: raw,
            startVersion: t,
          },
          { routeKey: k },
        );
        await s.call(
          'scan.rawRange',
          'kvScan',
          { startKey: raw, endKey: k, limit: 1, version: t },
          { routeKey: k },
        );
      }
    },
  },
];
