import { AsyncQueue } from './async-queue.js';

async function drain<T>(q: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of q) out.push(v);
  return out;
}

describe('AsyncQueue', () => {
  test('values pushed before and while the consumer waits arrive in order, then the end', async () => {
    const q = new AsyncQueue<number>();
    q.push(1);
    q.push(2);
    expect(q.size).toBe(2);
    const all = drain(q);
    await Promise.resolve();
    q.push(3);
    q.push(undefined as unknown as number); // falsy values are values too
    q.push(0);
    q.end();
    q.push(4); // ignored after the end
    expect(await all).toEqual([1, 2, 3, undefined, 0]);
    expect(q.ended).toBe(true);
  });

  test('a failure is thrown after the buffered values, once', async () => {
    const q = new AsyncQueue<string>();
    q.push('a');
    q.fail(new Error('broken'));
    q.end();
    q.fail(new Error('second'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const v of q) seen.push(v);
      })(),
    ).rejects.toThrow('broken');
    expect(seen).toEqual(['a']);
    const it = q[Symbol.asyncIterator]();
    await expect(it.next()).resolves.toEqual({ value: undefined, done: true });
  });

  test('a failure reaches a consumer already waiting', async () => {
    const q = new AsyncQueue<string>();
    const it = q[Symbol.asyncIterator]();
    const next = it.next();
    q.fail('reason');
    await expect(next).rejects.toBe('reason');
  });

  test('an end wakes a consumer already waiting', async () => {
    const q = new AsyncQueue<string>();
    const it = q[Symbol.asyncIterator]();
    const next = it.next();
    q.end();
    await expect(next).resolves.toEqual({ value: undefined, done: true });
  });

  test('leaving the loop early ends the queue and drops what is buffered', async () => {
    const q = new AsyncQueue<number>();
    for (let i = 0; i < 5; i++) q.push(i);
    for await (const v of q) {
      expect(v).toBe(0);
      break;
    }
    expect(q.ended).toBe(true);
    expect(q.size).toBe(0);
    q.push(9);
    expect(q.size).toBe(0);
  });

  test('a long run of values keeps the buffer compact and the order intact', async () => {
    const q = new AsyncQueue<number>();
    const n = 10_000;
    for (let i = 0; i < n; i++) q.push(i);
    const it = q[Symbol.asyncIterator]();
    for (let i = 0; i < n / 2; i++) expect((await it.next()).value).toBe(i);
    expect(q.size).toBe(n / 2);
    for (let i = n; i < n + 10; i++) q.push(i);
    q.end();
    const rest: number[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(r.value);
    expect(rest).toEqual(Array.from({ length: n / 2 + 10 }, (_, i) => n / 2 + i));
  });
});
