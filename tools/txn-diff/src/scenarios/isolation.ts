/** Reads under SI, RC and RCCheckTS, with resolved and committed locks, at ts = MAX. */
import { kvrpcpb } from '@tikv/proto';
import type { Scenario } from '../scenario.js';
import { get, lockKeys, prewrite, put, write } from './helpers.js';

const { IsolationLevel } = kvrpcpb;
const MAX = (1n << 64n) - 1n;

export const isolation: Scenario[] = [
  {
    name: 'read-isolation-and-bypass',
    origin:
      'point_getter.rs test_locked, test_get_bypass_locks, test_get_access_locks, test_point_get_check_rc_ts, test_get_latest_value',
    modes: ['v1', 'v2'],
    async run(s) {
      const [p, a, b] = [s.key('p'), s.key('a'), s.key('b')];
      await write(s, 'w', [put(a, 'old'), put(b, 'bold')]);
      const t = await s.ts('t');
      await prewrite(
        s,
        'prewrite',
        [put(p, 'new'), put(a, 'new'), { op: 1, key: b, value: new Uint8Array(0), assertion: 0 }],
        t,
      );
      const r = await s.ts('r');
      await get(s, 'si', a, r);
      await s.call(
        'rc.get',
        'kvGet',
        { key: a, version: r },
        { context: { isolationLevel: IsolationLevel.RC } },
      );
      await s.call(
        'rcCheckTs.get',
        'kvGet',
        { key: a, version: r },
        { context: { isolationLevel: IsolationLevel.RCCheckTS } },
      );
      await s.call(
        'rc.scan',
        'kvScan',
        { startKey: s.key(''), endKey: s.key('~'), limit: 10, version: r },
        {
          context: { isolationLevel: IsolationLevel.RC },
        },
      );
      await s.call(
        'rcCheckTs.scan',
        'kvScan',
        { startKey: s.key(''), endKey: s.key('~'), limit: 10, version: r },
        {
          context: { isolationLevel: IsolationLevel.RCCheckTS },
        },
      );
      // A read below the lock does not see it.
      await get(s, 'si.belowLock', a, t - 1n);
      // resolved_locks: the lock's transaction is known rolled back, read through it.
      await s.call('bypass.get', 'kvGet', { key: a, version: r }, { context: { resolvedLocks: [t] } });
      await s.call(
        'bypass.batchGet',
        'kvBatchGet',
        { keys: [a, b, p], version: r },
        { context: { resolvedLocks: [t] } },
      );
      // committed_locks: the lock's transaction is known committed below the read: read its value.
      await s.call('access.get', 'kvGet', { key: a, version: r }, { context: { committedLocks: [t] } });
      await s.call(
        'access.getDeleted',
        'kvGet',
        { key: b, version: r },
        { context: { committedLocks: [t] } },
      );
      await s.call(
        'access.scan',
        'kvScan',
        { startKey: s.key(''), endKey: s.key('~'), limit: 10, version: r },
        {
          context: { committedLocks: [t] },
        },
      );
      // ts = MAX: a 2PC primary lock does not block, a secondary does.
      await get(s, 'max.primary', p, MAX);
      await get(s, 'max.secondary', a, MAX);
      // A pessimistic lock never blocks a read.
      const u = await s.ts('u');
      await lockKeys(s, 'lock', [s.key('q')], u, u);
      await get(s, 'pessimistic', s.key('q'), await s.ts('r2'));
      // RCCheckTS with a newer committed version than the read ts.
      await write(s, 'w2', [put(s.key('n'), 'v')]);
      await s.call(
        'rcCheckTs.newer',
        'kvGet',
        { key: s.key('n'), version: u },
        {
          context: { isolationLevel: IsolationLevel.RCCheckTS },
        },
      );
      await s.call(
        'rcCheckTs.newerScan',
        'kvScan',
        { startKey: s.key('n'), endKey: s.key('o'), limit: 10, version: u },
        {
          context: { isolationLevel: IsolationLevel.RCCheckTS },
        },
      );
    },
  },
];
