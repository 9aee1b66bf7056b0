import { InvalidArgumentError, PdError } from '@tikv/common';
import type { CallOptions } from './call-options.js';
import { checkPdU64 } from './pd-argument-checks.js';
import { parseU64Json } from './pd-http.js';

/** PD's path of the min resolved ts API. */
export const MIN_RESOLVED_TS_PATH = '/pd/api/v1/min-resolved-ts';

/** What {@link PdClient.getMinResolvedTs} reports (PD's `/pd/api/v1/min-resolved-ts`). */
export interface MinResolvedTs {
  /**
   * Without `storeIds`: the cluster's min resolved ts (it never goes back). With them: the
   * smallest of those stores'. `2^64 - 1` when no store counted (none known or available).
   */
  readonly minResolvedTs: bigint;
  /** Each asked store's min resolved ts (`2^64 - 1` for an unknown or unavailable one); undefined without `storeIds`. */
  readonly storesMinResolvedTs: ReadonlyMap<bigint, bigint> | undefined;
}

/** Options of {@link PdClient.getMinResolvedTs}. */
export interface GetMinResolvedTsOptions extends CallOptions {
  /** Ask for these stores' min resolved ts (PD's `scope`); empty or absent: the cluster's only. */
  readonly storeIds?: readonly bigint[] | undefined;
}

/**
 * The request path of a min resolved ts query (PD's HTTP client `GetMinResolvedTSByStoresIDs`).
 *
 * @param storeIds - the scope's stores; none: the cluster
 */
export function minResolvedTsPath(storeIds: readonly bigint[] | undefined): string {
  if (storeIds === undefined || storeIds.length === 0) return MIN_RESOLVED_TS_PATH;
  for (const id of storeIds) checkPdU64(id, 'storeIds[]');
  return `${MIN_RESOLVED_TS_PATH}?scope=${storeIds.join(',')}`;
}

/**
 * Reads PD's answer: the min resolved ts and, when asked, the stores'.
 *
 * @param body - the JSON PD answered
 * @throws PdError `UNKNOWN` "min resolved ts is not enabled" when PD does not persist it
 *   (`is_real_time` false, as PD's client refuses it)
 */
export function minResolvedTsFromJson(body: string): MinResolvedTs {
  const parsed = parseU64Json(body) as {
    is_real_time?: boolean;
    min_resolved_ts?: bigint;
    stores_min_resolved_ts?: Record<string, bigint> | null;
  };
  if (typeof parsed !== 'object' || parsed === null) {
    throw new InvalidArgumentError(`unexpected min resolved ts answer: ${body}`);
  }
  if (parsed.is_real_time !== true) throw new PdError('UNKNOWN', 'min resolved ts is not enabled');
  const stores = parsed.stores_min_resolved_ts;
  return {
    minResolvedTs: parsed.min_resolved_ts ?? 0n,
    storesMinResolvedTs:
      stores === undefined || stores === null
        ? undefined
        : new Map(Object.entries(stores).map(([id, ts]) => [BigInt(id), BigInt(ts)])),
  };
}
