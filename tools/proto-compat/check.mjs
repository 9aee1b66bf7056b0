// Compares the descriptors of our proto/ with those of a pingcap/kvproto checkout.
//
//   node tools/proto-compat/check.mjs <kvproto-dir> [wanted-list]
//
// Every message, enum and service we define must exist in kvproto with the same package and
// name; every message must carry all of kvproto's fields with identical names, numbers,
// labels, types and oneof membership; every enum the same values; every service method we
// declare the same input, output and streaming kinds. Each name in the wanted list (one
// fully-qualified name a line, such as `.kvrpcpb.Context`) must be defined by us.
// Exits 1 and lists every difference when something does not match.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary, isFieldSet } from '@bufbuild/protobuf';
import { FieldOptionsSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const require = createRequire(import.meta.url);
const buf = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');

function build(modules, cwd) {
  const dir = mkdtempSync(join(tmpdir(), 'proto-compat-'));
  const out = join(dir, 'image.binpb');
  const yaml = ['version: v2', 'modules:', ...modules.map((m) => `  - path: ${m}`)].join('\n');
  const cfg = join(dir, 'buf.yaml');
  writeFileSync(cfg, `${yaml}\n`);
  try {
    execFileSync(buf, ['build', '--config', cfg, '-o', out], {
      cwd,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return fromBinary(FileDescriptorSetSchema, readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Indexes every message, enum and service by its fully-qualified name. */
function index(set) {
  const messages = new Map();
  const enums = new Map();
  const services = new Map();
  for (const file of set.file) {
    const pkg = file.package ? `.${file.package}` : '';
    const walk = (prefix, msgs, ens) => {
      for (const e of ens) enums.set(`${prefix}.${e.name}`, e);
      for (const m of msgs) {
        const name = `${prefix}.${m.name}`;
        messages.set(name, m);
        walk(name, m.nestedType, m.enumType);
      }
    };
    walk(pkg, file.messageType, file.enumType);
    for (const s of file.service) services.set(`${pkg}.${s.name}`, { file: file.name, s });
  }
  return { messages, enums, services };
}

// Scalar types that proto3 packs by default when repeated (everything but string, bytes,
// message and group: types 9, 12, 11, 10).
const NOT_PACKABLE = new Set([9, 10, 11, 12]);
const LABEL_REPEATED = 3;

/** Whether a field is packed on the wire: proto3's default unless `packed` is set explicitly. */
function packing(f) {
  if (f.label !== LABEL_REPEATED || NOT_PACKABLE.has(f.type)) return undefined;
  if (f.options && isFieldSet(f.options, FieldOptionsSchema.field.packed)) return f.options.packed;
  return true;
}

function fieldShape(m, f) {
  const oneof = f.oneofIndex !== undefined && !f.proto3Optional ? m.oneofDecl[f.oneofIndex]?.name : undefined;
  return JSON.stringify({
    name: f.name,
    number: f.number,
    label: f.label,
    type: f.type,
    typeName: f.typeName || undefined,
    oneof,
    proto3Optional: f.proto3Optional || undefined,
    packed: packing(f),
  });
}

const [kvprotoDir, wantedPath] = process.argv.slice(2);
if (!kvprotoDir) {
  console.error('usage: node tools/proto-compat/check.mjs <kvproto-dir> [wanted-list]');
  process.exit(2);
}
const ours = index(build(['proto'], root));
const kvRoot = resolve(kvprotoDir);
const theirs = index(
  build(
    ['proto', 'include'].filter((d) => existsSync(join(kvRoot, d))),
    kvRoot,
  ),
);

const problems = [];
for (const [name, m] of ours.messages) {
  const t = theirs.messages.get(name);
  if (!t) {
    problems.push(`message ${name}: not in kvproto`);
    continue;
  }
  const mine = new Map(m.field.map((f) => [f.number, fieldShape(m, f)]));
  for (const f of t.field) {
    const want = fieldShape(t, f);
    const got = mine.get(f.number);
    if (got === undefined) problems.push(`message ${name}: missing field ${f.name} = ${f.number}`);
    else if (got !== want)
      problems.push(`message ${name}: field ${f.number} differs\n    ours   ${got}\n    kvproto ${want}`);
    mine.delete(f.number);
  }
  for (const extra of mine.values()) problems.push(`message ${name}: field not in kvproto ${extra}`);
}
for (const [name, e] of ours.enums) {
  const t = theirs.enums.get(name);
  if (!t) {
    problems.push(`enum ${name}: not in kvproto`);
    continue;
  }
  const shape = (en) =>
    en.value
      .map((v) => `${v.name}=${v.number}`)
      .sort()
      .join(',');
  if (shape(e) !== shape(t))
    problems.push(`enum ${name}: values differ\n    ours   ${shape(e)}\n    kvproto ${shape(t)}`);
}
for (const [name, { s }] of ours.services) {
  const t = theirs.services.get(name);
  if (!t) {
    problems.push(`service ${name}: not in kvproto`);
    continue;
  }
  const methods = new Map(t.s.method.map((mm) => [mm.name, mm]));
  for (const mm of s.method) {
    const tm = methods.get(mm.name);
    const shape = (x) =>
      `${x.inputType} -> ${x.outputType} client_streaming=${!!x.clientStreaming} server_streaming=${!!x.serverStreaming}`;
    if (!tm) problems.push(`service ${name}: method ${mm.name} not in kvproto`);
    else if (shape(mm) !== shape(tm))
      problems.push(`service ${name}.${mm.name}: ${shape(mm)} vs kvproto ${shape(tm)}`);
  }
}
if (wantedPath) {
  for (const line of readFileSync(wantedPath, 'utf8').split('\n')) {
    const want = line.trim();
    if (want && !ours.messages.has(want) && !ours.enums.has(want))
      problems.push(`wanted type ${want}: not defined`);
  }
}

const counts = `${ours.messages.size} messages, ${ours.enums.size} enums, ${ours.services.size} services`;
if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} difference(s) from kvproto (${counts} checked)`);
  process.exit(1);
}
console.log(`proto/ matches kvproto: ${counts}`);
