import { kvrpcpb } from '@tikv/proto';
import { ApiVersion, keyModeOf } from '../api-version.js';
import { ColumnFamily } from '../storage/kv-engine.js';

/** A storage-layer failure: TiKV reports it in the response's `error` string, not as a region error. */
export class StorageError extends Error {
  override name = 'StorageError';
}

function wireApiVersionName(v: kvrpcpb.APIVersion): string {
  switch (v) {
    case kvrpcpb.APIVersion.V1:
      return 'V1';
    case kvrpcpb.APIVersion.V1TTL:
      return 'V1ttl';
    case kvrpcpb.APIVersion.V2:
      return 'V2';
    default:
      return String(v);
  }
}

function hexUpper(k: Uint8Array): string {
  return Buffer.from(k).toString('hex').toUpperCase();
}

/**
 * The API-version gate TiKV applies to raw commands: the request's version must equal the
 * storage's, and in V2 every key must be in raw mode (first byte `r`).
 */
export function checkRawApiVersion(
  storage: ApiVersion,
  ctx: kvrpcpb.Context | undefined,
  cmd: string,
  keys: Iterable<Uint8Array>,
): void {
  const requested = ctx?.apiVersion ?? kvrpcpb.APIVersion.V1;
  const same =
    (storage === ApiVersion.V1 && requested === kvrpcpb.APIVersion.V1) ||
    (storage === ApiVersion.V2 && requested === kvrpcpb.APIVersion.V2);
  if (!same) {
    throw new StorageError(
      `Api version in request does not match with TiKV storage, cmd: ${cmd}, storage: ${storage}, ` +
        `request: ${wireApiVersionName(requested)}`,
    );
  }
  if (storage !== ApiVersion.V2) return;
  for (const k of keys) {
    if (keyModeOf(k) !== 'raw') {
      throw new StorageError(
        `Key mode mismatched with the request mode, cmd: ${cmd}, storage: V2, key: ${hexUpper(k)}`,
      );
    }
  }
}

/**
 * TiKV's `parse_range_mode` for API V2: a range has a key mode only when both bounds are non-empty
 * and either share their mode byte or the end is the single byte after the start's mode byte (`s`
 * ends the whole raw key space). Anything else, an empty (unbounded) end included, has none.
 */
function rangeIsRaw(start: Uint8Array, end: Uint8Array): boolean {
  if (start.length === 0 || end.length === 0) return false;
  const first = start[0] as number;
  const sameMode = end[0] === first || (end.length === 1 && end[0] === first + 1);
  return sameMode && keyModeOf(start) === 'raw';
}

/**
 * Like {@link checkRawApiVersion} for ranges, as TiKV checks them (bounds in the order the request
 * carries them, even for reverse scans): in V2 both bounds must be present and in raw mode, the
 * end possibly `s` (the end of the raw key space). An empty end is refused in V2, as in TiKV.
 */
export function checkRawApiVersionRanges(
  storage: ApiVersion,
  ctx: kvrpcpb.Context | undefined,
  cmd: string,
  ranges: Iterable<readonly [Uint8Array, Uint8Array]>,
): void {
  checkRawApiVersion(storage, ctx, cmd, []);
  if (storage !== ApiVersion.V2) return;
  for (const [start, end] of ranges) {
    if (!rangeIsRaw(start, end)) {
      const bound = (k: Uint8Array) => (k.length === 0 ? 'None' : `Some("${hexUpper(k)}")`);
      throw new StorageError(
        `Key mode mismatched with the request mode, cmd: ${cmd}, storage: V2, ` +
          `range: (${bound(start)}, ${bound(end)})`,
      );
    }
  }
}

/** Resolves a raw request's column family name as TiKV does (V2 only allows the default). */
export function rawColumnFamily(storage: ApiVersion, cf: string): ColumnFamily {
  if (cf === '') return ColumnFamily.Default;
  if (storage === ApiVersion.V2) throw new StorageError(`cf is deprecated in API V2, cf name: ${cf}`);
  if (cf === ColumnFamily.Default || cf === ColumnFamily.Lock || cf === ColumnFamily.Write) return cf;
  throw new StorageError(`invalid cf name: ${cf}`);
}

/** Rejects keys longer than TiKV's `max-key-size`. */
export function checkKeySize(keys: Iterable<Uint8Array>, limit: number): void {
  for (const k of keys) {
    if (k.length > limit) throw new StorageError(`max key size exceeded, size: ${k.length}, limit: ${limit}`);
  }
}

/** The error TiKV gives for a TTL on a cluster without TTL support. */
export const TTL_NOT_ENABLED = 'ttl is not enabled, but get put request with ttl';
