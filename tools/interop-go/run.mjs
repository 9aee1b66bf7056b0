#!/usr/bin/env node
// `pnpm interop:go`: runs TiKV's Go client (client-go, current master from a local checkout)
// against the standalone mock cluster, in API V1 and V2, and prints a pass/fail table.
//
// client-go comes from a git checkout on this machine (CLIENT_GO_GIT, default: the fetched
// mirror), extracted with `git archive` into a temporary folder and used through a `replace`
// directive (tools/scripts/client-go-program.mjs, shared with `pnpm bench peer`); none of its code
// enters this repository. Its dependencies come from the Go module proxy. Skipped (exit 0) with a
// message when `go`, the checkout or the modules are missing. Not part of CI.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClientGoProgram } from '../scripts/client-go-program.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
/** An environment variable (read by name: these are this script's own, not turbo's). */
const envVar = (name) => process.env[name];
const apiVersions = (envVar('INTEROP_API_VERSIONS') ?? 'V1,V2').split(',');
const regions = 4;

function skip(why) {
  console.log(`interop:go skipped: ${why}`);
  process.exit(0);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

// 1. The interop program, built against the client-go checkout.
const program = buildClientGoProgram({ name: 'interop-go', sourceDir: here });
if (!program.built) skip(program.reason);
const { bin, workDir: work } = program;

// 2. The mock's standalone process.
const turbo = run(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--filter=@tikv/mock-cluster...', '--output-logs=errors-only'],
  {
    cwd: root,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    stdio: 'inherit',
  },
);
if (turbo.status !== 0) process.exit(1);
const mockBin = join(root, 'packages/mock-cluster/dist/esm/bin.js');

async function freePort() {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startMock(apiVersion, extraArgs) {
  const [pd, ...storePorts] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = ['--pd-port', String(pd), '--store-ports', storePorts.join(','), '--regions', String(regions)];
  const child = spawn(process.execPath, [mockBin, ...args, '--api-version', apiVersion, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  await new Promise((resolveReady, reject) => {
    child.once('exit', (code) => reject(new Error(`the mock exited with ${code} before serving:\n${out}`)));
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('api version:')) resolveReady();
    });
  });
  return { child, pd: `127.0.0.1:${pd}` };
}

async function stopMock(child) {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

// 4. Each API version against its own mock. In API V1, TiKV keeps region boundaries as the client
// that split them wrote them: raw keys for a raw client, memcomparable-encoded keys for a
// transactional one (client-go's V1 txn codec decodes every boundary PD returns), and the two do
// not share a V1 cluster. So V1 runs the raw and PD groups against a raw-boundary mock and the txn
// group against a second, memcomparable one; V2 (where the key's mode prefix keeps them apart)
// runs every group against one mock.
const runsOf = (apiVersion) =>
  apiVersion === 'V1'
    ? [
        { groups: 'pd,raw', mockArgs: [] },
        { groups: 'txn', mockArgs: ['--region-key-encoding', 'memcomparable'] },
      ]
    : [{ groups: '', mockArgs: [] }];
const only = envVar('INTEROP_RUN');
const results = new Map(); // "group/case" -> { V1: result, V2: result }
for (const apiVersion of apiVersions) {
  for (const [i, { groups, mockArgs }] of runsOf(apiVersion).entries()) {
    const mock = await startMock(apiVersion, mockArgs);
    const out = join(work, `results-${apiVersion}-${i}.jsonl`);
    const logFile = join(work, `client-go-${apiVersion}-${i}.log`);
    try {
      // `--regions 4` cuts the key space at 0x40, 0x80 and 0xc0: the checks spread their keys over them.
      const args = ['-pd', mock.pd, '-api-version', apiVersion, '-out', out, '-groups', groups];
      if (only !== undefined) args.push('-run', only);
      const r = run(bin, args);
      writeFileSync(logFile, r.stdout + r.stderr);
      if (!existsSync(out))
        throw new Error(`the interop program wrote no results (exit ${r.status}); see ${logFile}`);
      for (const line of readFileSync(out, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const res = JSON.parse(line);
        const id = `${res.group}/${res.case}`;
        if (!results.has(id)) results.set(id, {});
        results.get(id)[apiVersion] = res;
      }
    } finally {
      await stopMock(mock.child);
    }
  }
}

// 4. The table.
const cell = (r) => (r === undefined ? '-' : r.skipped ? 'skip' : r.ok ? 'pass' : 'FAIL');
const width = Math.max(...[...results.keys()].map((k) => k.length), 10);
console.log(`\n${'check'.padEnd(width)}  ${apiVersions.map((v) => v.padEnd(5)).join(' ')}  ms`);
let passed = 0;
let failed = 0;
const details = [];
for (const [id, byVersion] of results) {
  const cells = apiVersions.map((v) => cell(byVersion[v]).padEnd(5)).join(' ');
  const ms = apiVersions.map((v) => byVersion[v]?.ms ?? '-').join('/');
  console.log(`${id.padEnd(width)}  ${cells}  ${ms}`);
  for (const v of apiVersions) {
    const r = byVersion[v];
    if (r === undefined || r.skipped) continue;
    if (r.ok) passed++;
    else {
      failed++;
      details.push(`${id} (${v}): ${r.detail}`);
    }
  }
}
if (details.length > 0) console.log(`\n${details.join('\n')}`);
console.log(`\nclient-go logs: ${work}/client-go-*.log`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
