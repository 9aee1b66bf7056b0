import { invalidArgument } from '@tikv/common';

/**
 * Checks a key argument of a PD call: region lookups take the caller's bytes as they are.
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @throws InvalidArgumentError for anything but a `Uint8Array`
 */
export function checkPdKey(value: unknown, name: string): void {
  if (!(value instanceof Uint8Array)) throw invalidArgument(name, 'a Uint8Array', value);
}

/**
 * Checks a 64-bit id or timestamp argument of a PD call (region and store ids, TSO timestamps).
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @throws InvalidArgumentError for anything but a bigint in `[0, 2^64)`
 */
export function checkPdU64(value: unknown, name: string): void {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
    throw invalidArgument(name, 'a bigint in [0, 2^64)', value);
  }
}
