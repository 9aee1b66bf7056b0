import { MemBuffer } from '../src/index.js';
import { b, copy, drain } from './helpers.js';

// Snapshots at any open staging (client-go reads only at the outermost one) and deletes left out
// of iterators on request.

const keysOf = (entries: { key: Uint8Array }[]): number[] => entries.map((e) => e.key[0]!);

describe('snapshots at a staging handle', () => {
  test('each staging reads the buffer as that staging found it, while it stays open', () => {
    const db = new MemBuffer();
    db.set(b(1), b(10));
    const h1 = db.staging();
    db.set(b(1), b(11));
    db.set(b(2), b(21));
    const h2 = db.staging();
    db.set(b(1), b(12));
    db.delete(b(2));
    db.set(b(3), b(32));
    const outer = db.getSnapshot();
    const atH1 = db.getSnapshot(h1);
    const atH2 = db.getSnapshot(h2);
    expect(copy(outer.get(b(1)))).toEqual(b(10));
    expect(copy(atH1.get(b(1)))).toEqual(b(10));
    expect(copy(atH2.get(b(1)))).toEqual(b(11));
    expect(copy(atH2.get(b(2)))).toEqual(b(21));
    expect(atH2.get(b(3))).toBeUndefined();
    expect(keysOf(drain(atH2.iter()))).toEqual([1, 2]);
    // Writes inside a nested staging do not disturb a snapshot taken at h2, not even in place.
    const h3 = db.staging();
    db.set(b(1), b(13));
    db.set(b(4), b(43));
    expect(copy(atH2.get(b(1)))).toEqual(b(11));
    db.release(h3);
    expect(atH2.valid).toBe(true);
    // Closing h2 ends the snapshot at h2 only.
    db.cleanup(h2);
    expect(atH2.valid).toBe(false);
    expect(() => atH2.get(b(1))).toThrow('no longer valid');
    expect(atH1.valid).toBe(true);
    expect(copy(atH1.get(b(1)))).toEqual(b(10));
    db.release(h1);
    expect(outer.valid).toBe(false);
    expect(atH1.valid).toBe(false);
  });

  test('a revert below a staging ends the snapshots at it, not those below the revert', () => {
    const db = new MemBuffer();
    db.set(b(1), b(10));
    const h1 = db.staging();
    db.set(b(1), b(11));
    const cp = db.checkpoint();
    db.set(b(2), b(21));
    const h2 = db.staging();
    db.set(b(3), b(31));
    const atH1 = db.getSnapshot(h1);
    const atH2 = db.getSnapshot(h2);
    const it = atH2.iter();
    db.revertToCheckpoint(cp);
    expect(atH2.valid).toBe(false);
    expect(it.valid).toBe(false);
    expect(() => it.next()).toThrow('no longer valid');
    expect(atH1.valid).toBe(true);
    expect(copy(atH1.get(b(1)))).toEqual(b(10));
    expect(db.get(b(2))).toBeUndefined();
    db.cleanup(h2);
    db.cleanup(h1);
  });

  test('with no staging open, a snapshot reads until the next write', () => {
    const db = new MemBuffer();
    db.set(b(1), b(1));
    const snap = db.getSnapshot();
    expect(copy(snap.get(b(1)))).toEqual(b(1));
    db.staging();
    expect(snap.valid).toBe(true);
    db.set(b(1), b(2));
    expect(copy(snap.get(b(1)))).toEqual(b(1));
    db.reset();
    expect(snap.valid).toBe(false);
  });

  test('a handle that is not open is refused', () => {
    const db = new MemBuffer();
    expect(() => db.getSnapshot(1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const h = db.staging();
    expect(() => db.getSnapshot(h + 1)).toThrow('handle must be an open staging handle (1..1), got number 2');
    expect(() => db.getSnapshot(0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(db.getSnapshot(h).valid).toBe(true);
  });
});

describe('iterators without deletes', () => {
  test('skipDeletes leaves zero-length values out, in both directions, of the buffer and its snapshots', () => {
    const db = new MemBuffer();
    for (let i = 0; i < 10; i++) db.set(b(i), b(i, i));
    for (let i = 0; i < 10; i += 3) db.delete(b(i));
    db.staging();
    db.delete(b(1));
    db.set(b(3), b(3));
    expect(keysOf(drain(db.iter()))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(keysOf(drain(db.iter(undefined, undefined, { skipDeletes: true })))).toEqual([2, 3, 4, 5, 7, 8]);
    expect(keysOf(drain(db.iter(undefined, undefined, { skipDeletes: true, reverse: true })))).toEqual([
      8, 7, 5, 4, 3, 2,
    ]);
    const snap = db.getSnapshot();
    expect(keysOf(drain(snap.iter()))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(keysOf(drain(snap.iter(undefined, undefined, { skipDeletes: true })))).toEqual([1, 2, 4, 5, 7, 8]);
    expect(keysOf(drain(snap.iter(b(2), b(8), { skipDeletes: true, reverse: true })))).toEqual([7, 5, 4, 2]);
  });
});
