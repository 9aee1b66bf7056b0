// Checks what a consumer of the published packages gets, from the tarballs `pnpm pack` makes:
//   1. every publishable package (not `private`) under packages/ is packed into a temp dir;
//   2. a tarball fails on build leftovers and test code: `*.tsbuildinfo`, source maps whose
//      sources are not in the tarball (or `sourceMappingURL`s to missing maps), test files,
//      test helpers and fakes, and `exports` targets that are missing;
//   3. the tarballs are extracted into an empty project (their third-party dependencies linked
//      from this workspace, so nothing is downloaded), and every package is imported in plain
//      Node as ESM and as CommonJS (jest only runs the CommonJS build), with a check that a
//      TiKVError from the CommonJS copy passes `isTiKVError` from the ESM copy;
//   4. a small consumer file is type-checked against the installed packages with
//      `skipLibCheck: false` under `moduleResolution: node10` (TypeScript 5, without
//      `esModuleInterop`) and `nodenext` (ESM and CommonJS files, the repository's TypeScript).
// Run after `pnpm build`: `node tools/scripts/check-packages.mjs` (`--keep` keeps the temp dir).
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const keep = process.argv.includes('--keep');
const started = Date.now();
const problems = [];
const rootEngines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines?.node;

/** Runs a command; resolves with its status and output. */
function run(cmd, args, cwd) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stdout, stderr }));
  });
}

function step(name) {
  console.log(`check-packages: ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

// Test code, test helpers and fakes never belong in a tarball.
const FORBIDDEN = [
  [/\.tsbuildinfo$/, 'a TypeScript build-info file'],
  [/\.(test|spec)\.[cm]?[jt]s$|\.(test|spec)\.d\.[cm]?ts$/, 'a test file'],
  [/(^|\/)(test|tests|__tests__|testing|fixtures)\//, 'a test folder'],
  [/(^|\/)test-helpers?\./, 'test helpers'],
  [/(^|\/)fake-[^/]*$/, 'a test fake'],
  [/(^|\/)jest\.config\./, 'a jest config'],
  [/(^|\/)tsconfig[^/]*\.json$/, 'a tsconfig'],
];

function listFiles(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full, base));
    else out.push(relative(base, full).split('\\').join('/'));
  }
  return out;
}

function exportTargets(exportsField) {
  if (typeof exportsField === 'string') return [exportsField];
  if (exportsField === null || typeof exportsField !== 'object') return [];
  return Object.values(exportsField).flatMap(exportTargets);
}

/** Checks one extracted package: forbidden files, source maps, exports targets. */
function checkContents(name, dir) {
  const files = listFiles(dir);
  const present = new Set(files);
  for (const f of files) {
    for (const [re, what] of FORBIDDEN) if (re.test(f)) problems.push(`${name}: ships ${what}: ${f}`);
    if (f.endsWith('.map')) {
      const map = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      for (const s of map.sources ?? []) {
        const target = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? '', s));
        if (!present.has(target) && !(map.sourcesContent ?? []).some((c) => c != null)) {
          problems.push(`${name}: ${f} points at ${target}, which is not shipped`);
        }
      }
    } else if (/\.(c|m)?js$|\.d\.(c|m)?ts$/.test(f)) {
      const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(dir, f), 'utf8'));
      if (m !== null && !m[1].startsWith('data:')) {
        const target = posix.normalize(posix.join(posix.dirname(f), m[1]));
        if (!present.has(target)) problems.push(`${name}: ${f} names a missing map ${target}`);
      }
    }
  }
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const t of exportTargets(pkg.exports)) {
    const rel = posix.normalize(t);
    if (!present.has(rel)) problems.push(`${name}: exports ${t}, which is not shipped`);
  }
  for (const field of ['repository', 'homepage', 'bugs', 'publishConfig', 'engines']) {
    if (pkg[field] === undefined) problems.push(`${name}: package.json has no ${field}`);
  }
  // One Node range for the repository and every package (AbortSignal.any needs 20.3, Symbol.asyncDispose 20.4).
  if (pkg.engines !== undefined && pkg.engines.node !== rootEngines) {
    problems.push(`${name}: engines.node is '${pkg.engines.node}', the repository's is '${rootEngines}'`);
  }
  return { pkg, files };
}

// 1. Pack.
const publishable = readdirSync(join(root, 'packages'))
  .map((d) => join(root, 'packages', d))
  .filter((d) => existsSync(join(d, 'package.json')))
  .map((d) => ({ dir: d, pkg: JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) }))
  .filter((p) => p.pkg.private !== true);
for (const p of publishable) {
  if (!existsSync(join(p.dir, 'dist'))) {
    console.error(`check-packages: ${p.pkg.name} has no dist/: run \`pnpm build\` first`);
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'tikv-check-packages-'));
const packDir = join(work, 'tarballs');
const project = join(work, 'consumer');
mkdirSync(packDir);
mkdirSync(join(project, 'node_modules'), { recursive: true });

try {
  step(`packing ${publishable.length} packages`);
  const packed = await Promise.all(
    publishable.map(async (p) => {
      const r = await run('pnpm', ['pack', '--pack-destination', packDir, '--json'], p.dir);
      if (r.status !== 0) throw new Error(`pnpm pack failed in ${p.dir}:\n${r.stderr}${r.stdout}`);
      const json = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
      return { ...p, tarball: resolve(packDir, json.filename) };
    }),
  );

  // 2. Extract into the consumer's node_modules and check the contents.
  step('extracting and checking tarball contents');
  let bytes = 0;
  for (const p of packed) {
    bytes += statSync(p.tarball).size;
    const dest = join(project, 'node_modules', ...p.pkg.name.split('/'));
    mkdirSync(dest, { recursive: true });
    const r = await run('tar', ['-xzf', p.tarball, '-C', dest, '--strip-components=1'], work);
    if (r.status !== 0) throw new Error(`tar failed on ${p.tarball}: ${r.stderr}`);
    p.installed = dest;
    checkContents(p.pkg.name, dest);
  }

  // Third-party dependencies: linked from where pnpm installed them for the workspace package.
  const ours = new Set(packed.map((p) => p.pkg.name));
  const link = (name, fromDir) => {
    const target = join(project, 'node_modules', ...name.split('/'));
    if (existsSync(target)) return;
    const source = join(fromDir, 'node_modules', ...name.split('/'));
    if (!existsSync(source)) {
      problems.push(`cannot link ${name}: not installed in ${relative(root, fromDir) || '.'}`);
      return;
    }
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(realpathSync(source), target, 'junction');
  };
  for (const p of packed) {
    const installed = JSON.parse(readFileSync(join(p.installed, 'package.json'), 'utf8'));
    // Peer dependencies too: a consumer installs them (@opentelemetry/api, prom-client).
    for (const [dep, range] of Object.entries({ ...installed.peerDependencies, ...installed.dependencies })) {
      if (ours.has(dep)) {
        if (String(range).startsWith('workspace:'))
          problems.push(`${p.pkg.name}: dependency ${dep} kept ${range}`);
        continue;
      }
      link(dep, p.dir);
    }
  }
  link('@types/node', root);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true })}\n`);

  // 3. Import every package as ESM and as CommonJS in plain Node.
  step('importing every package as ESM and CommonJS');
  const names = packed.map((p) => p.pkg.name);
  writeFileSync(
    join(project, 'esm-smoke.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
for (const name of ${JSON.stringify(names)}) {
  const m = await import(name);
  if (Object.keys(m).length === 0) throw new Error(name + ': the ESM build exports nothing');
  const c = require(name);
  if (Object.keys(c).length === 0) throw new Error(name + ': the CommonJS build exports nothing');
}
const esm = await import('@tikv/raw');
const cjs = require('@tikv/raw');
const e = new cjs.InvalidArgumentError('from the CommonJS copy');
if (e instanceof esm.TiKVError) throw new Error('expected distinct classes in the dual package');
if (!esm.isTiKVError(e) || !esm.isTiKVError(e, 'INVALID_ARGUMENT') || esm.isTiKVError(e, 'INTERNAL')) {
  throw new Error('isTiKVError from the ESM build does not recognise a CommonJS error');
}
console.log('esm ok');
`,
  );
  writeFileSync(
    join(project, 'cjs-smoke.cjs'),
    `for (const name of ${JSON.stringify(names)}) {
  const m = require(name);
  if (Object.keys(m).length === 0) throw new Error(name + ': the CommonJS build exports nothing');
}
console.log('cjs ok');
`,
  );
  const smokes = await Promise.all([
    run(process.execPath, ['esm-smoke.mjs'], project),
    run(process.execPath, ['cjs-smoke.cjs'], project),
    run(
      process.execPath,
      [join('node_modules', '@tikv', 'mock-cluster', 'dist', 'esm', 'bin.js'), '--help'],
      project,
    ),
    run(process.execPath, [join('node_modules', '@tikv', 'cli', 'dist', 'esm', 'bin.js'), '--help'], project),
  ]);
  for (const [what, r] of [
    ['ESM import', smokes[0]],
    ['CommonJS require', smokes[1]],
    ['tikv-mock-cluster --help', smokes[2]],
    ['tikv --help', smokes[3]],
  ]) {
    if (r.status !== 0) problems.push(`${what} failed:\n${r.stderr}${r.stdout}`);
  }
  if (!smokes[2].stdout.includes('Usage:')) problems.push('tikv-mock-cluster --help printed no usage');
  if (!smokes[3].stdout.includes('Usage: tikv')) problems.push('tikv --help printed no usage');

  // 4. Type-check a consumer under node10 (TypeScript 5) and nodenext (the repo's TypeScript).
  step('type-checking a consumer (node10, nodenext ESM and CommonJS)');
  const consumer = `import { ApiVersion, createCodec } from '@tikv/keyspace';
import { type ErrorCode, isTiKVError, RawClient, TiKVError } from '@tikv/raw';
import { PdClient } from '@tikv/pd';
import { RegionCache } from '@tikv/region-cache';
import { RpcClient } from '@tikv/rpc';
import { MockCluster } from '@tikv/mock-cluster';
import { kvrpcpb } from '@tikv/proto';
import { Backoffer } from '@tikv/common';
import { MemBuffer } from '@tikv/txn';

export async function main(): Promise<number> {
  const cluster = await MockCluster.start({ stores: 1 });
  try {
    const raw = await RawClient.connect({ pdEndpoints: [...cluster.pdEndpoints], apiVersion: ApiVersion.V1 });
    await raw.put('k', 'v', { timeoutMs: 1000 });
    await raw.close();
  } catch (e: unknown) {
    const code: ErrorCode | undefined = isTiKVError(e) ? e.code : undefined;
    if (e instanceof TiKVError && code !== undefined) return 1;
  } finally {
    await cluster.close();
  }
  const used: unknown[] = [PdClient, RegionCache, RpcClient, kvrpcpb.RawGetRequest, Backoffer, createCodec, new MemBuffer()];
  return used.length;
}
`;
  const tsconfig = (compilerOptions, files) =>
    `${JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022', lib: ['es2023'], types: ['node'], ...compilerOptions }, files }, null, 2)}\n`;
  writeFileSync(join(project, 'consumer-node10.ts'), consumer);
  writeFileSync(join(project, 'consumer-esm.mts'), consumer);
  writeFileSync(join(project, 'consumer-cjs.cts'), consumer);
  writeFileSync(
    join(project, 'tsconfig.node10.json'),
    tsconfig({ module: 'commonjs', moduleResolution: 'node10', esModuleInterop: false }, [
      'consumer-node10.ts',
    ]),
  );
  writeFileSync(
    join(project, 'tsconfig.nodenext.json'),
    tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, ['consumer-esm.mts', 'consumer-cjs.cts']),
  );
  const tscOf = (fromDir) => {
    const manifest = createRequire(join(fromDir, 'package.json')).resolve('typescript/package.json');
    return join(dirname(manifest), JSON.parse(readFileSync(manifest, 'utf8')).bin.tsc);
  };
  const ts5 = tscOf(here);
  const tsRepo = tscOf(root);
  const checks = await Promise.all([
    run(process.execPath, [ts5, '-p', 'tsconfig.node10.json'], project),
    run(process.execPath, [tsRepo, '-p', 'tsconfig.nodenext.json'], project),
  ]);
  for (const [what, r] of [
    ['tsc (TypeScript 5, node10, no esModuleInterop)', checks[0]],
    ['tsc (nodenext)', checks[1]],
  ]) {
    if (r.status !== 0) problems.push(`${what} rejects the consumer:\n${r.stdout}${r.stderr}`);
  }

  step(`done: ${packed.length} tarballs, ${(bytes / 1024).toFixed(0)} KiB packed`);
} catch (e) {
  problems.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
} finally {
  if (keep) console.log(`check-packages: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const p of problems) console.error(`check-packages: ${p}`);
  console.error(`check-packages: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('check-packages: ok');
