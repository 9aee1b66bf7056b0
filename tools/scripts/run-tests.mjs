// Runs every package's jest suite through turbo, then prints one summary line with the totals
// over all suites: `N passed, N failed`. A suite that crashes at import counts as a failure, and
// so does a package whose jest run failed with no failing test to show for it (a coverage
// threshold, a reporter error) or that wrote no results at all: the line never says `0 failed`
// when the run failed. Before that line it prints a table of each package's coverage (lines and
// branches, from jest's coverage/coverage-summary.json); the totals line stays the last one.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workspaces = ['packages', 'tools']
  .flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((n) => join(root, d, n)) : []))
  .concat([join(root, 'e2e'), join(root, 'examples')])
  .filter((d) => existsSync(join(d, 'package.json')));

for (const dir of workspaces) {
  rmSync(join(dir, 'jest-results.json'), { force: true });
  rmSync(join(dir, 'coverage', 'coverage-summary.json'), { force: true });
}

const turbo = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--continue', '--concurrency=1', ...process.argv.slice(2)],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
);

let passed = 0;
let failed = 0;
const broken = [];
const coverage = [];
for (const dir of workspaces) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test) continue;
  coverage.push({ name: pkg.name, total: readCoverage(dir) });
  const file = join(dir, 'jest-results.json');
  if (!existsSync(file)) {
    broken.push(pkg.name);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  const failures = r.numFailedTests + r.numRuntimeErrorTestSuites;
  failed += failures;
  if (r.success) continue;
  // jest also fails a run whose tests all passed: a coverage threshold not met, a reporter error.
  if (failures === 0) {
    failed += 1;
    broken.push(`${pkg.name} (no failing test: coverage threshold or reporter error, see its output)`);
  } else {
    broken.push(pkg.name);
  }
}
if (turbo.status !== 0 && failed === 0) {
  failed += 1;
  broken.push(`turbo run test (exit ${turbo.status}; see its output)`);
}
printCoverage(coverage);
if (broken.length > 0) console.log(`failing: ${broken.join(', ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : 1);

/** The `total` of a package's jest json-summary coverage report, or null when there is none. */
function readCoverage(dir) {
  const file = join(dir, 'coverage', 'coverage-summary.json');
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')).total ?? null;
  } catch {
    return null;
  }
}

/** Prints one row per package: lines % and branches % (or `-` where it collects no coverage). */
function printCoverage(rows) {
  const width = Math.max(7, ...rows.map((r) => r.name.length));
  const pct = (m) => (m && typeof m.pct === 'number' ? `${m.pct.toFixed(2)}%` : '-').padStart(9);
  console.log('');
  console.log(`${'package'.padEnd(width)}  ${'lines'.padStart(9)}  ${'branches'.padStart(9)}`);
  for (const r of rows)
    console.log(`${r.name.padEnd(width)}  ${pct(r.total?.lines)}  ${pct(r.total?.branches)}`);
}
