import {
  deliverDetails,
  type ExecDetails,
  type ExecDetailsCollector,
  type OperationScope,
} from '@tikv/common';

/**
 * The scope of an operation whose caller asked for its execution details: disposing it (when
 * the operation settles) disposes the inner scope, then hands the details to the caller's
 * callback, once. Backoffers made in it (`RegionExecutor.backofferIn`) record into its collector.
 *
 * @internal
 */
export class DetailsScope implements OperationScope {
  readonly #inner: OperationScope;
  readonly #onDetails: (details: ExecDetails) => void;
  /** The operation's collector. */
  readonly collector: ExecDetailsCollector;
  #delivered = false;

  constructor(
    inner: OperationScope,
    collector: ExecDetailsCollector,
    onDetails: (details: ExecDetails) => void,
  ) {
    this.#inner = inner;
    this.collector = collector;
    this.#onDetails = onDetails;
  }

  get signal(): AbortSignal | undefined {
    return this.#inner.signal;
  }

  get deadlineAtMs(): number | undefined {
    return this.#inner.deadlineAtMs;
  }

  dispose(): void {
    this.#inner.dispose();
    if (this.#delivered) return;
    this.#delivered = true;
    deliverDetails(this.#onDetails, this.collector.snapshot());
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
