import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

// The built binary, as a user runs it (`pnpm build` first).
const BIN = join(__dirname, '..', 'dist', 'esm', 'bin.js');

interface Exit {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(argv: readonly string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], {
      env: { PATH: process.env.PATH ?? '', ...env },
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

/** Resolves with the child's stdout so far once it matches `re`. */
function waitForOutput(child: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (re.test(out)) {
        child.stdout?.off('data', onData);
        resolve(out);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing ${re}: ${out}`)));
  });
}

test('--embedded raw put: JSON on stdout, status 0', async () => {
  const r = await run(['--embedded', '--json', 'raw', 'put', 'k', 'v']);
  expect(r).toEqual({ status: 0, stdout: '{"ok":true}\n', stderr: '' });
});

test('a failure is one line on stderr with the error code, status 1; usage errors status 2', async () => {
  expect(await run(['raw', 'get', 'k'])).toEqual({
    status: 1,
    stdout: '',
    stderr:
      'error INVALID_ARGUMENT: no PD endpoints: pass --pd host:port, set TIKV_PD_ENDPOINTS, or use --embedded\n',
  });
  expect(await run(['frobnicate'])).toEqual({
    status: 2,
    stdout: '',
    stderr: "error INVALID_ARGUMENT: unknown command 'frobnicate'\n",
  });
});

test('--embedded bench raw prints the latency summary', async () => {
  const r = await run(['--embedded', 'bench', 'raw', '--ops', '40', '--concurrency', '4', '--keys', '10']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^bench raw mixed: 40 ops in [\d.]+s, \d+ ops\/s, 0 errors \(concurrency 4\)\n/);
  expect(r.stdout).toMatch(/^latency: min \S+ +mean \S+ +p50 \S+ +p90 \S+ +p99 \S+ +p99\.9 \S+ +max \S+$/m);
});

test('tikv mock serves other tikv processes until SIGTERM', async () => {
  const mock = spawn(
    process.execPath,
    [BIN, 'mock', '--stores', '1', '--region-key-encoding', 'memcomparable'],
    {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => mock.on('exit', (code) => resolve(code)));
  try {
    const banner = await waitForOutput(mock, /^cluster id: .*$/m);
    const pd = /^pd: (\S+)$/m.exec(banner)?.[1];
    expect(pd).toMatch(/^127\.0\.0\.1:\d+$/);
    const env = { TIKV_PD_ENDPOINTS: pd! };
    expect((await run(['txn', 'put', 'a', '1', 'b', '2'], env)).status).toBe(0);
    expect(await run(['--json', 'txn', 'scan', ''], env)).toEqual({
      status: 0,
      stdout: '[{"key":"a","value":"1"},{"key":"b","value":"2"}]\n',
      stderr: '',
    });
  } finally {
    mock.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});
