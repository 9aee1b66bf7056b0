/**
 * The transaction membuffer (`@tikv/txn` `MemBuffer`) against a plain sorted array (the
 * baseline: binary search + splice, or append then sort) and `sorted-btree`, on 1M entries of
 * 16-byte random keys and 64-byte values: loads in random and ascending order, inserts into a
 * full map, point gets, a full scan, and staging + overwrites + cleanup. Memory per entry is
 * measured in a child process per structure (`--expose-gc`), against the target of at most twice
 * the raw 80 bytes of key and value.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatRate, printRows } from './harness.js';
import type { MemoryReport } from './membuffer-memory.js';
import {
  type Dataset,
  KEY_BYTES,
  loadRandom,
  makeDataset,
  type OrderedMap,
  STRUCTURES,
  type StructureName,
  VALUE_BYTES,
} from './membuffer-structures.js';

const ENTRIES = 1_000_000;
/** New random keys inserted one at a time into a full map (the sorted array splices each). */
const INSERTS = 2_000;
/** Staging rounds, each overwriting this many existing keys and rolling them back. */
const STAGING_ROUNDS = 10_000;
const WRITES_PER_STAGING = 16;
const NAMES = Object.keys(STRUCTURES) as StructureName[];
const BASELINE: StructureName = 'sorted-array';

let sink = 0;

/** Best of `repeats` timed runs of `run` on a fresh `setup()`; returns operations per second. */
function bestRate<S>(ops: number, repeats: number, setup: () => S, run: (state: S) => unknown): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    const state = setup();
    const start = process.hrtime.bigint();
    const out = run(state);
    best = Math.min(best, Number(process.hrtime.bigint() - start));
    if (typeof out === 'number') sink += out;
  }
  return (ops * 1e9) / best;
}

function loaded(name: StructureName, data: Dataset): OrderedMap {
  const map = STRUCTURES[name]();
  loadRandom(map, data);
  return map;
}

/** Runs every speed case for one structure; returns ops/s by case. */
function speedOf(name: StructureName, data: Dataset, extra: Dataset): Map<string, number> {
  const { keys, values, sortedKeys } = data;
  const n = keys.length;
  const rates = new Map<string, number>();
  rates.set(
    `load ${n.toLocaleString('en-US')} in random order`,
    bestRate(
      n,
      2,
      () => STRUCTURES[name](),
      (map) => loadRandom(map, data),
    ),
  );
  rates.set(
    `load ${n.toLocaleString('en-US')} in ascending order`,
    bestRate(
      n,
      2,
      () => STRUCTURES[name](),
      (map) => {
        for (let i = 0; i < n; i++) map.set(sortedKeys[i]!, values[i]!);
      },
    ),
  );
  const map = loaded(name, data);
  rates.set(
    `get, random order`,
    bestRate(
      n,
      3,
      () => map,
      (m) => {
        let found = 0;
        for (let i = 0; i < n; i++) if (m.get(keys[i]!) !== undefined) found++;
        if (found !== n) throw new Error(`${name}: ${n - found} keys missing`);
        return found;
      },
    ),
  );
  rates.set(
    `scan all in key order`,
    bestRate(
      n,
      3,
      () => map,
      (m) => m.scan(),
    ),
  );
  rates.set(
    `staging, ${WRITES_PER_STAGING} overwrites, cleanup`,
    bestRate(
      STAGING_ROUNDS * WRITES_PER_STAGING,
      3,
      () => map,
      (m) => {
        let k = 0;
        for (let r = 0; r < STAGING_ROUNDS; r++) {
          m.staging();
          for (let w = 0; w < WRITES_PER_STAGING; w++, k += 7919) m.set(keys[k % n]!, values[(k + 1) % n]!);
          m.cleanup();
        }
      },
    ),
  );
  // Inserts last: they change the map.
  rates.set(
    `insert ${INSERTS.toLocaleString('en-US')} new keys into the full map`,
    bestRate(
      INSERTS,
      1,
      () => map,
      (m) => {
        for (let i = 0; i < INSERTS; i++) m.set(extra.keys[i]!, extra.values[i]!);
      },
    ),
  );
  return rates;
}

/** Runs one memory child and parses its report. */
function memoryOf(name: StructureName): Promise<MemoryReport> {
  const script = fileURLToPath(new URL('./membuffer-memory.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, name, String(ENTRIES)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`memory child for ${name} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as MemoryReport);
    });
  });
}

/** Runs the membuffer suite and prints its two tables. */
export async function runMembufferBench(): Promise<void> {
  console.log(
    `\nmembuffer: ${ENTRIES.toLocaleString('en-US')} entries, ${KEY_BYTES}-byte random keys, ${VALUE_BYTES}-byte values`,
  );
  const data = makeDataset(ENTRIES);
  const extra = makeDataset(INSERTS, 0x1234567);
  const speeds = new Map<StructureName, Map<string, number>>();
  for (const name of NAMES) speeds.set(name, speedOf(name, data, extra));
  const cases = [...speeds.get(BASELINE)!.keys()];
  const header = [
    'operation',
    ...NAMES.map((n) => `${n} ops/s`),
    ...NAMES.filter((n) => n !== BASELINE).map((n) => `${n} x baseline`),
  ];
  printRows(
    `membuffer speed (baseline: ${BASELINE}; random-order load = append + one sort, inserts = binary search + splice)`,
    header,
    cases.map((c) => {
      const base = speeds.get(BASELINE)!.get(c)!;
      return [
        c,
        ...NAMES.map((n) => formatRate(speeds.get(n)!.get(c)!)),
        ...NAMES.filter((n) => n !== BASELINE).map((n) => (speeds.get(n)!.get(c)! / base).toFixed(2)),
      ];
    }),
  );

  const raw = KEY_BYTES + VALUE_BYTES;
  const reports: MemoryReport[] = [];
  for (const name of NAMES) reports.push(await memoryOf(name));
  printRows(
    `membuffer memory, ${ENTRIES.toLocaleString('en-US')} entries loaded in random order (raw key + value = ${raw} bytes; target <= ${2 * raw} bytes = 2.00x)`,
    ['structure', 'bytes/entry', 'x raw', 'heap/entry', 'buffers/entry', 'RSS growth/entry'],
    reports.map((r) => {
      // A resizable ArrayBuffer's growth is invisible to V8's accounting: count the MemBuffer's
      // committed arenas (which hold every ArrayBuffer it allocated) instead.
      const buffers = r.arenaBytes > 0 ? r.arenaBytes : r.arrayBufferBytes;
      const total = (r.heapBytes + buffers) / r.entries;
      return [
        r.structure,
        total.toFixed(1),
        (total / raw).toFixed(2),
        (r.heapBytes / r.entries).toFixed(1),
        (buffers / r.entries).toFixed(1),
        (r.rssBytes / r.entries).toFixed(1),
      ];
    }),
  );
  if (sink === Number.MIN_VALUE) console.log(sink);
}
