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
 * Like {@link checkRawApiVersion} for ranges: in V2 a range's start must be a raw key and its end a
 * raw key or the end of the raw key space (`s`, the byte after `r`); an empty end is allowed.
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
    const startOk = keyModeOf(start) === 'raw';
    const endOk = end.length === 0 || keyModeOf(end) === 'raw' || (end.length === 1 && end[0] === 0x73);
    if (!startOk || !endOk) {
      throw new StorageError(
        `Key mode mismatched with the request mode, cmd: ${cmd}, storage: V2, ` +
          `range: (Some("${hexUpper(start)}"), Some("${hexUpper(end)}"))`,
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
