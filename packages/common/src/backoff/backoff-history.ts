import type { BackoffErrorRecord } from '../errors/client-errors.js';
import type { BackoffKind, BackoffSequence } from './backoff-kind.js';

/**
 * What a {@link Backoffer} records once it backs off: the exponential sequence, sleep and count
 * of each kind, and the latest errors. A backoffer is made per operation and most operations
 * never back off, so it makes this only on its first sleep (seven collections per operation
 * showed in the profiles of the request path).
 *
 * @internal
 */
export class BackoffHistory {
  sequences = new Map<string, BackoffSequence>();
  errors: BackoffErrorRecord[] = [];
  /** The latest error per kind name: the cause a budget error reports (client-go's `longestSleepCfg.err`). */
  lastErrorByKind = new Map<string, unknown>();
  errorCount = 0;
  kinds: BackoffKind[] = [];
  excludedLimits = new Map<string, number>();
  sleepByKind = new Map<string, number>();
  timesByKind = new Map<string, number>();

  /**
   * A copy with its own collections.
   *
   * @param keepSequences - copy the exponential sequences too (otherwise they start over)
   */
  copy(keepSequences: boolean): BackoffHistory {
    const h = new BackoffHistory();
    if (keepSequences) for (const [name, seq] of this.sequences) h.sequences.set(name, seq.copy());
    h.errors = [...this.errors];
    h.lastErrorByKind = new Map(this.lastErrorByKind);
    h.errorCount = this.errorCount;
    h.kinds = [...this.kinds];
    h.excludedLimits = new Map(this.excludedLimits);
    h.sleepByKind = new Map(this.sleepByKind);
    h.timesByKind = new Map(this.timesByKind);
    return h;
  }
}
