// Builds a small Go program against TiKV's Go client (client-go) taken from a local git checkout,
// for the tools that run client-go next to ours (`pnpm interop:go`, `pnpm bench peer`).
//
// client-go is extracted with `git archive` into a temporary folder (once per commit, shared by
// every program) and used through a `replace` directive written into the program's own go.mod at
// build time: none of its code enters this repository. Its dependencies come from the Go module
// proxy (which serves client-go itself only as v2.0.4, hence the replace). Returns a skip reason
// instead of a binary when `go`, the checkout or the modules are missing.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The checkout used when neither the caller nor `CLIENT_GO_GIT` names one: the fetched mirror. */
export const DEFAULT_CLIENT_GO_GIT = '/work/.mirror/tikv+client-go/repo';

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

/** The last lines of a failed command's stderr, for a message. */
function tail(text, lines = 5) {
  return (text ?? '').trim().split('\n').slice(-lines).join('\n');
}

/**
 * Extracts `commit` of `checkout` into `dir` unless a complete extraction is already there. The
 * archive lands in a sibling folder first and is renamed into place, so an interrupted run never
 * leaves a half-extracted tree that a later run would take as complete.
 */
function extractOnce(checkout, commit, dir) {
  if (existsSync(join(dir, 'go.mod'))) return;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const tar = run('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', checkout, commit, partial]);
  if (tar.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`could not extract client-go ${commit} from ${checkout}:\n${tail(tar.stderr)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
}

/**
 * Builds the Go program made of the `.go` files in `sourceDir` against client-go.
 *
 * @param {object} options
 * @param {string} options.name the program's name: its folder under the work dir, its module path
 *   (`tikv-client-ts/<name>`) and its binary
 * @param {string} options.sourceDir the folder holding the program's `.go` files (package main)
 * @param {string} [options.checkout] the client-go git checkout; default `CLIENT_GO_GIT` or
 *   {@link DEFAULT_CLIENT_GO_GIT}
 * @param {(line: string) => void} [options.log] progress lines; default `console.log`
 * @returns {{ built: true, bin: string, workDir: string, commit: string } | { built: false, reason: string }}
 *   `workDir` is the per-commit folder (logs may go there); `reason` says why the program could
 *   not be built on this machine (no Go, no checkout, modules not fetchable)
 * @throws {Error} when the program does not compile against this client-go (a bug to fix, not a skip)
 */
export function buildClientGoProgram({ name, sourceDir, checkout, log = console.log }) {
  const git = checkout ?? process.env.CLIENT_GO_GIT ?? DEFAULT_CLIENT_GO_GIT;
  if (run('go', ['version']).status !== 0) {
    return { built: false, reason: '`go` is not on PATH (install Go 1.25 or newer)' };
  }
  const rev = run('git', ['-C', git, 'rev-parse', 'HEAD']);
  if (rev.status !== 0) {
    return { built: false, reason: `no client-go git checkout at ${git} (set CLIENT_GO_GIT)` };
  }
  const commit = rev.stdout.trim();

  const workDir = join(tmpdir(), 'tikv-client-go', commit.slice(0, 12));
  const clientGoDir = join(workDir, 'client-go');
  const progDir = join(workDir, name);
  extractOnce(git, commit, clientGoDir);

  rmSync(progDir, { recursive: true, force: true });
  mkdirSync(progDir, { recursive: true });
  for (const f of readdirSync(sourceDir)) if (f.endsWith('.go')) cpSync(join(sourceDir, f), join(progDir, f));
  const goLine = /^go (\S+)$/m.exec(readFileSync(join(clientGoDir, 'go.mod'), 'utf8'))?.[1] ?? '1.25';
  writeFileSync(
    join(progDir, 'go.mod'),
    `module tikv-client-ts/${name}\n\ngo ${goLine}\n\nrequire github.com/tikv/client-go/v2 v2.0.0\n\nreplace github.com/tikv/client-go/v2 => ${clientGoDir}\n`,
  );
  cpSync(join(clientGoDir, 'go.sum'), join(progDir, 'go.sum'));

  log(`client-go ${commit.slice(0, 12)} (from ${git}); building ${name} ...`);
  const tidy = run('go', ['mod', 'tidy'], { cwd: progDir });
  if (tidy.status !== 0)
    return { built: false, reason: `Go modules could not be fetched:\n${tail(tidy.stderr)}` };
  const bin = join(progDir, name);
  const build = run('go', ['build', '-o', bin, '.'], { cwd: progDir });
  if (build.status !== 0) {
    throw new Error(`${name} does not build against client-go ${commit.slice(0, 12)}:\n${build.stderr}`);
  }
  return { built: true, bin, workDir, commit };
}
