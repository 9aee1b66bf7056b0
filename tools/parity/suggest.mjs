#!/usr/bin/env node
// Proposes mappings for the Go tests that mapping.json leaves missing or `todo`: our jest titles
// that name the Go test (TestXxx as a whole word). When the Go name is used by several Go tests,
// only test files that also mention the Go file's name (e.g. `api_mock_test.go`) are proposed,
// if there are any. Prints the proposals; with --write, records them in mapping.json as `ported`
// and adds missing tests as `todo`. Always review what it wrote.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectTitles, namesGoTest } from './ts-tests.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const go = JSON.parse(readFileSync(join(here, 'go-tests.json'), 'utf8')).tests;
const mappingPath = join(here, 'mapping.json');
let mapping;
try {
  mapping = JSON.parse(readFileSync(mappingPath, 'utf8'));
} catch {
  mapping = { tests: {} };
}
const titles = collectTitles(root);
const sources = new Map([...titles.keys()].map((f) => [f, readFileSync(join(root, f), 'utf8')]));
const nameCount = new Map();
for (const g of go) nameCount.set(g.name, (nameCount.get(g.name) ?? 0) + 1);

let proposed = 0;
for (const g of go) {
  const cur = mapping.tests[g.id];
  if (cur && cur.status !== 'todo') continue;
  let files = [...titles].filter(([, ts]) => ts.some((t) => namesGoTest(t, g.name))).map(([f]) => f);
  if (files.length > 0 && nameCount.get(g.name) > 1) {
    const base = g.file.slice(g.file.lastIndexOf('/') + 1);
    const narrowed = files.filter((f) => sources.get(f).includes(base));
    if (narrowed.length > 0) files = narrowed;
  }
  if (files.length === 0) {
    if (!cur) mapping.tests[g.id] = { status: 'todo' };
    continue;
  }
  proposed++;
  console.log(`${g.id}\n  -> ${files.join(', ')}`);
  mapping.tests[g.id] = { status: 'ported', ts: files.map((file) => ({ file, title: g.name })) };
}
console.log(`${proposed} proposals`);
if (process.argv.includes('--write')) {
  const order = new Map(go.map((g, i) => [g.id, i]));
  const sorted = Object.fromEntries(
    Object.entries(mapping.tests).sort(([a], [b]) => (order.get(a) ?? 1e9) - (order.get(b) ?? 1e9)),
  );
  writeFileSync(mappingPath, `${JSON.stringify({ ...mapping, tests: sorted }, null, 2)}\n`);
  console.log(`wrote ${mappingPath}`);
}
