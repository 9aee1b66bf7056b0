/**
 * Why a cached region was invalidated. The cache reacts differently to some
 * reasons: after `NoLeader` the reloaded region starts from the next peer.
 */
export const InvalidReason = Object.freeze({
  /** The region is valid. */
  OK: 'ok',
  /** A peer reported that the region has no leader. */
  NO_LEADER: 'noLeader',
  /** The store no longer has the region. */
  REGION_NOT_FOUND: 'regionNotFound',
  /** The request's epoch did not match the region's. */
  EPOCH_NOT_MATCH: 'epochNotMatch',
  /** A store of the region is unknown to PD or has no address. */
  STORE_NOT_FOUND: 'storeNotFound',
  /** Anything else: the store was removed, sending failed, ... */
  OTHER: 'other',
} as const);

/** One of the {@link InvalidReason} values. */
export type InvalidReason = (typeof InvalidReason)[keyof typeof InvalidReason];
