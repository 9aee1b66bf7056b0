// check.mjs and extract-go.mjs on small fixtures: a Go test without an entry, a mapped file or
// title that does not exist, stale README counts and a stale entry all fail the check; the Go
// extractor finds top-level tests and suite methods and leaves runners and TestMain out.
const { spawnSync } = require('node:child_process');
const { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const parity = resolve(__dirname, '..');

function run(script, args) {
  const r = spawnSync(process.execPath, [join(parity, script), ...args], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('check.mjs', () => {
  let dir;
  const goTests = {
    source: { repo: 'tikv/client-go', commit: null },
    tests: [
      { id: 'a/x_test.go::TestOne', area: 'a', file: 'a/x_test.go', name: 'TestOne', line: 1 },
      { id: 'a/x_test.go::suite.TestTwo', area: 'a', file: 'a/x_test.go', name: 'TestTwo', line: 2 },
      { id: 'b/y_test.go::TestThree', area: 'b', file: 'b/y_test.go', name: 'TestThree', line: 1 },
    ],
  };
  const good = {
    tests: {
      'a/x_test.go::TestOne': {
        status: 'ported',
        ts: [{ file: 'packages/p/src/x.test.ts', title: 'TestOne' }],
      },
      'a/x_test.go::suite.TestTwo': { status: 'na', reason: 'Go only' },
      'b/y_test.go::TestThree': { status: 'todo' },
    },
  };
  const check = (mapping, extra = []) => {
    writeFileSync(join(dir, 'mapping.json'), JSON.stringify(mapping));
    return run('check.mjs', [
      '--root',
      dir,
      '--go-tests',
      join(dir, 'go-tests.json'),
      '--mapping',
      join(dir, 'mapping.json'),
      '--readme',
      join(dir, 'README.md'),
      ...extra,
    ]);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parity-'));
    mkdirSync(join(dir, 'packages/p/src'), { recursive: true });
    writeFileSync(
      join(dir, 'packages/p/src/x.test.ts'),
      "describe('x', () => {\n  test('TestOne: does one thing', () => {});\n});\n",
    );
    writeFileSync(join(dir, 'go-tests.json'), JSON.stringify(goTests));
    writeFileSync(
      join(dir, 'README.md'),
      '# r\n\n<!-- parity-counts:start -->\n<!-- parity-counts:end -->\n',
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes the README counts, then passes and prints the counts per area', () => {
    expect(check(good).status).toBe(1);
    expect(check(good, ['--write-readme']).status).toBe(0);
    const r = check(good);
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^a\s+1\s+1\s+0\s+2$/m);
    expect(r.out).toMatch(/^b\s+0\s+0\s+1\s+1$/m);
    expect(r.out).toMatch(/^TOTAL\s+1\s+1\s+1\s+3$/m);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(
      '| **Total** | **1** | **1** | **1** | **3** |',
    );
  });

  test('fails on a Go test without an entry, and on an entry for no Go test', () => {
    check(good, ['--write-readme']);
    const { 'b/y_test.go::TestThree': _, ...rest } = good.tests;
    let r = check({ tests: rest });
    expect(r.status).toBe(1);
    expect(r.out).toContain('b/y_test.go::TestThree: not in mapping.json');
    r = check({ tests: { ...good.tests, 'c/z_test.go::TestGone': { status: 'todo' } } });
    expect(r.status).toBe(1);
    expect(r.out).toContain('c/z_test.go::TestGone: mapped, but not a test in go-tests.json');
  });

  test('fails when a mapped file or title does not exist, and on malformed entries', () => {
    check(good, ['--write-readme']);
    const with1 = (entry) => ({ tests: { ...good.tests, 'a/x_test.go::TestOne': entry } });
    let r = check(
      with1({ status: 'ported', ts: [{ file: 'packages/p/src/gone.test.ts', title: 'TestOne' }] }),
    );
    expect(r.status).toBe(1);
    expect(r.out).toContain('packages/p/src/gone.test.ts does not exist');
    r = check(with1({ status: 'ported', ts: [{ file: 'packages/p/src/x.test.ts', title: 'TestOther' }] }));
    expect(r.status).toBe(1);
    expect(r.out).toContain('no test or describe title in packages/p/src/x.test.ts contains "TestOther"');
    r = check(with1({ status: 'na' }));
    expect(r.out).toContain('na needs a reason');
    r = check(with1({ status: 'ported' }));
    expect(r.out).toContain('ported needs ts');
    r = check(with1({ status: 'done' }));
    expect(r.out).toContain('status must be ported, na or todo');
  });
});

describe('extract-go.mjs', () => {
  test('lists top-level tests and suite methods with their runner; not TestMain or helpers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parity-go-'));
    try {
      mkdirSync(join(dir, 'rawkv'), { recursive: true });
      mkdirSync(join(dir, 'util'), { recursive: true });
      writeFileSync(
        join(dir, 'rawkv', 'a_test.go'),
        [
          'package rawkv',
          'func TestMain(m *testing.M) {}',
          'func TestSuite(t *testing.T) {',
          '\tsuite.Run(t, new(testSuite))',
          '}',
          'func TestPlain(t *testing.T) {',
          '}',
          'func testhelper(t *testing.T) {}',
          'func (s *testSuite) SetupTest() {}',
          'func (s *testSuite) TestMethod() {',
          '}',
          'func BenchmarkX(b *testing.B) {}',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'util', 'b_test.go'), 'func TestOutside(t *testing.T) {}\n');
      const out = join(dir, 'out.json');
      const r = run('extract-go.mjs', [dir, '--out', out]);
      expect(r.status).toBe(0);
      const tests = JSON.parse(readFileSync(out, 'utf8')).tests;
      expect(tests).toEqual([
        {
          id: 'rawkv/a_test.go::TestPlain',
          area: 'rawkv',
          file: 'rawkv/a_test.go',
          name: 'TestPlain',
          line: 6,
        },
        {
          id: 'rawkv/a_test.go::testSuite.TestMethod',
          area: 'rawkv',
          file: 'rawkv/a_test.go',
          name: 'TestMethod',
          line: 10,
          suite: 'testSuite',
          runners: ['TestSuite'],
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
