import { MockCluster } from '@tikv/mock-cluster';
import { tikv } from './run-cli-helper.js';

test('bench stops early when asked and still prints its summary', async () => {
  const stop = new AbortController();
  stop.abort();
  const r = await tikv(['--embedded', '--json', 'bench', 'raw', '--workload', 'put', '--ops', '1000'], {
    stopSignal: stop.signal,
  });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ benchmark: 'bench raw put', ops: 0, errors: 0 });
});

test('bench fails with the error line when every operation fails', async () => {
  // API V1 with raw region keys cannot serve a transactional client: every commit fails.
  const cluster = await MockCluster.start({ stores: 1, splitKeys: ['m'] });
  try {
    const r = await tikv([
      '--pd',
      cluster.pdEndpoints[0]!,
      'bench',
      'txn',
      '--ops',
      '3',
      '--concurrency',
      '1',
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^bench txn put: 3 ops in [\d.]+s, \d+ ops\/s, 3 errors/);
    expect(r.stderr).toMatch(/^error [A-Z_]+: /m);
  } finally {
    await cluster.close();
  }
});
