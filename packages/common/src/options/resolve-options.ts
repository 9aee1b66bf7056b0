import { InvalidArgumentError } from '../errors/client-errors.js';

/** `T` with every property optional and `undefined` removed from its type. */
export type DefinedOnly<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/**
 * `T` with every property present, read-only and without `undefined`: options once their
 * defaults are applied. (`Required<T>` is not that: under `exactOptionalPropertyTypes` it keeps
 * the `| undefined` an options type declares for callers that forward a missing value.)
 */
export type Resolved<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

/**
 * Copies the properties of an options object whose value is not `undefined`,
 * so `{ ...DEFAULTS, ...definedOnly(opts) }` keeps a default when the caller
 * passed `{ x: undefined }`.
 *
 * @param options - the caller's options (undefined is treated as empty)
 * @returns a new object without the undefined-valued properties
 */
export function definedOnly<T extends object>(options: T | undefined): DefinedOnly<T> {
  const out: Record<string, unknown> = {};
  if (options === undefined) return out as DefinedOnly<T>;
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) out[key] = value;
  }
  return out as DefinedOnly<T>;
}

/** Checks one option's value: returns what is wrong with it, or undefined when it is fine. */
export type OptionRule<V> = (value: V) => string | undefined;

/** Rules for some of the options of `T`, by option name. */
export type OptionRules<T> = { readonly [K in keyof T]?: OptionRule<T[K]> };

/**
 * Merges options over their defaults (ignoring undefined values), validates
 * them and freezes the result.
 *
 * @example
 * ```ts
 * export const DEFAULT_BATCH_OPTIONS = Object.freeze({ maxBatchSize: 128, maxBatchWaitMs: 0 });
 * export function resolveBatchOptions(o?: BatchOptions) {
 *   return resolveOptions(DEFAULT_BATCH_OPTIONS, o, { maxBatchSize: mustBePositiveInteger, maxBatchWaitMs: mustBeNonNegative });
 * }
 * ```
 * @typeParam O - the options type (every property optional)
 * @param defaults - every option's default
 * @param options - the caller's options
 * @param rules - validation rules by option name
 * @returns the frozen, validated options
 * @throws InvalidArgumentError naming the first invalid option
 */
export function resolveOptions<O extends object>(
  defaults: Resolved<O>,
  options: O | undefined,
  rules: OptionRules<Resolved<O>> = {},
): Resolved<O> {
  const resolved = { ...defaults, ...definedOnly(options) } as Resolved<O>;
  for (const key of Object.keys(rules) as (keyof O & string)[]) {
    const rule = rules[key];
    const problem = rule?.(resolved[key]);
    if (problem !== undefined) throw new InvalidArgumentError(`option ${key} ${problem}`);
  }
  return Object.freeze(resolved);
}

/** Rule: a finite number >= 0. */
export const mustBeNonNegative: OptionRule<number> = (v) =>
  Number.isFinite(v) && v >= 0 ? undefined : `must be a finite number >= 0, got ${String(v)}`;

/** Rule: a finite number > 0. */
export const mustBePositive: OptionRule<number> = (v) =>
  Number.isFinite(v) && v > 0 ? undefined : `must be a finite number > 0, got ${String(v)}`;

/** Rule: an integer >= 0. */
export const mustBeNonNegativeInteger: OptionRule<number> = (v) =>
  Number.isSafeInteger(v) && v >= 0 ? undefined : `must be an integer >= 0, got ${String(v)}`;

/** Rule: an integer >= 1. */
export const mustBePositiveInteger: OptionRule<number> = (v) =>
  Number.isSafeInteger(v) && v >= 1 ? undefined : `must be an integer >= 1, got ${String(v)}`;

/**
 * Rule factory: a finite number within [min, max].
 *
 * @param min - the smallest allowed value
 * @param max - the largest allowed value
 * @returns the rule
 */
export function mustBeInRange(min: number, max: number): OptionRule<number> {
  return (v) =>
    Number.isFinite(v) && v >= min && v <= max
      ? undefined
      : `must be within [${min}, ${max}], got ${String(v)}`;
}
