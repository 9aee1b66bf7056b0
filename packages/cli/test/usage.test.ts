import { tikv } from './run-cli-helper.js';

describe('command line errors: one line, a code, a non-zero status', () => {
  test.each([
    [['nope'], "error INVALID_ARGUMENT: unknown command 'nope'\n", 2],
    [['raw', 'get'], "error INVALID_ARGUMENT: missing required argument 'key'\n", 2],
    [
      ['--api-version', '3', 'tso'],
      "error INVALID_ARGUMENT: option '--api-version <version>' argument '3' is invalid. Allowed choices are 1, 2.\n",
      2,
    ],
    [
      ['raw', 'scan', 'a', '--limit', '0'],
      "error INVALID_ARGUMENT: option '--limit <n>' argument '0' is invalid. expected an integer >= 1, got '0'\n",
      2,
    ],
    [
      ['raw', 'get', 'k'],
      'error INVALID_ARGUMENT: no PD endpoints: pass --pd host:port, set TIKV_PD_ENDPOINTS, or use --embedded\n',
      1,
    ],
    [['--hex', '--base64', 'tso'], 'error INVALID_ARGUMENT: --hex and --base64 cannot be combined\n', 1],
    [
      ['--api-version', '1', '--keyspace', 'k', 'tso'],
      'error INVALID_ARGUMENT: --keyspace needs API V2 (--api-version 2)\n',
      1,
    ],
    [
      ['--embedded', '--pd', '127.0.0.1:1', 'tso'],
      'error INVALID_ARGUMENT: --embedded starts its own cluster: leave out --pd\n',
      1,
    ],
    [
      ['--embedded', '--ca', 'ca.pem', 'tso'],
      expect.stringMatching(/^error INVALID_ARGUMENT: cannot read the --ca file: ENOENT/),
      1,
    ],
    [
      ['--pd', '127.0.0.1:1', '--cert', __filename, 'tso'],
      'error INVALID_ARGUMENT: --cert and --key go together\n',
      1,
    ],
    [
      ['--embedded', '--ca', __filename, 'tso'],
      'error INVALID_ARGUMENT: --embedded serves plaintext: leave out --ca, --cert and --key\n',
      1,
    ],
    [
      ['--pd', '127.0.0.1:1', '--hex', 'raw', 'get', 'xyz'],
      "error INVALID_ARGUMENT: key must be hexadecimal (an even number of digits), got 'xyz'\n",
      1,
    ],
    [
      ['--pd', '127.0.0.1:1', 'raw', 'cas', 'k', 'v'],
      'error INVALID_ARGUMENT: raw cas needs exactly one of --expect VALUE and --absent\n',
      1,
    ],
    [
      ['--pd', '127.0.0.1:1', 'regions', '--key', 'a', '--range', 'b'],
      'error INVALID_ARGUMENT: regions takes --key or --range, not both\n',
      1,
    ],
    [
      ['--pd', '127.0.0.1:1', 'mock', '--region-key-encoding', 'x'],
      "error INVALID_ARGUMENT: --region-key-encoding must be raw or memcomparable, got 'x'\n",
      1,
    ],
  ])('tikv %j', async (argv, stderr, status) => {
    const r = await tikv(argv);
    expect(r.stderr).toEqual(stderr);
    expect(r.status).toBe(status);
    expect(r.stdout).toBe('');
  });

  test('--help prints the usage and exits 0', async () => {
    const r = await tikv(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tikv \[options\] \[command\]/);
    for (const cmd of [
      'raw',
      'txn',
      'tso',
      'stores',
      'regions',
      'split',
      'gc-state',
      'keyspace',
      'mock',
      'bench',
    ]) {
      expect(r.stdout).toContain(`  ${cmd}`);
    }
    const sub = await tikv(['raw', '--help']);
    for (const cmd of ['get', 'put', 'delete', 'scan', 'delete-range', 'ttl', 'cas', 'checksum']) {
      expect(sub.stdout).toContain(`  ${cmd}`);
    }
  });

  test('an unreachable PD is an error line with its code', async () => {
    const r = await tikv(['--pd', '127.0.0.1:1', '--timeout-ms', '300', 'tso']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error (PD_UNREACHABLE|DEADLINE_EXCEEDED|RPC_ERROR): [^\n]+\n$/);
  });
});

describe('--embedded', () => {
  test('raw and txn commands run on an in-process cluster (API V1)', async () => {
    expect(await tikv(['--embedded', 'raw', 'put', 'k', 'v'])).toEqual({
      status: 0,
      stdout: 'OK\n',
      stderr: '',
    });
    // Each command has its own cluster: nothing outlives it.
    expect((await tikv(['--embedded', 'raw', 'get', 'k'])).stdout).toBe('(not found)\n');
    const txn = await tikv(['--embedded', 'txn', 'put', 'k', 'v', '--json']);
    expect(JSON.parse(txn.stdout)).toMatchObject({ ok: true });
    expect(await tikv(['--embedded', 'txn', 'scan', '']).then((r) => r.stdout)).toBe('');
  });

  test('API V2 with a keyspace', async () => {
    const r = await tikv(['--embedded', '--keyspace', 'demo', '--json', 'keyspace', 'show', 'demo']);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'demo', state: 'enabled' });
  });

  test('the environment gives the endpoints', async () => {
    const r = await tikv(['--timeout-ms', '300', 'tso'], { env: { TIKV_PD_ENDPOINTS: '127.0.0.1:1' } });
    expect(r.stderr).toMatch(/^error [A-Z_]+: /);
  });
});

test('mock serves a cluster until stopped', async () => {
  const stop = new AbortController();
  let pd: string | undefined;
  const running = tikv(
    ['--api-version', '2', '--keyspace', 'ks', 'mock', '--stores', '1', '--split-keys', 'a,b'],
    {
      stopSignal: stop.signal,
      onStdout: (t) => {
        const m = /^pd: (\S+)$/m.exec(t);
        if (m !== null) pd = m[1];
        if (/^cluster id/m.test(t)) stop.abort();
      },
    },
  );
  const r = await running;
  expect(r.status).toBe(0);
  expect(pd).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(r.stdout).toMatch(/^store 1: 127\.0\.0\.1:\d+$/m);
  expect(r.stdout).toMatch(/^cluster id: \d+ api version: V2$/m);
  expect(r.stdout).toMatch(/^keyspace ks: id \d+$/m);
  expect(r.stdout).toMatch(/shutting down\n$/);
});
