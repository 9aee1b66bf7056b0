/** What the queue orders: a priority, and whether the item was given up on. */
export interface PriorityItem {
  /** Larger is served first. */
  readonly priority: number;
  /** A cancelled item is skipped and cleaned out. */
  readonly settled: boolean;
}

/**
 * A max-heap of pending requests by priority (client-go `PriorityQueue` of the batch client):
 * the batch builder takes the highest priorities first when it cannot send everything. Items of
 * equal priority cost one comparison to push.
 */
export class PriorityQueue<T extends PriorityItem> {
  #items: T[] = [];

  /** How many items are queued. */
  get length(): number {
    return this.#items.length;
  }

  /** Adds an item. */
  push(item: T): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent] as T;
      if (p.priority >= item.priority) break;
      a[i] = p;
      i = parent;
    }
    a[i] = item;
  }

  /** The highest priority queued (0 when empty). */
  highestPriority(): number {
    return this.#items[0]?.priority ?? 0;
  }

  /** Removes and returns the highest-priority item. */
  pop(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    const n = a.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (a[r] as T).priority > (a[l] as T).priority ? r : l;
      if ((a[c] as T).priority <= last.priority) break;
      a[i] = a[c] as T;
      i = c;
    }
    a[i] = last;
    return top;
  }

  /**
   * Takes up to `n` items, highest priority first (client-go `Take`). Taking every item hands
   * over the queue's array as it is, in heap order.
   */
  take(n: number): T[] {
    if (n <= 0) return [];
    if (n >= this.#items.length) {
      const all = this.#items;
      this.#items = [];
      return all;
    }
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(this.pop() as T);
    return out;
  }

  /** Removes settled (cancelled) items (client-go `clean`). */
  clean(): void {
    const kept = this.#items.filter((e) => !e.settled);
    if (kept.length === this.#items.length) return;
    this.#items = [];
    for (const e of kept) this.push(e);
  }

  /** Removes and returns every item. */
  drain(): T[] {
    return this.take(this.#items.length);
  }
}
