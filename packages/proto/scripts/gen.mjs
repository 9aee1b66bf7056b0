// Generates src/gen from the repository's proto/ with ts-proto (through buf).
//   node scripts/gen.mjs          regenerate src/gen
//   node scripts/gen.mjs --check  fail when the committed src/gen differs from a fresh generation
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(pkg, '..', '..');
const require = createRequire(join(pkg, 'package.json'));
const buf = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
const plugin = join(pkg, 'node_modules', '.bin', 'protoc-gen-ts_proto');

const options = [
  'outputServices=nice-grpc',
  'outputServices=generic-definitions',
  'useExactTypes=false',
  'esModuleInterop=true',
  'forceLong=bigint',
  'oneof=unions-value',
  'outputJsonMethods=false',
  'importSuffix=.js',
];

function generate(outDir) {
  const work = mkdtempSync(join(tmpdir(), 'tikv-proto-gen-'));
  try {
    const bufYaml = join(work, 'buf.yaml');
    writeFileSync(bufYaml, 'version: v2\nmodules:\n  - path: proto\n');
    const genYaml = join(work, 'buf.gen.yaml');
    const opt = options.map((o) => `      - ${o}`).join('\n');
    writeFileSync(
      genYaml,
      `version: v2\nplugins:\n  - local: ${plugin}\n    out: ${outDir}\n    opt:\n${opt}\n`,
    );
    execFileSync(buf, ['generate', '--config', bufYaml, '--template', genYaml], {
      cwd: root,
      stdio: 'inherit',
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function listFiles(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p));
  }
  return out.sort();
}

const target = join(pkg, 'src', 'gen');
if (process.argv.includes('--check')) {
  const fresh = mkdtempSync(join(tmpdir(), 'tikv-proto-fresh-'));
  try {
    generate(fresh);
    const a = listFiles(fresh);
    const b = listFiles(target);
    const differing = [...new Set([...a, ...b])].filter((f) => {
      try {
        return readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(target, f), 'utf8');
      } catch {
        return true;
      }
    });
    if (differing.length > 0) {
      console.error(
        `src/gen is stale; run \`pnpm --filter @tikv/proto gen\`. Differs: ${differing.join(', ')}`,
      );
      process.exit(1);
    }
    console.log(`src/gen matches a fresh generation (${a.length} files)`);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
} else {
  // Generate into a scratch folder first so a failed run leaves the committed output intact.
  const fresh = mkdtempSync(join(tmpdir(), 'tikv-proto-fresh-'));
  try {
    generate(fresh);
    rmSync(target, { recursive: true, force: true });
    cpSync(fresh, target, { recursive: true });
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
  console.log(`generated ${listFiles(target).length} files into ${relative(root, target)}`);
}
