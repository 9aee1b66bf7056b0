import {
  InvalidArgumentError,
  invalidArgument,
  mustBeNonNegativeInteger,
  mustBePositive,
  mustBePositiveInteger,
  type OptionRule,
  type Resolved,
  resolveOptions,
} from '@tikv/common';

/**
 * Options of a pipelined transaction (client-go `PipelinedTxnOptions`, begun with
 * `tikv.WithPipelinedTxn`): its buffer is flushed to TiKV in generations while it runs.
 *
 * The three flush thresholds are client-go's constants (`MinFlushKeys`, `MinFlushMemSize`,
 * `ForceFlushMemSizeThreshold`, which its tests change through failpoints).
 */
export interface PipelinedOptions {
  /** Flush requests of one generation in flight at once. @defaultValue 128 */
  readonly flushConcurrency?: number | undefined;
  /** Regions resolved at once after commit or rollback. @defaultValue 8 */
  readonly resolveLockConcurrency?: number | undefined;
  /**
   * Share of the time spent sleeping before each flush, in [0, 1): the sleep is
   * `ratio / (1 - ratio)` times the recent flush duration (an EWMA), so writes slow down to leave
   * TiKV room. 0 never sleeps. @defaultValue 0
   */
  readonly writeThrottleRatio?: number | undefined;
  /** A generation is flushed once it holds this many keys (and {@link minFlushSizeBytes}). @defaultValue 10000 */
  readonly minFlushKeys?: number | undefined;
  /** A generation is flushed once its memory reaches this many bytes (and {@link minFlushKeys}). @defaultValue 16 MiB */
  readonly minFlushSizeBytes?: number | undefined;
  /**
   * A generation this large is flushed whatever its key count, and `flush()` waits for the
   * previous flush instead of skipping (the buffer's memory bound). @defaultValue 128 MiB
   */
  readonly forceFlushSizeBytes?: number | undefined;
  /**
   * The primary lock's heartbeats stop this many milliseconds after the start ts, and the
   * transaction can no longer flush (client-go `MaxPipelinedTxnTTL`; the larger of this and the
   * commit option `maxTxnTtlMs` applies). @defaultValue 86400000 (24 hours)
   */
  readonly maxTxnTtlMs?: number | undefined;
  /**
   * How long after the flushed locks are resolved the final status (completed) is broadcast to
   * the stores, in milliseconds, so that slow followers catch up before TiKV forgets the
   * transaction (client-go `broadcastGracePeriod`). @defaultValue 5000
   */
  readonly broadcastGracePeriodMs?: number | undefined;
}

/** The defaults of {@link PipelinedOptions} (client-go `defaultPipelined*` and the flush constants). */
export const DEFAULT_PIPELINED_OPTIONS: Resolved<PipelinedOptions> = Object.freeze({
  flushConcurrency: 128,
  resolveLockConcurrency: 8,
  writeThrottleRatio: 0,
  minFlushKeys: 10_000,
  minFlushSizeBytes: 16 * 1024 * 1024,
  forceFlushSizeBytes: 128 * 1024 * 1024,
  maxTxnTtlMs: 24 * 60 * 60 * 1000,
  broadcastGracePeriodMs: 5_000,
});

const mustBeRatio: OptionRule<number> = (v) =>
  typeof v === 'number' && v >= 0 && v < 1 ? undefined : `must be a number in [0, 1), got ${String(v)}`;

/**
 * Applies the defaults and checks {@link PipelinedOptions}; `true` is every default.
 *
 * @throws InvalidArgumentError for a bad option
 * @internal
 */
export function resolvePipelinedOptions(o: PipelinedOptions | true): Resolved<PipelinedOptions> {
  if (o === true) return DEFAULT_PIPELINED_OPTIONS;
  if (typeof o !== 'object' || o === null) throw invalidArgument('options.pipelined', 'an object or true', o);
  const r = resolveOptions<PipelinedOptions>(DEFAULT_PIPELINED_OPTIONS, o, {
    flushConcurrency: mustBePositiveInteger,
    resolveLockConcurrency: mustBePositiveInteger,
    writeThrottleRatio: mustBeRatio,
    minFlushKeys: mustBePositiveInteger,
    minFlushSizeBytes: mustBePositiveInteger,
    forceFlushSizeBytes: mustBePositiveInteger,
    maxTxnTtlMs: mustBePositive,
    broadcastGracePeriodMs: mustBeNonNegativeInteger,
  });
  if (r.forceFlushSizeBytes < r.minFlushSizeBytes) {
    throw new InvalidArgumentError('options.pipelined.forceFlushSizeBytes must be >= minFlushSizeBytes');
  }
  return r;
}
