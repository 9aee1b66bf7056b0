// The leak check of every package's test run (jest.leak-check-environment.cjs), checked on
// fixture files: each leaky one fails with what it left, a clean one passes, an unref'd timer is
// let through, and so is what a file's `@leakCheckAllow` pragma names.
const { spawnSync } = require('node:child_process');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '../../..');
const fixtures = join(__dirname, 'leak-check-fixtures');
const baseConfig = require(join(root, 'jest.config.base.cjs'));

/** Runs jest over the fixtures once; returns each file's failure message ('' when it passed). */
function runFixtures() {
  const config = baseConfig(fixtures, {
    testMatch: ['<rootDir>/*.fixture.cjs'],
    coverageThreshold: undefined,
  });
  const run = spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest', { paths: [root] }),
      '--config',
      JSON.stringify(config),
      '--json',
      // The leaky fixtures keep their worker alive by design.
      '--forceExit',
      '--maxWorkers=2',
    ],
    { cwd: fixtures, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(run.stdout);
  return new Map(
    report.testResults.map((r) => [r.name.slice(fixtures.length + 1).replace('.fixture.cjs', ''), r.message]),
  );
}

jest.setTimeout(120_000);

describe('the leak check', () => {
  let results;
  beforeAll(() => {
    results = runFixtures();
  });
  afterAll(() => {
    // The child the child fixture leaves behind on purpose.
    const pid = /child process (\d+)/.exec(results?.get('child') ?? '')?.[1];
    if (pid !== undefined) {
      try {
        process.kill(Number(pid));
      } catch {
        // Already gone.
      }
    }
  });

  test('passes a file that closes what it opens, unref-d timers included', () => {
    expect(results.get('clean')).toBe('');
  });

  test('fails a file that leaves an unref-d server listening, and says where it was opened', () => {
    expect(results.get('unref-server')).toMatch(
      /left 1 resource\(s\) open:\s+- a server listening on 127\.0\.0\.1:\d+/,
    );
    expect(results.get('unref-server')).toMatch(/opened by .*unref-server\.fixture\.cjs:\d+/);
  });

  test('fails a file that leaves a connection: both ends are named', () => {
    const message = results.get('sockets');
    expect(message).toMatch(/a client socket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:(\d+)/);
    expect(message).toMatch(/an accepted socket 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/);
  });

  test("fails a file that leaves a ref'd timer", () => {
    expect(results.get('timer')).toMatch(/resources keeping the event loop alive: \d+ x Timeout/);
  });

  test('fails a file that leaves a child process running', () => {
    expect(results.get('child')).toMatch(/child process \d+ \(.*node.*\)/);
  });

  test('lets through what the file allows with @leakCheckAllow, and refuses an unknown kind', () => {
    expect(results.get('allowed')).toBe('');
    expect(results.get('unknown-kind')).toMatch(/@leakCheckAllow: unknown kind 'sockets'/);
  });
});
