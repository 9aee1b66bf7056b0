import { compareKeys } from '@tikv/common';
import { applyFlagsOps, FlagsOp, MemBuffer, PERSISTENT_KEY_FLAGS } from '../src/index.js';
import { be32, hex, prng } from './helpers.js';

// Randomized tests against a reference model (a Map and a sort), and the ports of client-go's
// memdb_norace_test.go (which checks against goleveldb's memdb).

const NEED_CONSTRAINT_CHECK_IN_PREWRITE = 1 << 11;

interface ModelEntry {
  key: Uint8Array;
  /** Undefined: flags only. */
  value: Uint8Array | undefined;
  flags: number;
}

interface ModelStage {
  /** The value when the staging opened of each key written since (hex key -> value, undefined = none). */
  readonly start: Map<string, Uint8Array | undefined>;
  /** Keys whose value was written since the staging opened (nested released ones included). */
  readonly written: Set<string>;
}

/**
 * What the buffer must do, written the plain way: client-go's value rollback and its flag rule
 * (a cleanup keeps a key's flags, except that a key that had no value when the staging opened
 * keeps only its persistent flags, and leaves when it has none).
 */
class Model {
  readonly entries = new Map<string, ModelEntry>();
  readonly stages: ModelStage[] = [];
  dirty = false;

  write(key: Uint8Array, value: Uint8Array | undefined, ops: readonly FlagsOp[]): void {
    const k = hex(key);
    if (this.stages.length === 0) this.dirty = true;
    let e = this.entries.get(k);
    if (e === undefined) {
      e = { key: key.slice(), value: undefined, flags: 0 };
      this.entries.set(k, e);
    }
    let flags = e.flags;
    if (value !== undefined) flags &= ~NEED_CONSTRAINT_CHECK_IN_PREWRITE;
    flags = applyFlagsOps(flags, ops);
    if ((flags & PERSISTENT_KEY_FLAGS) !== 0) this.dirty = true;
    e.flags = flags;
    if (value !== undefined) {
      for (const stage of this.stages) if (!stage.start.has(k)) stage.start.set(k, e.value);
      e.value = value.slice();
      this.stages.at(-1)?.written.add(k);
    }
  }

  staging(): number {
    this.stages.push({ start: new Map(), written: new Set() });
    return this.stages.length;
  }

  /** The value of key `k` when the outermost staging opened. */
  snapshotValue(k: string): Uint8Array | undefined {
    const start = this.stages[0]!.start;
    return start.has(k) ? start.get(k) : this.entries.get(k)?.value;
  }

  release(): void {
    const s = this.stages.pop()!;
    const parent = this.stages.at(-1);
    if (parent !== undefined) for (const k of s.written) parent.written.add(k);
    else if (s.written.size > 0) this.dirty = true;
  }

  cleanup(): void {
    const s = this.stages.pop()!;
    for (const k of s.written) {
      const e = this.entries.get(k)!;
      const before = s.start.get(k);
      e.value = before;
      if (before !== undefined) continue;
      e.flags &= PERSISTENT_KEY_FLAGS;
      if (e.flags === 0) this.entries.delete(k);
    }
  }

  get len(): number {
    return this.entries.size;
  }

  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.key.length + (e.value?.length ?? 0);
    return n;
  }

  sorted(): ModelEntry[] {
    return [...this.entries.values()].sort((x, y) => compareKeys(x.key, y.key));
  }
}

/** Compares everything observable of the buffer with the model. */
function checkAgainst(buffer: MemBuffer, model: Model, probes: readonly Uint8Array[]): void {
  expect(buffer.len).toBe(model.len);
  expect(buffer.sizeBytes).toBe(model.size);
  expect(buffer.dirty).toBe(model.dirty);
  expect(buffer.stagingDepth).toBe(model.stages.length);
  const sorted = model.sorted();
  const show = (key: Uint8Array, value: Uint8Array | undefined, flags: number): string =>
    `${hex(key)}=${value === undefined ? '-' : hex(value)}/${flags}`;
  // Every entry with flags, forward and backward.
  const withFlags: string[] = [];
  for (const it = buffer.iter(undefined, undefined, { includeFlagsOnly: true }); it.valid; it.next()) {
    withFlags.push(show(it.key(), it.value(), it.flags()));
  }
  expect(withFlags).toEqual(sorted.map((e) => show(e.key, e.value, e.flags)));
  const backward: string[] = [];
  for (const it = buffer.iter(undefined, undefined, { reverse: true }); it.valid; it.next()) {
    backward.push(show(it.key(), it.value(), it.flags()));
  }
  expect(backward).toEqual(
    sorted
      .filter((e) => e.value !== undefined)
      .map((e) => show(e.key, e.value, e.flags))
      .reverse(),
  );
  // Point reads and bounded scans around probe keys.
  for (const p of probes) {
    const e = model.entries.get(hex(p));
    expect(buffer.get(p)?.slice()).toEqual(e?.value);
    expect(buffer.getFlags(p)).toBe(e?.flags);
    const from = buffer.iter(p);
    const first = sorted.find((x) => x.value !== undefined && compareKeys(x.key, p) >= 0);
    expect(from.valid ? hex(from.key()) : undefined).toBe(first === undefined ? undefined : hex(first.key));
    const below = buffer.iter(undefined, p, { reverse: true });
    const last = sorted.findLast((x) => x.value !== undefined && compareKeys(x.key, p) < 0);
    expect(below.valid ? hex(below.key()) : undefined).toBe(last === undefined ? undefined : hex(last.key));
  }
  // The snapshot reads the buffer as the outermost staging found it.
  if (model.stages.length > 0) {
    const snap = buffer.getSnapshot();
    const seen: string[] = [];
    for (const it = snap.iter(); it.valid; it.next()) seen.push(`${hex(it.key())}=${hex(it.value()!)}`);
    const expected = [...new Set([...model.entries.keys(), ...model.stages[0]!.start.keys()])]
      .map((k) => [k, model.snapshotValue(k)] as const)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${k}=${hex(v!)}`);
    expect(seen).toEqual(expected);
    for (const p of probes) expect(snap.get(p)?.slice()).toEqual(model.snapshotValue(hex(p)));
    // inspectStage of the newest staging visits exactly the keys written in it.
    const inspected: string[] = [];
    buffer.inspectStage(model.stages.length, (key, flags, value) => inspected.push(show(key, value, flags)));
    const newest = model.stages.at(-1)!;
    expect(inspected.sort()).toEqual(
      [...newest.written]
        .map((k) => model.entries.get(k)!)
        .map((e) => show(e.key, e.value, e.flags))
        .sort(),
    );
  }
}

const ALL_OPS = Object.values(FlagsOp);

describe('membuffer against a reference model', () => {
  test.each([1, 2, 3, 4])('random writes, flags and nested staging/release/cleanup (seed %i)', (seed) => {
    const r = prng(seed * 7919);
    const buffer = new MemBuffer({ totalSizeLimitBytes: Number.POSITIVE_INFINITY });
    const model = new Model();
    // A small key space with shared prefixes, prefixes of each other and long keys.
    const keys: Uint8Array[] = [];
    for (let i = 0; i < 120; i++) {
      const shape = r.int(4);
      if (shape === 0) keys.push(r.bytes(1 + r.int(3)));
      else if (shape === 1) keys.push(Uint8Array.from([7, 7, ...r.bytes(r.int(4))]));
      else if (shape === 2) keys.push(Uint8Array.from([...new Uint8Array(24).fill(3), ...r.bytes(r.int(3))]));
      else keys.push(be32(r.int(64)));
    }
    const pick = (): Uint8Array => keys[r.int(keys.length)]!;
    const ops = (): FlagsOp[] => Array.from({ length: r.int(3) }, () => ALL_OPS[r.int(ALL_OPS.length)]!);
    const value = (key: Uint8Array): Uint8Array => {
      // Often the same length as the current value, so in-place overwrites happen.
      const current = buffer.get(key);
      const length =
        current !== undefined && current.length > 0 && r.int(2) === 0 ? current.length : 1 + r.int(6);
      return r.bytes(length);
    };
    for (let step = 0; step < 3000; step++) {
      const roll = r.int(100);
      if (roll < 35) {
        const k = pick();
        const v = value(k);
        buffer.set(k, v);
        model.write(k, v, []);
      } else if (roll < 45) {
        const k = pick();
        const v = value(k);
        const o = ops();
        buffer.setWithFlags(k, v, ...o);
        model.write(k, v, o);
      } else if (roll < 55) {
        const k = pick();
        if (r.int(2) === 0) {
          buffer.delete(k);
          model.write(k, new Uint8Array(0), []);
        } else {
          const o = ops();
          buffer.deleteWithFlags(k, ...o);
          model.write(k, new Uint8Array(0), o);
        }
      } else if (roll < 63) {
        const k = pick();
        const o = ops();
        buffer.updateFlags(k, ...o);
        model.write(k, undefined, o);
      } else if (roll < 73) {
        if (model.stages.length < 8) expect(buffer.staging()).toBe(model.staging());
      } else if (roll < 83) {
        if (model.stages.length > 0) {
          buffer.release(buffer.stagingDepth);
          model.release();
        }
      } else if (roll < 93) {
        if (model.stages.length > 0) {
          buffer.cleanup(buffer.stagingDepth);
          model.cleanup();
        }
      } else {
        checkAgainst(buffer, model, [pick(), pick(), pick(), r.bytes(1 + r.int(5))]);
      }
    }
    while (model.stages.length > 0) {
      if (r.int(2) === 0) {
        buffer.release(buffer.stagingDepth);
        model.release();
      } else {
        buffer.cleanup(buffer.stagingDepth);
        model.cleanup();
      }
      checkAgainst(buffer, model, keys.slice(0, 10));
    }
    checkAgainst(buffer, model, keys);
  });

  test('deleteWithFlags applies its flags like setWithFlags', () => {
    const buffer = new MemBuffer();
    buffer.deleteWithFlags(be32(1), FlagsOp.SetKeyLocked, FlagsOp.SetAssertNotExist);
    const model = new Model();
    model.write(be32(1), new Uint8Array(0), [FlagsOp.SetKeyLocked, FlagsOp.SetAssertNotExist]);
    checkAgainst(buffer, model, [be32(1)]);
  });

  test('checkpoints revert values like a cleanup, under open stagings too', () => {
    const r = prng(99);
    const buffer = new MemBuffer();
    const model = new Model();
    for (let i = 0; i < 200; i++) {
      const k = be32(r.int(50));
      const v = r.bytes(1 + r.int(4));
      buffer.set(k, v);
      model.write(k, v, []);
    }
    // A checkpoint is a staging whose end is chosen later.
    const cp = buffer.checkpoint();
    model.staging();
    const outer = buffer.staging();
    for (let i = 0; i < 200; i++) {
      const k = be32(r.int(80));
      const v = r.bytes(1 + r.int(4));
      buffer.setWithFlags(k, v, FlagsOp.SetPresumeKeyNotExists);
      model.write(k, v, [FlagsOp.SetPresumeKeyNotExists]);
    }
    buffer.release(outer);
    buffer.revertToCheckpoint(cp);
    model.cleanup();
    checkAgainst(
      buffer,
      model,
      Array.from({ length: 80 }, (_, i) => be32(i)),
    );
    expect(() =>
      buffer.revertToCheckpoint({ position: cp.position + 1_000_000, generation: cp.generation }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    buffer.reset();
    expect(() => buffer.revertToCheckpoint(cp)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('memdb_norace_test.go', () => {
  test('TestRandom', () => {
    const r = prng(2024);
    const cnt = 50000;
    const keys = Array.from({ length: cnt }, () => r.bytes(r.int(19) + 1));
    const buffer = new MemBuffer({ totalSizeLimitBytes: Number.POSITIVE_INFINITY });
    const model = new Model();
    for (const k of keys) {
      buffer.set(k, k);
      model.write(k, k, []);
    }
    expect(buffer.len).toBe(model.len);
    expect(buffer.sizeBytes).toBe(model.size);
    // client-go removes 35% of the keys from its RBT (RemoveFromBuffer, a test-only call the ART
    // lacks); here they are deleted (tombstones) and the rest overwritten.
    for (let i = keys.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    for (const k of keys) {
      if (r.float() < 0.35) {
        buffer.delete(k);
        model.write(k, new Uint8Array(0), []);
      } else {
        const v = r.bytes(r.int(19) + 1);
        buffer.set(k, v);
        model.write(k, v, []);
      }
    }
    checkConsist(buffer, model);
  });

  test('TestRandomDerive', () => {
    const r = prng(77);
    const buffer = new MemBuffer({ totalSizeLimitBytes: Number.POSITIVE_INFINITY });
    const golden = new Model();
    const recur = (depth: number): void => {
      let keys: Uint8Array[];
      const op = r.float();
      if (op < 0.33) {
        const start = r.int(512);
        const end = r.int(512) + 512;
        keys = Array.from({ length: end - start }, (_, i) => u64(start + i));
      } else if (op < 0.66) {
        keys = Array.from({ length: r.int(512) + 512 }, () => r.bytes(r.int(19) + 1));
      } else {
        keys = Array.from({ length: 512 }, (_, i) => u64(i));
      }
      golden.staging();
      const h = buffer.staging();
      for (const k of keys) {
        const v = r.bytes(r.int(255) + 1);
        buffer.set(k, v);
        golden.write(k, v, []);
      }
      if (depth < 100) recur(depth + 1);
      if (r.float() < 0.3 && depth > 0) {
        buffer.cleanup(h);
        golden.cleanup();
      } else {
        buffer.release(h);
        golden.release();
      }
      if (depth % 10 === 0) checkConsist(buffer, golden);
    };
    recur(0);
  });

  test('TestRandomAB (against the model: there is one buffer implementation here)', () => {
    const r = prng(5);
    const buffer = new MemBuffer({ totalSizeLimitBytes: Number.POSITIVE_INFINITY });
    const model = new Model();
    const cnt = 50000;
    for (let i = 0; i < cnt; i++) {
      const h = buffer.staging();
      expect(h).toBe(model.staging());
      const k = r.bytes(r.int(19) + 1);
      buffer.set(k, k);
      model.write(k, k, []);
      if (i % 2 === 0) {
        buffer.cleanup(h);
        model.cleanup();
      } else {
        buffer.release(h);
        model.release();
      }
      if (i % 5000 === 0) {
        const probe = r.bytes(r.int(19) + 1);
        expect(buffer.dirty).toBe(model.dirty);
        expect(buffer.len).toBe(model.len);
        expect(buffer.sizeBytes).toBe(model.size);
        expect(buffer.get(probe)?.slice()).toEqual(model.entries.get(hex(probe))?.value);
        const sorted = model.sorted();
        const from: string[] = [];
        for (const it = buffer.iter(probe); it.valid; it.next()) from.push(hex(it.key()));
        expect(from).toEqual(sorted.filter((e) => compareKeys(e.key, probe) >= 0).map((e) => hex(e.key)));
        const below: string[] = [];
        for (const it = buffer.iter(probe, undefined, { reverse: true }); it.valid; it.next())
          below.push(hex(it.key()));
        expect(below).toEqual(
          sorted
            .filter((e) => compareKeys(e.key, probe) >= 0)
            .map((e) => hex(e.key))
            .reverse(),
        );
      }
    }
  });
});

/** 8-byte big-endian. */
function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** client-go's `checkConsist`: sizes, point reads, seeks at every key, both directions. */
function checkConsist(buffer: MemBuffer, model: Model): void {
  expect(buffer.len).toBe(model.len);
  expect(buffer.sizeBytes).toBe(model.size);
  const sorted = model.sorted();
  const it = buffer.iter();
  let prev: ModelEntry | undefined;
  const problems: string[] = [];
  // Seeks from every key of a small buffer, from every 16th of a large one.
  const stride = sorted.length > 4096 ? 16 : 1;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    const v = buffer.get(e.key);
    if (v === undefined || hex(v) !== hex(e.value!)) problems.push(`get ${hex(e.key)}`);
    if (!it.valid || hex(it.key()) !== hex(e.key) || hex(it.value()!) !== hex(e.value!)) {
      problems.push(`iter at ${hex(e.key)}`);
    }
    it.next();
    if (i % stride !== 0) {
      prev = e;
      continue;
    }
    const seek = buffer.iter(e.key);
    if (!seek.valid || hex(seek.key()) !== hex(e.key)) problems.push(`seek ${hex(e.key)}`);
    if (prev !== undefined) {
      const back = buffer.iter(undefined, e.key, { reverse: true });
      if (!back.valid || hex(back.key()) !== hex(prev.key)) problems.push(`reverse seek ${hex(e.key)}`);
    }
    prev = e;
  }
  expect(problems.slice(0, 5)).toEqual([]);
  const backward: string[] = [];
  for (const r = buffer.iter(undefined, undefined, { reverse: true }); r.valid; r.next())
    backward.push(hex(r.key()));
  expect(backward).toEqual(sorted.map((e) => hex(e.key)).reverse());
}
