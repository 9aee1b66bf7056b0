/** Optimistic writes and the reads over them (point get, batch get, scans, MVCC info). */
import type { Scenario } from '../scenario.js';
import { commit, get, mvcc, prewrite, put, write } from './helpers.js';

const LONG = 'x'.repeat(300);

export const readsWrites: Scenario[] = [
  {
    name: 'prewrite-commit-read',
    origin: 'scripted: 2PC of three keys, then every read (point_getter/scanner tests)',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b, c] = [s.key('a'), s.key('b'), s.key('c')];
      const start = await s.ts('start');
      await prewrite(s, 'prewrite', [put(a, 'va'), put(b, 'vb'), put(c, LONG)], start);
      const readLocked = await s.ts('readLocked');
      await get(s, 'get.locked.secondary', b, readLocked);
      await get(s, 'get.locked.primary', a, readLocked);
      await s.call('batchGet.locked', 'kvBatchGet', { keys: [a, b, c], version: readLocked });
      await s.call('scan.locked', 'kvScan', {
        startKey: a,
        endKey: s.key('d'),
        limit: 10,
        version: readLocked,
      });
      const commitTs = await s.ts('commit');
      await commit(s, 'commit', [a, b, c], start, commitTs);
      const read = await s.ts('read');
      await get(s, 'get.a', a, read);
      await get(s, 'get.c.long', c, read);
      await get(s, 'get.beforeCommit', a, start);
      await get(s, 'get.missing', s.key('zz'), read);
      await s.call('batchGet', 'kvBatchGet', {
        keys: [c, s.key('zz'), a],
        version: read,
        needCommitTs: true,
      });
      await s.call('scan.forward', 'kvScan', { startKey: a, endKey: s.key('d'), limit: 10, version: read });
      await s.call('scan.limit', 'kvScan', { startKey: a, endKey: s.key('d'), limit: 2, version: read });
      await s.call('scan.keyOnly', 'kvScan', {
        startKey: a,
        endKey: s.key('d'),
        limit: 10,
        version: read,
        keyOnly: true,
      });
      await s.call(
        'scan.reverse',
        'kvScan',
        { startKey: s.key('c'), endKey: a, limit: 10, version: read, reverse: true },
        { routeKey: a },
      );
      await s.call('scan.sampleStep', 'kvScan', {
        startKey: a,
        endKey: s.key('d'),
        limit: 10,
        version: read,
        sampleStep: 2,
      });
      await mvcc(s, 'mvcc.a', a);
      await mvcc(s, 'mvcc.c', c);
      await s.call('mvccByStartTs', 'mvccGetByStartTs', { startTs: start }, { routeKey: a });
      await write(s, 'overwrite', [put(a, 'va2')]);
      const read2 = await s.ts('read2');
      await get(s, 'get.a.overwritten', a, read2);
      await get(s, 'get.a.old', a, read);
      await mvcc(s, 'mvcc.a.two', a);
    },
  },
];
