// Collects the titles of our jest tests: for every `*.test.ts` file in the repository (packages,
// e2e, tools), the string literals that open a call's argument list (`test('...')`, `it('...')`,
// `describe('...')`, `test.each(...)('...')`) or an array literal (the rows of a `test.each` table
// whose first column names the case: `[['TestA', ...], ['TestB', ...]]`). Used by check.mjs and
// suggest.mjs.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SKIP = new Set(['node_modules', 'dist', 'coverage', '.turbo', '.git']);

/** @returns {string[]} repository-relative paths of every `*.test.ts` file */
export function listTestFiles(root) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      if (SKIP.has(name)) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.test.ts')) out.push(relative(root, p).split('\\').join('/'));
    }
  };
  for (const top of ['packages', 'e2e', 'tools']) if (existsSync(join(root, top))) walk(join(root, top));
  return out.sort();
}

const TITLE = /[([]\s*(['"`])((?:\\.|(?!\1)[^\\])*?)\1/g;

/** @returns {string[]} the titles found in one test file's source */
export function titlesOf(text) {
  const titles = [];
  for (const m of text.matchAll(TITLE)) titles.push(m[2]);
  return titles;
}

/** @returns {Map<string, string[]>} test file -> titles */
export function collectTitles(root) {
  const map = new Map();
  for (const f of listTestFiles(root)) map.set(f, titlesOf(readFileSync(join(root, f), 'utf8')));
  return map;
}

/** Whether `name` occurs in `title` as a whole identifier (TestSplit does not match TestSplitX). */
export function namesGoTest(title, name) {
  const i = title.indexOf(name);
  if (i < 0) return false;
  const re = new RegExp(`(^|[^A-Za-z0-9_])${name}($|[^A-Za-z0-9_])`);
  return re.test(title);
}
