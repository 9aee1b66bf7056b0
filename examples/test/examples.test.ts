import { spawn } from 'node:child_process';
import { join } from 'node:path';

// Each example runs from its build as a user runs it (`pnpm build` first), on its own embedded
// cluster (the environment is emptied, so TIKV_PD_ENDPOINTS never leaks in).
function runExample(name: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'dist', `${name}.js`)], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test.each([
  [
    'raw-kv',
    [
      /^get greeting -> hello$/m,
      /^scan items -> a=0 b=1 c=2 d=3$/m,
      /^cas create -> true, cas from a stale value -> false \(it holds 1\)$/m,
      /^ttl of session -> \d+ s$/m,
      /^after deleteRange -> 0 keys$/m,
    ],
  ],
  [
    'transactions',
    [
      /^in the transaction, alice -> 100$/m,
      /^second commit -> WRITE_CONFLICT \(retryable: true\)$/m,
      /^alice now -> 80$/m,
      /^alice before the conflict -> 100$/m,
    ],
  ],
  [
    'pessimistic',
    [
      /^first locked examples\/pessimistic\/stock \(stock 10\)$/m,
      /^second, noWait -> LOCK_ACQUIRE_FAILED_NO_WAIT$/m,
      /^second waited, saw 9, stock now 8$/m,
    ],
  ],
  [
    'metrics',
    [
      /^raw get details -> 1 RPC\(s\), 0 backoff\(s\)$/m,
      /^commit details -> 2 keys, \d+ bytes, prewrite in \d region\(s\), TiKV details in \d+ responses$/m,
      /^txn get details -> TiKV read 1 key\(s\), \d+ bytes$/m,
      /^tikv_client_go_request_seconds_count\{type="RawPut",store="127\.0\.0\.1:\d+",stale_read="false",scope="general"\} 20$/m,
      /^tikv_client_go_commit_txn_counter\{type="ok"\} 3$/m,
    ],
  ],
  [
    'gc-delete-range',
    [/^delete range -> \d+ regions, 0 keys left$/m, /^gc -> safe point \d+ \(past the writes\)$/m],
  ],
])('%s runs on an embedded cluster', async (name, expected) => {
  const r = await runExample(name);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^cluster: embedded, PD 127\.0\.0\.1:\d+, API V2, keyspace examples$/m);
  for (const re of expected) expect(r.stdout).toMatch(re);
  expect(r.stdout).toMatch(/^done$/m);
});
