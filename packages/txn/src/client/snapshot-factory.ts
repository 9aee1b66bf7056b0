import { definedOnly, InvalidArgumentError, invalidArgument, U64_MAX } from '@tikv/common';
import { Snapshot, type SnapshotParts } from '../snapshot/snapshot.js';
import { resolveSnapshotOptions, type SnapshotOptions } from '../snapshot/snapshot-options.js';
import type { ClientSnapshotOptions } from './transaction-options.js';

/**
 * Makes a client's snapshots: its transactions' and those of `TransactionClient.snapshot`, all
 * on the client's parts, with the client's snapshot defaults under each call's options.
 *
 * @internal
 */
export class SnapshotFactory {
  readonly #parts: SnapshotParts;
  readonly #defaults: SnapshotOptions;
  #resolvedDefaults: SnapshotOptions | undefined;

  /**
   * @param parts - what every snapshot reads through
   * @param defaults - the client's snapshot options (resolved on first use)
   */
  constructor(parts: SnapshotParts, defaults: SnapshotOptions) {
    this.#parts = parts;
    this.#defaults = defaults;
  }

  /**
   * A snapshot at `ts` with the client's defaults, or with them under `options`.
   *
   * @throws InvalidArgumentError for a bad ts or option
   */
  create(ts: bigint, options: SnapshotOptions | undefined): Snapshot {
    let resolved: SnapshotOptions;
    if (options === undefined) {
      // The client's defaults, resolved on first use (so bad ones throw where they always did).
      this.#resolvedDefaults ??= resolveSnapshotOptions(this.#defaults);
      resolved = this.#resolvedDefaults;
    } else {
      resolved = { ...this.#defaults, ...definedOnly(options) };
    }
    return new Snapshot(this.#parts, ts, resolved);
  }

  /**
   * The snapshot of `TransactionClient.snapshot`: at `ts`, else the latest data; `stale` reads
   * at the given ts from any replica, or picks the ts `maxStalenessMs` before now; `labels`
   * become `matchStoreLabels`.
   *
   * @throws InvalidArgumentError for `stale: true` without a ts, or a bad option
   */
  forClient(ts: bigint | undefined, options: ClientSnapshotOptions | undefined): Snapshot {
    if (options === undefined) return this.create(ts ?? U64_MAX, undefined);
    const { stale, labels, ...rest } = options;
    if (stale === undefined) {
      return this.create(ts ?? U64_MAX, {
        ...rest,
        ...(labels === undefined ? {} : { matchStoreLabels: labels }),
      });
    }
    let readTs = ts;
    if (stale !== true) {
      const ms = stale?.maxStalenessMs;
      if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
        throw invalidArgument('options.stale.maxStalenessMs', 'a number >= 0', ms);
      }
      if (ts !== undefined)
        throw new InvalidArgumentError('options.stale.maxStalenessMs picks the ts: pass no ts');
      readTs = this.#parts.oracle.staleTimestampSync?.(ms);
      if (readTs === undefined) {
        throw new InvalidArgumentError(
          'bounded-staleness reads need an oracle with staleTimestampSync and a first timestamp',
        );
      }
    } else if (readTs === undefined) {
      throw new InvalidArgumentError('options.stale: true reads at a given ts: pass one');
    }
    return this.create(readTs, {
      ...rest,
      staleRead: true,
      ...(labels === undefined ? {} : { matchStoreLabels: labels }),
    });
  }
}
