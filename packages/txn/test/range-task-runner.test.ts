import { compareKeys } from '@tikv/common';
import { RangeTaskFailure, RangeTaskRunner, type TaskRange } from '../src/index.js';
import { TxnTestCluster } from './txn-cluster.js';

/** Latin-1 bytes, so `\xff` is one byte as in client-go's test. */
const b = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const r = (start: string, end: string): TaskRange => ({ startKey: b(start), endKey: b(end) });
const text = (x: TaskRange): [string, string] => [
  Buffer.from(x.startKey).toString('latin1'),
  Buffer.from(x.endKey).toString('latin1'),
];

/** client-go integration_tests/range_task_test.go: regions split at every letter a..z. */
describe('range_task_test.go', () => {
  let c: TxnTestCluster;
  const letters = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i));
  const allRegionRanges: TaskRange[] = [
    r('', 'a'),
    ...letters.slice(0, -1).map((l, i) => r(l, letters[i + 1] as string)),
    r('z', ''),
  ];
  const testRanges: TaskRange[] = [
    r('', ''),
    r('', 'b'),
    r('b', ''),
    r('b', 'x'),
    r('a', 'd'),
    r('a\x00', 'd\x00'),
    r('a\xff\xff\xff', 'c\xff\xff\xff'),
    r('a1', 'a2'),
    r('a', 'a'),
    r('a3', 'a3'),
  ];
  const expectedRanges: TaskRange[][] = [
    allRegionRanges,
    allRegionRanges.slice(0, 2),
    allRegionRanges.slice(2),
    allRegionRanges.slice(2, 24),
    [r('a', 'b'), r('b', 'c'), r('c', 'd')],
    [r('a\x00', 'b'), r('b', 'c'), r('c', 'd'), r('d', 'd\x00')],
    [r('a\xff\xff\xff', 'b'), r('b', 'c'), r('c', 'c\xff\xff\xff')],
    [r('a1', 'a2')],
    [],
    [],
  ];

  beforeAll(async () => {
    c = await TxnTestCluster.start();
    c.split(...letters);
  });
  afterAll(async () => {
    await c?.close();
  });

  function batchRanges(ranges: readonly TaskRange[], batchSize: number): TaskRange[] {
    const out: TaskRange[] = [];
    for (let i = 0; i < ranges.length; i += batchSize) {
      const last = ranges[Math.min(i + batchSize, ranges.length) - 1] as TaskRange;
      out.push({ startKey: (ranges[i] as TaskRange).startKey, endKey: last.endKey });
    }
    return out;
  }

  // client-go runs concurrency 1..4; fewer keep the run short (each task range is a PD scan).
  it.each([1, 3])(
    'TestRangeTask, concurrency %i',
    async (concurrency) => {
      for (let regionsPerTask = 1; regionsPerTask <= 5; regionsPerTask++) {
        for (const [i, range] of testRanges.entries()) {
          const seen: TaskRange[] = [];
          const runner = new RangeTaskRunner({
            name: 'test-runner',
            locator: c.exec.locator,
            concurrency,
            regionsPerTask,
            handler: async (task) => {
              seen.push(task);
              return { completedRegions: 1 };
            },
          });
          await runner.runOnRange(range.startKey, range.endKey);
          const expected = batchRanges(expectedRanges[i] as TaskRange[], regionsPerTask);
          seen.sort((x, y) => compareKeys(x.startKey, y.startKey));
          expect(seen.map(text)).toEqual(expected.map(text));
          expect(runner.completedRegions).toBe(expected.length);
          expect(runner.failedRegions).toBe(0);
        }
      }
    },
    120_000,
  );

  it.each([2])(
    'TestRangeTaskError, concurrency %i',
    async (concurrency) => {
      for (const [i, range] of testRanges.entries()) {
        const subRanges = expectedRanges[i] as TaskRange[];
        for (const sub of subRanges) {
          const errKey = sub.startKey;
          const boom = new Error('test error');
          const runner = new RangeTaskRunner({
            name: 'test-error-runner',
            locator: c.exec.locator,
            concurrency,
            regionsPerTask: 1,
            handler: async (task) => {
              if (compareKeys(task.startKey, errKey) === 0) {
                throw new RangeTaskFailure({ completedRegions: 0, failedRegions: 1 }, boom);
              }
              return { completedRegions: 1 };
            },
          });
          await expect(runner.runOnRange(range.startKey, range.endKey)).rejects.toBe(boom);
          expect(runner.completedRegions).toBeLessThan(subRanges.length);
          expect(runner.failedRegions).toBe(1);
        }
      }
    },
    120_000,
  );
});
