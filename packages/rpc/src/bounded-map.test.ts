import { boundedMap } from './bounded-map.js';

describe('boundedMap', () => {
  test('keeps order and bounds concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const p = boundedMap([1, 2, 3, 4, 5], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((r) => gates.push(r));
      inFlight--;
      return n * 10;
    });
    while (gates.length > 0 || inFlight > 0) {
      await Promise.resolve();
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await p).toEqual([10, 20, 30, 40, 50]);
    expect(peak).toBe(2);
  });

  test('stops at the first error', async () => {
    const seen: number[] = [];
    const onFirst = jest.fn();
    await expect(
      boundedMap(
        [1, 2, 3],
        1,
        async (n) => {
          seen.push(n);
          if (n === 2) throw new Error('x');
        },
        onFirst,
      ),
    ).rejects.toThrow('x');
    expect(seen).toEqual([1, 2]);
    expect(onFirst).toHaveBeenCalledTimes(1);
  });
});
