import type { ClusterOptions } from '@tikv/cluster';
import {
  type Clock,
  describeValue,
  type Logger,
  mustBeNonNegative,
  mustBePositiveInteger,
  noopLogger,
  type Resolved,
  resolveOptions,
  systemClock,
  type TlsOptions,
} from '@tikv/common';
import { RAW_BATCH_PAIR_COUNT, RAW_BATCH_PUT_SIZE_BYTES, RAW_MAX_BACKOFF_MS } from './raw-limits.js';

/** How the client behaves, whatever it is wired to (the part of the options a test may also pass). */
export interface RawClientTuning {
  /** Column family of every call that does not name one. @defaultValue '' (TiKV's `default`) */
  readonly columnFamily?: string | undefined;
  /**
   * Atomic mode (client-go `SetAtomicForCAS`): writes go through TiKV's single-row
   * transaction path so that `compareAndSwap` is linearizable with them. Every client that
   * writes the same keys must agree on it. `compareAndSwap` requires it. @defaultValue false
   */
  readonly atomicForCas?: boolean | undefined;
  /**
   * Backoff budget of one operation, in milliseconds of sleep before client-go's weight of 2
   * (client-go `rawkvMaxBackoff`): the operation gives up once it has slept twice this in
   * total. Time spent in RPCs does not count; `timeoutMs` bounds the wall time.
   * @defaultValue 20000
   */
  readonly maxBackoffMs?: number | undefined;
  /** Most keys per RawBatchGet / RawBatchDelete request (client-go `rawBatchPairCount`). @defaultValue 512 */
  readonly maxBatchKeys?: number | undefined;
  /** Bytes of keys and values at which a RawBatchPut request is cut (client-go `rawBatchPutSize`). @defaultValue 16384 */
  readonly maxBatchPutBytes?: number | undefined;
  /** Most region batches in flight per batch call. @defaultValue 16 */
  readonly maxBatchConcurrency?: number | undefined;
  /** Time source of deadlines and backoff sleeps. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Receives debug lines; never keys or values. @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/**
 * TLS material for PD and TiKV: `@tikv/common`'s `TlsOptions`.
 *
 * @deprecated use `TlsOptions` from `@tikv/common`
 */
export type RawTlsOptions = TlsOptions;

/**
 * Options of {@link RawClient.connect}: where the cluster is (`@tikv/cluster`'s
 * `ClusterOptions`: `pdEndpoints`, `apiVersion`, `keyspace`, `tls`, and the `pd`, `regionCache`,
 * `transport` and `sender` options) and how the client behaves.
 */
export interface RawClientOptions extends RawClientTuning, ClusterOptions {}

/** {@link RawClientTuning} with defaults applied. */
export type ResolvedRawClientTuning = Resolved<RawClientTuning>;

/** Defaults of {@link RawClientTuning} (client-go's where it has one). */
export const DEFAULT_RAW_CLIENT_OPTIONS: ResolvedRawClientTuning = Object.freeze({
  columnFamily: '',
  atomicForCas: false,
  maxBackoffMs: RAW_MAX_BACKOFF_MS,
  maxBatchKeys: RAW_BATCH_PAIR_COUNT,
  maxBatchPutBytes: RAW_BATCH_PUT_SIZE_BYTES,
  maxBatchConcurrency: 16,
  clock: systemClock,
  logger: noopLogger,
});

/**
 * Applies defaults to the tuning options and validates them.
 *
 * @param options - the caller's options
 * @returns frozen, complete options
 * @throws InvalidArgumentError for a bad value
 */
export function resolveRawClientTuning(options: RawClientTuning = {}): ResolvedRawClientTuning {
  const picked: RawClientTuning = {
    columnFamily: options.columnFamily,
    atomicForCas: options.atomicForCas,
    maxBackoffMs: options.maxBackoffMs,
    maxBatchKeys: options.maxBatchKeys,
    maxBatchPutBytes: options.maxBatchPutBytes,
    maxBatchConcurrency: options.maxBatchConcurrency,
    clock: options.clock,
    logger: options.logger,
  };
  return resolveOptions<RawClientTuning>(DEFAULT_RAW_CLIENT_OPTIONS, picked, {
    maxBackoffMs: mustBeNonNegative,
    maxBatchKeys: mustBePositiveInteger,
    maxBatchPutBytes: mustBePositiveInteger,
    maxBatchConcurrency: mustBePositiveInteger,
    columnFamily: (v) => (typeof v === 'string' ? undefined : `must be a string, got ${describeValue(v)}`),
    atomicForCas: (v) => (typeof v === 'boolean' ? undefined : `must be a boolean, got ${describeValue(v)}`),
  });
}
