/**
 * Child process of the membuffer benchmark: loads 1M entries into one structure and prints its
 * memory as one JSON line. Run with `--expose-gc`, one structure per process, so nothing else
 * of the benchmark is on the heap: `node --expose-gc membuffer-memory.js <structure> <entries>`.
 */
import {
  loadRandom,
  MemBufferMap,
  makeDataset,
  STRUCTURES,
  type StructureName,
} from './membuffer-structures.js';

/** What one child reports. */
export interface MemoryReport {
  readonly structure: StructureName;
  readonly entries: number;
  /** Growth of V8's used heap (objects, arrays, typed-array objects), bytes. */
  readonly heapBytes: number;
  /** Growth of V8-accounted `ArrayBuffer` memory, bytes (V8 does not see a resizable buffer grow). */
  readonly arrayBufferBytes: number;
  /** The MemBuffer's committed arena bytes (0 for the others). */
  readonly arenaBytes: number;
  /** Growth of the resident set, bytes: the cross-check that sees everything. */
  readonly rssBytes: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
const [name, entriesArg] = process.argv.slice(2);
if (gc === undefined || name === undefined || !(name in STRUCTURES)) {
  console.error(
    'usage: node --expose-gc membuffer-memory.js <membuffer|sorted-array|sorted-btree> [entries]',
  );
  process.exit(2);
}
const structure = name as StructureName;
const entries = Number(entriesArg ?? 1_000_000);
const data = makeDataset(entries);
const settle = (): NodeJS.MemoryUsage => {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
};
const before = settle();
const map = STRUCTURES[structure]();
loadRandom(map, data);
const after = settle();
const report: MemoryReport = {
  structure,
  entries,
  heapBytes: after.heapUsed - before.heapUsed,
  arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
  arenaBytes: map instanceof MemBufferMap ? map.buffer.memoryBytes : 0,
  rssBytes: after.rss - before.rss,
};
// The map is still in use here: nothing of it was collected before the measurement.
if (map.get(data.keys[0]!) === undefined) throw new Error('the first key is missing');
console.log(JSON.stringify(report));
