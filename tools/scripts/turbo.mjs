// Runs turbo with its telemetry (and its banner) off, on every platform: `node
// tools/scripts/turbo.mjs run build ...`. turbo reads the switch only from the environment
// (turbo.json has no such setting), and a package.json script cannot set an environment
// variable portably, hence this wrapper.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manifest = createRequire(join(root, 'package.json')).resolve('turbo/package.json');
const bin = JSON.parse(readFileSync(manifest, 'utf8')).bin.turbo;
const r = spawnSync(process.execPath, [join(dirname(manifest), bin), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
});
process.exit(r.status ?? 1);
