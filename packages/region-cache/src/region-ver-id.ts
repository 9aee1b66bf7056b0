/**
 * Identifies one version of a region: its id and epoch. A request carries the
 * version it was routed with, and the cache answers for exactly that version.
 */
export interface RegionVerId {
  /** The region id. */
  readonly id: bigint;
  /** The epoch's configuration version. */
  readonly confVer: bigint;
  /** The epoch's range version. */
  readonly version: bigint;
}

/**
 * A string that identifies a region version, usable as a `Map` key.
 *
 * @param v - the region version
 * @returns `id:confVer:version`
 */
export function regionVerIdKey(v: RegionVerId): string {
  return `${v.id}:${v.confVer}:${v.version}`;
}

/**
 * Tells whether two region versions are the same.
 *
 * @param a - a region version
 * @param b - another region version
 * @returns true when id, confVer and version all match
 */
export function sameRegionVerId(a: RegionVerId, b: RegionVerId): boolean {
  return a.id === b.id && a.confVer === b.confVer && a.version === b.version;
}

/**
 * Formats a region version for logs and messages.
 *
 * @param v - the region version
 * @returns `{ region id: 1, ver: 2, confVer: 3 }`
 */
export function formatRegionVerId(v: RegionVerId): string {
  return `{ region id: ${v.id}, ver: ${v.version}, confVer: ${v.confVer} }`;
}
