import { composeTs } from '@tikv/common';
import { LatchLock, LocalLatches } from './local-latches.js';
import { murmur3x86_32 } from './murmur3.js';

const enc = new TextEncoder();
const keys = (...s: string[]): Uint8Array[] => s.map((x) => enc.encode(x));

let tso = 0n;
const nextTs = (): bigint => ++tso;

/** Whether a promise has settled, after the microtasks queued so far ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise<void>((r) => setImmediate(r));
  return done;
}

describe('murmur3x86_32', () => {
  it('matches the reference vectors (seed 0)', () => {
    expect(murmur3x86_32(new Uint8Array(0))).toBe(0);
    expect(murmur3x86_32(enc.encode('hello'))).toBe(0x248bfa47);
    expect(murmur3x86_32(enc.encode('The quick brown fox jumps over the lazy dog'))).toBe(0x2e4ff723);
    expect(murmur3x86_32(enc.encode('abc'))).toBe(0xb3dd93fa);
  });
});

describe('LocalLatches (client-go internal/latch)', () => {
  it('rounds the slot count up to a power of two and refuses a bad one', () => {
    expect(new LocalLatches(7).capacity).toBe(8);
    expect(new LocalLatches(256).capacity).toBe(256);
    expect(() => new LocalLatches(0)).toThrow('latch capacity');
    expect(() => new LocalLatches(1.5)).toThrow('latch capacity');
  });

  it('TestWakeUp: a waiter woken by a newer commit of its key is stale; a fresh one is not', async () => {
    const latches = new LocalLatches(256);
    const a = await latches.acquire(nextTs(), keys('a', 'b', 'c'));
    expect(a.stale).toBe(false);
    const startB = nextTs();
    const pendingB = latches.acquire(startB, keys('d', 'e', 'a', 'c'));
    expect(await settled(pendingB)).toBe(false);
    a.commitTs = nextTs();
    latches.release(a);
    const b = await pendingB;
    expect(b.startTs).toBe(startB);
    expect(b.stale).toBe(true);
    latches.release(b);
    const b2 = await latches.acquire(nextTs(), keys('d', 'e', 'a', 'c'));
    expect(b2.stale).toBe(false);
    latches.release(b2);
  });

  it('TestFirstAcquireFailedWithStale: a key committed after the start ts makes the lock stale at once', async () => {
    const latches = new LocalLatches(256);
    const a = await latches.acquire(nextTs(), keys('a', 'b', 'c'));
    const startB = nextTs();
    a.commitTs = nextTs();
    latches.release(a);
    const b = await latches.acquire(startB, keys('a', 'b', 'c'));
    expect(b.stale).toBe(true);
    latches.release(b);
  });

  it('a waiter not overtaken by a commit gets the latch (the holder rolled back)', async () => {
    const latches = new LocalLatches(64);
    const a = await latches.acquire(nextTs(), keys('k'));
    const pending = latches.acquire(nextTs(), keys('k'));
    expect(await settled(pending)).toBe(false);
    latches.release(a); // no commit ts: nothing was written
    const b = await pending;
    expect(b.stale).toBe(false);
    expect(b.acquired).toBe(1);
    latches.release(b);
  });

  it('TestRecycle: entries idle for two minutes of TSO time are dropped', async () => {
    const latches = new LocalLatches(8);
    const now = Date.now();
    const startTs = composeTs(now, 0);
    const lock = await latches.acquire(startTs, keys('a', 'b'));
    const pending = latches.acquire(startTs, keys('b', 'c'));
    lock.commitTs = startTs + 1n;
    latches.release(lock);
    const lock1 = await pending;
    latches.release(lock1);
    const lock2 = await latches.acquire(startTs + 3n, keys('b', 'c'));
    expect(lock2.stale).toBe(false);
    latches.release(lock2);
    expect(latches.entryCount).toBeGreaterThan(0);
    expect(latches.recycle(composeTs(now + 2 * 60 * 1000, 0) + 3n)).toBe(3);
    expect(latches.entryCount).toBe(0);
  });

  it('keeps an entry that is held, however old', async () => {
    const latches = new LocalLatches(8);
    const held = await latches.acquire(composeTs(Date.now(), 0), keys('x'));
    expect(latches.recycle(composeTs(Date.now() + 10 * 60 * 1000, 0))).toBe(0);
    latches.release(held);
  });

  it('an aborted waiter leaves the queue and frees what it held', async () => {
    const latches = new LocalLatches(64);
    const a = await latches.acquire(nextTs(), keys('m'));
    const ac = new AbortController();
    const pending = latches.acquire(nextTs(), keys('a', 'm'), ac.signal);
    ac.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    // 'a' was released by the abort: another transaction takes it at once.
    const c = await latches.acquire(nextTs(), keys('a'));
    expect(c.stale).toBe(false);
    latches.release(c);
    latches.release(a);
    expect(() => latches.release(new LatchLock(keys('zz'), [0], 1n))).not.toThrow();
  });

  it('TestWithConcurrency: 999 transactions over 8 keys never hold a key together and all finish', async () => {
    const latches = new LocalLatches(7);
    const table = 'abcdefgh';
    const rand = (n: number): number => Math.floor(Math.random() * n);
    const generate = (): Uint8Array[] => {
      const out = new Set<string>();
      for (const chance of [100, 60, 40, 20]) if (rand(100) < chance) out.add(table[rand(table.length)]!);
      return keys(...out);
    };
    const holders = new Map<string, bigint>();
    let stale = 0;
    let committed = 0;
    const queue = Array.from({ length: 999 }, generate);
    const worker = async (): Promise<void> => {
      for (let txn = queue.pop(); txn !== undefined; txn = queue.pop()) {
        const lock = await latches.acquire(nextTs(), txn);
        if (lock.stale) stale++;
        else {
          for (const k of lock.keys) {
            const name = String.fromCharCode(k[0]!);
            expect(holders.has(name)).toBe(false);
            holders.set(name, lock.startTs);
          }
          await new Promise<void>((r) => setImmediate(r));
          for (const k of lock.keys) holders.delete(String.fromCharCode(k[0]!));
          lock.commitTs = nextTs();
          committed++;
        }
        latches.release(lock);
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    expect(stale + committed).toBe(999);
    expect(committed).toBeGreaterThan(0);
  });
});
