/**
 * A single-consumer async queue: producers push values (and finally end or fail it), one
 * `for await` loop consumes them. Used to turn callback-completed work into a response stream.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #ended = false;
  #error: { readonly reason: unknown } | undefined;
  #wake: (() => void) | undefined;

  /** Enqueues a value (ignored after end or fail). */
  push(value: T): void {
    if (this.#ended) return;
    this.#items.push(value);
    this.#notify();
  }

  /** Ends the stream once the queued values are consumed. */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** Fails the stream: the consumer throws `reason` after the queued values. */
  fail(reason: unknown): void {
    if (this.#ended) return;
    this.#error = { reason };
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.#items.length > 0) {
        const batch = this.#items.splice(0, this.#items.length);
        for (const item of batch) yield item;
        continue;
      }
      if (this.#ended) {
        if (this.#error !== undefined) throw this.#error.reason;
        return;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}
