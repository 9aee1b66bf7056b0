// CI check of the changesets (`.ci/run`, step `changesets`):
//   1. every `.changeset/*.md` parses (front matter of `'<package>': patch|minor|major` lines, then
//      a summary), names only publishable workspace packages, and has a non-empty summary; this
//      needs no git history, so it holds on any checkout;
//   2. every package whose published files changed since the base (see `changedFilePatterns` in
//      .changeset/config.json: sources, package.json and README, not tests) has a changeset added
//      since the base: `changeset status --since=<base>`.
// The base is CHANGESET_BASE when set, else the first of `origin/main` and `main` that exists. On a
// clean clone of main the base is HEAD itself and step 2 has nothing to check; on a checkout with
// no base ref (a shallow clone of one branch) step 2 is skipped with a message, and step 1 still runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const changesetDir = join(root, '.changeset');
const problems = [];

// 1. The changesets' form.
const cliRequire = createRequire(createRequire(import.meta.url).resolve('@changesets/cli/package.json'));
const parse = cliRequire('@changesets/parse').default;
const config = JSON.parse(readFileSync(join(changesetDir, 'config.json'), 'utf8'));
const publishable = new Set(
  readdirSync(join(root, 'packages'))
    .map((d) => join(root, 'packages', d, 'package.json'))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')))
    .filter((p) => p.private !== true && !config.ignore.includes(p.name))
    .map((p) => p.name),
);
const files = readdirSync(changesetDir).filter((f) => f.endsWith('.md') && f !== 'README.md');
for (const file of files) {
  let changeset;
  try {
    changeset = parse(readFileSync(join(changesetDir, file), 'utf8'));
  } catch (e) {
    problems.push(`.changeset/${file}: ${e instanceof Error ? e.message : String(e)}`);
    continue;
  }
  if (changeset.releases.length === 0) problems.push(`.changeset/${file}: names no package`);
  for (const { name } of changeset.releases) {
    if (!publishable.has(name)) {
      problems.push(
        `.changeset/${file}: '${name}' is not a publishable package (${[...publishable].join(', ')})`,
      );
    }
  }
  if (changeset.summary.trim() === '') problems.push(`.changeset/${file}: the summary is empty`);
}
console.log(`${files.length} changesets checked for form`);

// 2. Changed packages against the base.
function git(...args) {
  return spawnSync('git', args, { cwd: root, encoding: 'utf8' });
}
const candidates =
  process.env.CHANGESET_BASE !== undefined
    ? [process.env.CHANGESET_BASE]
    : [`origin/${config.baseBranch}`, config.baseBranch];
const base = candidates.find(
  (ref) => git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`).status === 0,
);
if (base === undefined) {
  if (process.env.CHANGESET_BASE !== undefined) {
    problems.push(`CHANGESET_BASE=${process.env.CHANGESET_BASE} is not a commit in this checkout`);
  } else {
    console.log(
      `no ${candidates.join(' or ')} in this checkout: changed packages not checked (set CHANGESET_BASE)`,
    );
  }
} else if (git('merge-base', base, 'HEAD').status !== 0) {
  console.log(`no common history with ${base} (a shallow clone?): changed packages not checked`);
} else if (git('rev-parse', 'HEAD').stdout === git('rev-parse', `${base}^{commit}`).stdout) {
  console.log(`HEAD is ${base}: no changed packages to check`);
} else {
  console.log(`packages changed since ${base} need a changeset added since it:`);
  const status = spawnSync('pnpm', ['exec', 'changeset', 'status', `--since=${base}`], {
    cwd: root,
    stdio: 'inherit',
  });
  if (status.status !== 0) problems.push(`changeset status --since=${base} failed (see above)`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
