// A script awaiting a call must not exit before the call settles, and a settled call must leave
// nothing that keeps the process alive (issue 10). Only a real `node` process shows either, so
// each case runs a small script, as ESM and as CommonJS, against the packages as installed.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

/** The e2e package directory: scripts resolve `@tikv/*` from its node_modules. */
const E2E_DIR = dirname(__dirname);
/** A script still running after this is killed (and the test fails). */
const KILL_AFTER_MS = 30_000;

interface Run {
  readonly code: number | null;
  readonly killed: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `source` with `node` (as an ES module or as CommonJS) in the e2e package directory. */
function runNode(source: string, type: 'module' | 'commonjs'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--input-type=${type}`, '-e', source], {
      cwd: E2E_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, stdout, stderr });
    });
  });
}

/** A loopback port nothing listens on: bound, then closed. */
function deadPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The same script body as ESM (top-level await) and as CommonJS (an async main). */
function script(imports: Record<string, string[]>, body: string, type: 'module' | 'commonjs'): string {
  const lines = Object.entries(imports).map(([pkg, names]) =>
    type === 'module'
      ? `import { ${names.join(', ')} } from '${pkg}';`
      : `const { ${names.join(', ')} } = require('${pkg}');`,
  );
  return type === 'module'
    ? `${lines.join('\n')}\n${body}`
    : // Unhandled, as a top-level await's rejection is: the process prints it and exits 1.
      `${lines.join('\n')}\n(async () => {\n${body}\n})();`;
}

jest.setTimeout(KILL_AFTER_MS * 2);

describe.each(['module', 'commonjs'] as const)('a %s script', (type) => {
  test('awaiting RawClient.connect on a dead PD waits for the deadline and prints the error', async () => {
    const port = await deadPort();
    const r = await runNode(
      script(
        { '@tikv/raw': ['RawClient'] },
        `const raw = await RawClient.connect({ pdEndpoints: ['127.0.0.1:${port}'] }, { timeoutMs: 1500 });
console.log('after connect');
await raw.close();`,
        type,
      ),
      type,
    );
    expect(r.killed).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('after connect');
    expect(r.stderr).toMatch(/DEADLINE_EXCEEDED|Error/);
  });

  test('awaiting PdClient.connect on a dead PD waits for the deadline and prints the error', async () => {
    const port = await deadPort();
    const r = await runNode(
      script(
        { '@tikv/pd': ['PdClient'] },
        `const pd = await PdClient.connect({ endpoints: ['127.0.0.1:${port}'] }, { timeoutMs: 1500 });
console.log('after connect');
await pd.close();`,
        type,
      ),
      type,
    );
    expect(r.killed).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain('after connect');
    expect(r.stderr).toMatch(/DEADLINE_EXCEEDED|Error/);
  });

  test('awaiting raw.get with timeoutMs after the cluster died rejects with the deadline', async () => {
    const r = await runNode(
      script(
        { '@tikv/mock-cluster': ['MockCluster'], '@tikv/raw': ['RawClient'] },
        `const cluster = await MockCluster.start({ stores: 1 });
const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints });
await raw.put('k', 'v');
await cluster.close();
console.log('closed the cluster');
const v = await raw.get('k', { timeoutMs: 1500 });
console.log('after get', v);`,
        type,
      ),
      type,
    );
    expect(r.killed).toBe(false);
    expect(r.stdout).toContain('closed the cluster');
    expect(r.stdout).not.toContain('after get');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('DEADLINE_EXCEEDED');
  });

  test('settled calls with a long timeoutMs leave no timer holding the process; it exits by itself', async () => {
    const r = await runNode(
      script(
        { '@tikv/mock-cluster': ['MockCluster'], '@tikv/raw': ['RawClient'] },
        `const cluster = await MockCluster.start({ stores: 1 });
const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints }, { timeoutMs: 60000 });
const shared = new AbortController();
for (let i = 0; i < 100; i++) await raw.put('k' + i, 'v', { timeoutMs: 60000, signal: shared.signal });
await Promise.all(Array.from({ length: 100 }, (_, i) => raw.get('k' + i, { timeoutMs: 60000 })));
await raw.batchGet(['k1', 'k2'], { timeoutMs: 60000 });
await raw.scan('', '', { timeoutMs: 60000, limit: 10 });
await raw.close();
await cluster.close();
console.log('timers', process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length);`,
        type,
      ),
      type,
    );
    expect(r.killed).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('timers 0');
  });
});
