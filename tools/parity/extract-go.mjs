#!/usr/bin/env node
// Regenerates tools/parity/go-tests.json: the list of client-go tests that the parity mapping
// (tools/parity/mapping.json) has to account for. A test is a top-level `func TestXxx(t *testing.T)`
// or a testify suite method `func (s *suiteType) TestXxx()`. Functions that only hand a suite to
// `suite.Run(t, ...)` are runners, not tests: each suite method records its runner instead.
// TestMain, benchmarks, examples and fuzz targets are left out.
//
// Usage: node tools/parity/extract-go.mjs [path to a client-go checkout or bare mirror] [--out file]
// (default: the mirror at /work/.mirror/tikv+client-go/repo). A bare repository is read at HEAD
// with `git show`; a work tree is read from disk.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Directories (with their subdirectories) whose tests we track. */
export const AREAS = [
  'integration_tests',
  'internal/locate',
  'internal/client',
  'internal/unionstore',
  'internal/latch',
  'internal/apicodec',
  'config',
  'txnkv',
  'rawkv',
  'oracle',
  'tikv',
];

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--out');
const source = resolve(positional[0] ?? '/work/.mirror/tikv+client-go/repo');
const outIndex = process.argv.indexOf('--out');

/** Lists the tracked `_test.go` files and returns a reader for them. */
function openSource(dir) {
  const isBare = !existsSync(join(dir, '.git')) && existsSync(join(dir, 'HEAD'));
  const git = (...args) =>
    execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  let commit = null;
  try {
    commit = git('rev-parse', 'HEAD').trim();
  } catch {
    commit = null;
  }
  if (isBare) {
    const files = git('ls-tree', '-r', 'HEAD', '--name-only').split('\n').filter(Boolean);
    return { commit, files, read: (f) => git('show', `HEAD:${f}`) };
  }
  const files = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      if (name === '.git' || name === 'vendor') continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.push(relative(dir, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return { commit, files, read: (f) => readFileSync(join(dir, f), 'utf8') };
}

const inArea = (f) => AREAS.some((a) => f === a || f.startsWith(`${a}/`));

/** Parses one Go test file into tests and runners (suite type -> runner function). */
function parseFile(text) {
  const lines = text.split('\n');
  const tests = [];
  const runners = [];
  const topLevel = /^func\s+(Test\w*)\s*\(\s*\w+\s+\*testing\.T\s*\)/;
  const method = /^func\s+\(\s*\w*\s*\*?\s*(\w+)\s*\)\s+(Test\w*)\s*\(\s*\)/;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m = topLevel.exec(line);
    if (m) {
      const name = m[1];
      // Go only runs TestXxx where Xxx does not start with a lower-case letter.
      if (name === 'TestMain' || /^Test[a-z]/.test(name)) continue;
      let end = i + 1;
      while (end < lines.length && !/^}/.test(lines[end])) end++;
      const body = lines.slice(i, end + 1).join('\n');
      const run = /suite\.Run\(\s*\w+\s*,\s*(?:new\(\s*(\w+)\s*\)|&\s*(\w+)\s*\{)/.exec(body);
      if (run) runners.push({ runner: name, suite: run[1] ?? run[2] });
      else tests.push({ name, line: i + 1 });
      continue;
    }
    m = method.exec(line);
    if (m && !/^Test[a-z]/.test(m[2])) tests.push({ name: m[2], suite: m[1], line: i + 1 });
  }
  return { tests, runners };
}

const src = openSource(source);
const files = src.files.filter((f) => f.endsWith('_test.go') && inArea(f)).sort();
const perDir = new Map();
for (const file of files) {
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '.';
  const parsed = parseFile(src.read(file));
  const entry = perDir.get(dir) ?? { tests: [], runners: new Map() };
  for (const t of parsed.tests) entry.tests.push({ ...t, file });
  for (const r of parsed.runners) {
    const list = entry.runners.get(r.suite) ?? [];
    list.push(r.runner);
    entry.runners.set(r.suite, list);
  }
  perDir.set(dir, entry);
}

const tests = [];
for (const [dir, entry] of [...perDir.entries()].sort(([a], [b]) => a.localeCompare(b))) {
  for (const t of entry.tests) {
    const id = t.suite ? `${t.file}::${t.suite}.${t.name}` : `${t.file}::${t.name}`;
    const row = { id, area: dir, file: t.file, name: t.name, line: t.line };
    if (t.suite) {
      row.suite = t.suite;
      const runners = entry.runners.get(t.suite);
      if (runners) row.runners = runners;
    }
    tests.push(row);
  }
}
const ids = new Set();
for (const t of tests) {
  if (ids.has(t.id)) throw new Error(`duplicate Go test id ${t.id}`);
  ids.add(t.id);
}

const out = outIndex >= 0 ? resolve(process.argv[outIndex + 1]) : join(here, 'go-tests.json');
const doc = { source: { repo: 'tikv/client-go', commit: src.commit }, areas: AREAS, tests };
writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`${tests.length} Go tests in ${files.length} files -> ${relative(process.cwd(), out)}`);
