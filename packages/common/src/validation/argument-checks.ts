import { InvalidArgumentError } from '../errors/client-errors.js';
import { toBytes } from '../keys/key-utils.js';
import type { RequestOptions } from '../options/request-options.js';
import { describeValue } from './describe-value.js';

/**
 * The error for an argument that is not what it must be: `<name> must be <expected>, got <what
 * was passed>`.
 *
 * @param name - how the caller knows the argument (`key`, `pairs[2].value`, `options.limit`)
 * @param expected - what it must be (`a Uint8Array or a string`)
 * @param value - what was passed
 * @returns the error, to throw
 */
export function invalidArgument(name: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`${name} must be ${expected}, got ${describeValue(value)}`);
}

/**
 * Checks bytes given as a `Uint8Array` (a `Buffer` is one) or a string (UTF-8) and converts them.
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the bytes (a `Uint8Array` is returned as is)
 * @throws InvalidArgumentError for anything else
 */
export function checkBytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return toBytes(value);
  throw invalidArgument(name, 'a Uint8Array or a string', value);
}

/**
 * Like {@link checkBytes}, with `undefined` allowed (and returned). `null` is refused: it is
 * never taken to mean "absent".
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the bytes, or undefined
 * @throws InvalidArgumentError for anything but bytes, a string or undefined
 */
export function checkOptionalBytes(value: unknown, name: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return toBytes(value);
  throw invalidArgument(name, 'a Uint8Array, string or undefined', value);
}

/**
 * Checks that an argument is an array (a string is not a list of keys).
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the array
 * @throws InvalidArgumentError for anything else
 */
export function checkArray(value: unknown, name: string): readonly unknown[] {
  if (Array.isArray(value)) return value;
  throw invalidArgument(name, 'an array', value);
}

/**
 * Checks that an argument is a non-null object (not an array).
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the object
 * @throws InvalidArgumentError for anything else
 */
export function checkObject(value: unknown, name: string): object {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  throw invalidArgument(name, 'an object', value);
}

/**
 * Checks an optional options object: `undefined`, or a non-null object that is not an array.
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the options (undefined when not given)
 * @throws InvalidArgumentError for anything else
 */
export function checkOptionsObject<T extends object>(value: T | undefined, name = 'options'): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value;
  throw invalidArgument(name, 'an object or undefined', value);
}

/**
 * Checks an optional boolean.
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the boolean, or undefined
 * @throws InvalidArgumentError for anything but a boolean or undefined
 */
export function checkOptionalBoolean(value: unknown, name: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalidArgument(name, 'a boolean or undefined', value);
}

/**
 * Checks an optional string.
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the string, or undefined
 * @throws InvalidArgumentError for anything but a string or undefined
 */
export function checkOptionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw invalidArgument(name, 'a string or undefined', value);
}

/**
 * Checks an optional non-negative safe integer (a count, a limit, seconds).
 *
 * @param value - what the caller passed
 * @param name - how the message names it
 * @returns the integer, or undefined
 * @throws InvalidArgumentError for anything else (NaN, a fraction, a negative number, a string)
 */
export function checkOptionalNonNegativeInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw invalidArgument(name, 'a non-negative integer', value);
}

/**
 * Checks the {@link RequestOptions} every async call takes last, in one place: the object itself,
 * `signal` (an `AbortSignal`) and `timeoutMs` (a finite number >= 0). Other fields are the
 * caller's to check.
 *
 * @example
 * ```ts
 * async get(key: BytesLike, options?: RequestOptions) {
 *   const opts = checkRequestOptions(options);
 *   ...
 * }
 * ```
 * @param options - what the caller passed
 * @param name - how messages name the options argument
 * @returns the options, unchanged
 * @throws InvalidArgumentError naming the bad field and what it held
 */
export function checkRequestOptions<T extends RequestOptions>(
  options: T | undefined,
  name = 'options',
): T | undefined {
  if (options === undefined) return undefined;
  checkOptionsObject(options, name);
  const { signal, timeoutMs } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgument(`${name}.signal`, 'an AbortSignal or undefined', signal);
  }
  if (
    timeoutMs !== undefined &&
    !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0)
  ) {
    throw invalidArgument(`${name}.timeoutMs`, 'a finite number >= 0 or undefined', timeoutMs);
  }
  return options;
}
