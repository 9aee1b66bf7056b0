import { InvalidArgumentError } from '../errors/client-errors.js';
import { EntryTooLargeError, KeyTooLargeError } from '../errors/size-errors.js';
import { compareKeys, keyToLatin1 } from '../keys/key-utils.js';
import { checkArray, checkBytes, checkObject } from './argument-checks.js';
import { MAX_ENTRY_SIZE_BYTES, MAX_KEY_SIZE_BYTES } from './tikv-limits.js';

/**
 * Checks a key argument and converts it: bytes or a string, not empty, not longer than TiKV's
 * `max-key-size`.
 *
 * @param key - what the caller passed
 * @param name - how messages name it
 * @returns the key's bytes
 * @throws InvalidArgumentError for a non-key or an empty key
 * @throws KeyTooLargeError for a key over {@link MAX_KEY_SIZE_BYTES}
 */
export function checkKey(key: unknown, name = 'key'): Uint8Array {
  const k = checkBytes(key, name);
  if (k.length === 0) throw new InvalidArgumentError(`${name} must not be empty`);
  if (k.length > MAX_KEY_SIZE_BYTES) throw new KeyTooLargeError(k.length, MAX_KEY_SIZE_BYTES);
  return k;
}

/**
 * Checks a range bound and converts it: bytes or a string (empty allowed: an unbounded end), not
 * longer than TiKV's `max-key-size`.
 *
 * @param key - what the caller passed
 * @param name - how messages name it (`startKey`, `ranges[1].endKey`)
 * @returns the bound's bytes
 * @throws InvalidArgumentError for a non-key
 * @throws KeyTooLargeError for a bound over {@link MAX_KEY_SIZE_BYTES}
 */
export function checkBoundKey(key: unknown, name: string): Uint8Array {
  const k = checkBytes(key, name);
  if (k.length > MAX_KEY_SIZE_BYTES) throw new KeyTooLargeError(k.length, MAX_KEY_SIZE_BYTES);
  return k;
}

/**
 * Checks a value and converts it; the key and value together must fit TiKV's
 * `raft-entry-max-size`. An empty value is a value.
 *
 * @param key - the checked key the value goes with
 * @param value - what the caller passed
 * @param name - how messages name it
 * @returns the value's bytes
 * @throws InvalidArgumentError for a non-value
 * @throws EntryTooLargeError for an entry over {@link MAX_ENTRY_SIZE_BYTES}
 */
export function checkValue(key: Uint8Array, value: unknown, name = 'value'): Uint8Array {
  const v = checkBytes(value, name);
  const size = key.length + v.length;
  if (size > MAX_ENTRY_SIZE_BYTES) throw new EntryTooLargeError(size, MAX_ENTRY_SIZE_BYTES);
  return v;
}

/**
 * Checks a list of keys: an array whose every element passes {@link checkKey} (messages name the
 * element, `keys[3]`).
 *
 * @param keys - what the caller passed
 * @param name - how messages name the list
 * @returns the keys' bytes, in order (repeats kept)
 */
export function checkKeys(keys: unknown, name = 'keys'): Uint8Array[] {
  const list = checkArray(keys, name);
  const out = new Array<Uint8Array>(list.length);
  for (let i = 0; i < list.length; i++) {
    const k = list[i];
    // The common case checked inline: naming each element (`keys[3]`) up front cost a string
    // per key, which showed in profiles of batch calls.
    out[i] =
      k instanceof Uint8Array && k.length > 0 && k.length <= MAX_KEY_SIZE_BYTES
        ? k
        : checkKey(k, `${name}[${i}]`);
  }
  return out;
}

/** A key-value pair after {@link checkPairs}. */
export interface CheckedPair {
  /** The key's bytes. */
  readonly key: Uint8Array;
  /** The value's bytes. */
  readonly value: Uint8Array;
}

/**
 * Checks a list of `{ key, value }` pairs: an array of objects whose keys pass {@link checkKey}
 * and values {@link checkValue} (messages name `pairs[2].value`).
 *
 * @param pairs - what the caller passed
 * @param name - how messages name the list
 * @returns the pairs' bytes, in order
 */
export function checkPairs(pairs: unknown, name = 'pairs'): CheckedPair[] {
  const list = checkArray(pairs, name);
  const out = new Array<CheckedPair>(list.length);
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (typeof item === 'object' && item !== null) {
      // The common case checked inline, without naming the element up front (see checkKeys).
      const { key, value } = item as { key?: unknown; value?: unknown };
      if (
        key instanceof Uint8Array &&
        value instanceof Uint8Array &&
        key.length > 0 &&
        key.length <= MAX_KEY_SIZE_BYTES &&
        key.length + value.length <= MAX_ENTRY_SIZE_BYTES &&
        !Array.isArray(item)
      ) {
        out[i] = { key, value };
        continue;
      }
    }
    const p = checkObject(item, `${name}[${i}]`) as { key?: unknown; value?: unknown };
    const key = checkKey(p.key, `${name}[${i}].key`);
    out[i] = { key, value: checkValue(key, p.value, `${name}[${i}].value`) };
  }
  return out;
}

/**
 * Checks a forward range `[start, end)`: with a bounded (non-empty) end, `start` must not be
 * greater than `end`.
 *
 * @param start - the inclusive lower bound
 * @param end - the exclusive upper bound; empty is unbounded
 * @throws InvalidArgumentError for an inverted range
 */
export function checkForwardRange(start: Uint8Array, end: Uint8Array): void {
  if (end.length > 0 && compareKeys(start, end) > 0) {
    throw new InvalidArgumentError('startKey must not be greater than endKey');
  }
}

/**
 * Checks a reverse range (client-go's `ReverseScan`: `start` is the exclusive upper bound, `end`
 * the inclusive lower one): `start` must not be less than `end`.
 *
 * @param start - the exclusive upper bound
 * @param end - the inclusive lower bound
 * @throws InvalidArgumentError for an inverted range
 */
export function checkReverseRange(start: Uint8Array, end: Uint8Array): void {
  if (compareKeys(start, end) < 0) {
    throw new InvalidArgumentError('reverse scan: startKey (upper bound) must not be less than endKey');
  }
}

/**
 * The keys without repeats, in order of first appearance. Returns `keys` itself when nothing
 * repeats.
 *
 * @param keys - the keys
 * @param ids - their {@link keyToLatin1} strings, when the caller has them already
 * @returns the unique keys
 */
export function uniqueKeys(
  keys: readonly Uint8Array[],
  ids: readonly string[] = keys.map(keyToLatin1),
): readonly Uint8Array[] {
  const seen = new Set<string>(ids);
  if (seen.size === keys.length) return keys;
  const out: Uint8Array[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (seen.delete(ids[i] as string)) out.push(keys[i] as Uint8Array);
  }
  return out;
}
