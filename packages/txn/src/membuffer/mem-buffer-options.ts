import { type OptionRule, type Resolved, resolveOptions } from '@tikv/common';

/**
 * Limits of one transaction's buffer. Use `Infinity` for no limit.
 */
export interface MemBufferLimits {
  /**
   * The largest entry, key plus value, in bytes (TiDB's `txn-entry-size-limit`, which client-go
   * is configured with; client-go's `TxnEntrySizeLimit`). A larger write throws
   * `EntryTooLargeError` and leaves the buffer unchanged.
   * @defaultValue 6 MiB (6291456)
   */
  readonly entrySizeLimitBytes?: number | undefined;
  /**
   * The largest total size of the buffer, in bytes: every buffered key plus its current value
   * (client-go's `TxnTotalSizeLimit`, TiDB's `txn-total-size-limit`). A write that would pass it
   * throws `TxnTooLargeError` and leaves the buffer unchanged.
   * @defaultValue 100 MiB (104857600)
   */
  readonly totalSizeLimitBytes?: number | undefined;
}

/** Options of a {@link MemBuffer}. */
export interface MemBufferOptions extends MemBufferLimits {
  /**
   * Called with the buffer's memory footprint in bytes ({@link MemBuffer.memoryBytes}) each time
   * it changes (client-go `SetMemoryFootprintChangeHook`).
   */
  readonly onMemoryFootprintChange?: ((bytes: number) => void) | undefined;
}

/** Default size limits of a transaction's buffer (client-go's `TxnEntrySizeLimit` and `TxnTotalSizeLimit`). */
export const DEFAULT_MEM_BUFFER_LIMITS: Resolved<MemBufferLimits> = Object.freeze({
  entrySizeLimitBytes: 6 * 1024 * 1024,
  totalSizeLimitBytes: 100 * 1024 * 1024,
});

const mustBeLimit: OptionRule<number> = (v) =>
  typeof v === 'number' && v >= 0 ? undefined : `must be a number >= 0 (Infinity for none), got ${String(v)}`;

/**
 * Resolves size limits over {@link DEFAULT_MEM_BUFFER_LIMITS}.
 *
 * @param limits - the caller's limits
 * @returns the limits, validated and frozen
 * @throws InvalidArgumentError for a negative or non-number limit
 */
export function resolveMemBufferLimits(limits?: MemBufferLimits): Resolved<MemBufferLimits> {
  if (limits !== undefined && RESOLVED.has(limits)) return limits as Resolved<MemBufferLimits>;
  const resolved = resolveOptions(
    DEFAULT_MEM_BUFFER_LIMITS,
    limits === undefined
      ? undefined
      : { entrySizeLimitBytes: limits.entrySizeLimitBytes, totalSizeLimitBytes: limits.totalSizeLimitBytes },
    { entrySizeLimitBytes: mustBeLimit, totalSizeLimitBytes: mustBeLimit },
  );
  RESOLVED.add(resolved);
  return resolved;
}

/** The objects {@link resolveMemBufferLimits} returned: resolving one again returns it as it is. */
const RESOLVED = new WeakSet<object>();
