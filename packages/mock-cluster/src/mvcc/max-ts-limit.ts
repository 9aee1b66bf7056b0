import { kvrpcpb } from '@tikv/proto';
import { composeTs, TS_MAX } from './txn-key.js';

/**
 * What TiKV does with a request that would push `max_ts` past the limit PD's TSO sets
 * (`storage.max-ts.action-on-invalid-update`): `'error'` refuses it with a region error,
 * `'log'` lets it through and records it. TiKV's default, `panic`, aborts the whole TiKV process;
 * the mock answers that request with the error instead.
 */
export type ActionOnInvalidMaxTs = 'error' | 'log';

/** The mock's default action: the request fails, as it does on a TiKV that panics. */
export const DEFAULT_ACTION_ON_INVALID_MAX_TS: ActionOnInvalidMaxTs = 'error';

/** Updates over the limit a {@link MaxTsLimit} keeps (the newest). */
const MAX_RECORDED_UPDATES = 10_000;

/** TiKV's default `storage.max-ts.max-drift`: 60 s. */
export const DEFAULT_MAX_TS_DRIFT_MS = 60_000;

/** Where the limit comes from: the TSO of the cluster's PD. */
export interface MaxTsLimitSource {
  /** The newest timestamp PD has issued, 0 before the first (TiKV's cached limit). */
  latest(): bigint;
  /** A timestamp PD issues now (TiKV asks PD for one before it reports a violation). */
  issue(): bigint;
}

/** One update over the limit, as TiKV logs it. */
export interface InvalidMaxTsUpdate {
  readonly attemptedTs: bigint;
  readonly limit: bigint;
  /** Checked against the exact limit (true) or the drifted one. */
  readonly exact: boolean;
  /** Whether the request was refused (`'error'`) or let through (`'log'`). */
  readonly action: ActionOnInvalidMaxTs;
}

/** A request refused for an update over the limit; it answers a region error with this message. */
export class InvalidMaxTsUpdateError extends Error {
  override name = 'InvalidMaxTsUpdateError';

  constructor(
    readonly attemptedTs: bigint,
    readonly limit: bigint,
  ) {
    super(`invalid max_ts update: ${attemptedTs} exceeds the limit ${limit}`);
  }
}

/**
 * Whether an update from a request of this origin must stay within the exact limit: only the
 * commands that pass their request's origin are checked by it (check_txn_status,
 * check_secondary_locks, cleanup, scan_lock), and then every origin but TiDB's is. The rest, and
 * TiDB's requests, may run ahead of PD by the drift allowance.
 */
export function exactLimitRequired(requestOrigin: kvrpcpb.RequestOrigin | undefined): boolean {
  return requestOrigin !== undefined && requestOrigin !== kvrpcpb.RequestOrigin.RequestOriginTiDB;
}

/** Options of {@link MaxTsLimit}. */
export interface MaxTsLimitOptions {
  readonly source: MaxTsLimitSource;
  /** @defaultValue {@link DEFAULT_ACTION_ON_INVALID_MAX_TS} */
  readonly action?: ActionOnInvalidMaxTs | undefined;
  /** How far (ms) the drifted limit runs ahead of PD's TSO. @defaultValue {@link DEFAULT_MAX_TS_DRIFT_MS} */
  readonly driftMs?: number | undefined;
}

/**
 * TiKV's assertion on `max_ts` updates (`ConcurrencyManager::update_max_ts`): a timestamp a
 * request brings may not exceed the latest TSO PD has issued (the exact limit), or that TSO's
 * physical time plus the drift allowance (the drifted limit). Before reporting, TiKV asks PD for
 * a new timestamp and checks again, so only a timestamp PD could not have issued yet fails.
 */
export class MaxTsLimit {
  readonly #source: MaxTsLimitSource;
  readonly #action: ActionOnInvalidMaxTs;
  /** The drift allowance as a timestamp: adding it moves only the physical part. */
  readonly #drift: bigint;
  readonly #invalid: InvalidMaxTsUpdate[] = [];

  constructor(o: MaxTsLimitOptions) {
    this.#source = o.source;
    this.#action = o.action ?? DEFAULT_ACTION_ON_INVALID_MAX_TS;
    this.#drift = composeTs(BigInt(o.driftMs ?? DEFAULT_MAX_TS_DRIFT_MS));
  }

  /** The updates over the limit, refused or let through, oldest first (the last 10 000). */
  get invalidUpdates(): readonly InvalidMaxTsUpdate[] {
    return this.#invalid;
  }

  /**
   * Checks that `ts` may become `max_ts` (`TimeStamp::max()` always may).
   *
   * @throws InvalidMaxTsUpdateError when it exceeds the limit and the action is `'error'`
   */
  check(ts: bigint, exact: boolean): void {
    if (ts === TS_MAX) return;
    const allowance = exact ? 0n : this.#drift;
    if (ts <= this.#source.latest() + allowance) return;
    const limit = this.#source.issue() + allowance;
    if (ts <= limit) return;
    if (this.#invalid.length >= MAX_RECORDED_UPDATES) this.#invalid.shift();
    this.#invalid.push({ attemptedTs: ts, limit, exact, action: this.#action });
    if (this.#action === 'error') throw new InvalidMaxTsUpdateError(ts, limit);
  }
}
