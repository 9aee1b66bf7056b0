#!/usr/bin/env node
// Checks tools/parity/mapping.json against tools/parity/go-tests.json (the client-go tests, from
// extract-go.mjs) and against our jest test files. Fails when
//  (a) a Go test has no entry, or an entry is malformed (status `ported` needs `ts`, `na` a
//      `reason`), or an entry names a Go test that is not in go-tests.json (stale);
//  (b) a `ported` entry names a test file that does not exist, or a title substring that no
//      test/describe title in that file contains;
//  (c) the counts in the root README (between the parity-counts markers) are not the current ones
//      (`--write-readme` rewrites them).
// Prints the counts per area (ported / na / todo / total). Fast: reads files, runs nothing.
// Options (for the tests): --root <repo> --go-tests <file> --mapping <file> --readme <file>.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectTitles } from './ts-tests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
/** `--name value` from the command line (the tests point the check at fixtures), or the default. */
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]) : fallback;
};
const root = arg('root', resolve(here, '..', '..'));
const go = JSON.parse(readFileSync(arg('go-tests', join(here, 'go-tests.json')), 'utf8'));
const mapping = JSON.parse(readFileSync(arg('mapping', join(here, 'mapping.json')), 'utf8')).tests;
const titles = collectTitles(root);
const errors = [];
const STATUSES = new Set(['ported', 'na', 'todo']);

const goIds = new Set(go.tests.map((t) => t.id));
for (const id of Object.keys(mapping)) {
  if (!goIds.has(id)) errors.push(`${id}: mapped, but not a test in go-tests.json (stale entry)`);
}

const counts = new Map();
for (const t of go.tests) {
  const e = mapping[t.id];
  const c = counts.get(t.area) ?? { ported: 0, na: 0, todo: 0, total: 0 };
  counts.set(t.area, c);
  c.total++;
  if (!e) {
    errors.push(`${t.id}: not in mapping.json (map it to a TS test, or mark it na or todo)`);
    continue;
  }
  if (!STATUSES.has(e.status)) {
    errors.push(`${t.id}: status must be ported, na or todo, not ${JSON.stringify(e.status)}`);
    continue;
  }
  c[e.status]++;
  if (e.status === 'na' && !(typeof e.reason === 'string' && e.reason.trim())) {
    errors.push(`${t.id}: na needs a reason`);
  }
  if (e.status !== 'ported') continue;
  if (!Array.isArray(e.ts) || e.ts.length === 0) {
    errors.push(`${t.id}: ported needs ts: [{ file, title }]`);
    continue;
  }
  for (const ref of e.ts) {
    const file = ref?.file;
    const title = ref?.title;
    if (typeof file !== 'string' || typeof title !== 'string' || !title) {
      errors.push(`${t.id}: each ts entry needs a file and a non-empty title`);
    } else if (!titles.has(file)) {
      errors.push(
        `${t.id}: ${file} ${existsSync(join(root, file)) ? 'is not a *.test.ts file' : 'does not exist'}`,
      );
    } else if (!titles.get(file).some((x) => x.includes(title))) {
      errors.push(`${t.id}: no test or describe title in ${file} contains ${JSON.stringify(title)}`);
    }
  }
}

const total = { ported: 0, na: 0, todo: 0, total: 0 };
const rows = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b));
for (const [, c] of rows) for (const k of Object.keys(total)) total[k] += c[k];

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const width = Math.max(...rows.map(([a]) => a.length), 5);
console.log(
  `${pad('area', width)}  ${lpad('ported', 6)}  ${lpad('na', 4)}  ${lpad('todo', 4)}  ${lpad('total', 5)}`,
);
for (const [area, c] of [...rows, ['TOTAL', total]]) {
  console.log(
    `${pad(area, width)}  ${lpad(c.ported, 6)}  ${lpad(c.na, 4)}  ${lpad(c.todo, 4)}  ${lpad(c.total, 5)}`,
  );
}

// (c) the README's counts.
const readmePath = arg('readme', join(root, 'README.md'));
const readme = readFileSync(readmePath, 'utf8');
const START = '<!-- parity-counts:start -->';
const END = '<!-- parity-counts:end -->';
const table = [
  '| Area (client-go directory) | Ported | N/A | Todo | Total |',
  '| --- | ---: | ---: | ---: | ---: |',
  ...rows.map(([a, c]) => `| \`${a}\` | ${c.ported} | ${c.na} | ${c.todo} | ${c.total} |`),
  `| **Total** | **${total.ported}** | **${total.na}** | **${total.todo}** | **${total.total}** |`,
].join('\n');
const block = `${START}\n${table}\n${END}`;
const s = readme.indexOf(START);
const e = readme.indexOf(END);
if (s < 0 || e < s) {
  errors.push(`README.md has no ${START} ... ${END} block`);
} else if (readme.slice(s, e + END.length) !== block) {
  if (process.argv.includes('--write-readme')) {
    writeFileSync(readmePath, readme.slice(0, s) + block + readme.slice(e + END.length));
    console.log('README.md counts updated');
  } else {
    errors.push('README.md parity counts are out of date: run `pnpm parity --write-readme`');
  }
}

if (errors.length > 0) {
  for (const m of errors) console.error(`parity: ${m}`);
  console.error(`parity: ${errors.length} problem(s)`);
  process.exit(1);
}
console.log(`parity: ok (client-go ${go.source.commit?.slice(0, 12) ?? 'unknown commit'})`);
