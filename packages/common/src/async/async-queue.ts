const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** Compact the buffer once this many consumed slots lead it and they are most of it. */
const COMPACT_AFTER = 1024;

/**
 * An unbounded single-consumer queue read as an `AsyncIterable`: producers {@link push} values
 * and finally {@link end} or {@link fail} it; one `for await` loop consumes them, in order. It
 * turns callbacks into a stream: the request side of a gRPC bidirectional call, a server's
 * response stream.
 *
 * The consumer sees every value pushed before the end, then the end (or the failure's reason,
 * thrown once). Leaving the loop early (`break`, a throw) ends the queue and drops what is
 * still buffered; later pushes are ignored.
 *
 * @example
 * ```ts
 * const q = new AsyncQueue<Uint8Array>();
 * socket.on('data', (d) => q.push(d));
 * socket.once('end', () => q.end());
 * socket.once('error', (e) => q.fail(e));
 * for await (const chunk of q) handle(chunk);
 * ```
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #head = 0;
  #ended = false;
  #failure: { readonly reason: unknown } | undefined;
  #waiter: { resolve(r: IteratorResult<T>): void; reject(e: unknown): void } | undefined;

  /** Values pushed and not yet consumed. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Whether {@link end} or {@link fail} was called (or the consumer left). */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Appends a value; ignored once the queue has ended.
   *
   * @param value - the value
   */
  push(value: T): void {
    if (this.#ended) return;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w.resolve({ value, done: false });
    } else {
      this.#items.push(value);
    }
  }

  /** Ends the iteration once the buffered values are consumed. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w.resolve(DONE);
    }
  }

  /**
   * Fails the iteration: the consumer throws `reason` once the buffered values are consumed.
   * Ignored once the queue has ended.
   *
   * @param reason - what the consumer's loop throws
   */
  fail(reason: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w.reject(reason);
    } else {
      this.#failure = { reason };
    }
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#ended) {
      const failure = this.#failure;
      if (failure === undefined) return Promise.resolve(DONE);
      this.#failure = undefined;
      return Promise.reject(failure.reason);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #take(): T {
    const items = this.#items;
    const value = items[this.#head] as T;
    items[this.#head++] = undefined as T;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return value;
  }

  #return(): Promise<IteratorResult<T>> {
    this.end();
    this.#failure = undefined;
    this.#items = [];
    this.#head = 0;
    return Promise.resolve(DONE);
  }

  /** The consumer's iterator (one consumer per queue). */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.#next(),
      return: () => this.#return(),
    };
  }
}
