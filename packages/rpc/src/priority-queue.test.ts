// Port of client-go internal/client/priority_queue_test.go (TestPriority, TestPriorityQueueTakeAll...).
import { type PriorityItem, PriorityQueue } from './priority-queue.js';

interface Fake extends PriorityItem {
  value: number;
}
const item = (priority: number, settled = false): Fake => ({ value: priority, priority, settled });

describe('PriorityQueue (TestPriority)', () => {
  it('takes the highest priorities first and cleans cancelled items', () => {
    const q = new PriorityQueue<Fake>();
    for (let i = 1; i <= 5; i++) q.push(item(i));
    expect(q.length).toBe(5);
    expect(q.highestPriority()).toBe(5);
    q.clean();
    expect(q.length).toBe(5);
    expect(q.take(1).map((e) => e.priority)).toEqual([5]);
    expect(q.highestPriority()).toBe(4);
    expect(q.take(2).map((e) => e.priority)).toEqual([4, 3]);
    expect(q.highestPriority()).toBe(2);
    expect(q.take(5).map((e) => e.priority)).toEqual([2, 1]);
    expect(q.highestPriority()).toBe(0);
    expect(q.length).toBe(0);
    q.push(item(1, true));
    expect(q.length).toBe(1);
    q.clean();
    expect(q.length).toBe(0);
    expect(q.take(0)).toEqual([]);
  });

  it('pops in priority order under random pushes and keeps the rest after clean', () => {
    const q = new PriorityQueue<Fake>();
    const ps = [3, 9, 1, 7, 7, 2, 10, 0, 5, 4, 8, 6];
    for (const p of ps) q.push(item(p, p % 3 === 0));
    q.clean();
    const out: number[] = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e.priority);
    expect(out).toEqual(ps.filter((p) => p % 3 !== 0).sort((a, b) => b - a));
    expect(q.drain()).toEqual([]);
  });
});
