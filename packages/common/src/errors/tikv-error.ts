import type { ErrorCode } from './error-code.js';

/**
 * The brand every {@link TiKVError} carries. It is a registered symbol
 * (`Symbol.for`), so two copies of this package loaded side by side (for
 * example an ESM and a CJS copy, or two versions in one dependency tree)
 * recognise each other's errors.
 */
export const TIKV_ERROR_BRAND: unique symbol = Symbol.for('@tikv/common.TiKVError');

/** Options accepted by the {@link TiKVError} constructor. */
export interface TiKVErrorOptions extends ErrorOptions {
  /**
   * Whether retrying the same operation may succeed.
   * @defaultValue false
   */
  readonly retryable?: boolean;
}

/**
 * The base class of every error this client raises on purpose.
 *
 * Each error carries a stable {@link ErrorCode} in `code` and a `retryable`
 * flag; the underlying error, when there is one, is in `cause`. Use
 * {@link isTiKVError} rather than `instanceof` to test for it, because the
 * brand check also works across copies of the package.
 *
 * @example
 * ```ts
 * throw new TiKVError('INVALID_ARGUMENT', 'limit must be >= 1');
 * throw new TiKVError('RPC_ERROR', 'store 1 unreachable', { retryable: true, cause: grpcError });
 * ```
 */
export class TiKVError extends Error {
  /** Brand read by {@link isTiKVError}. */
  readonly [TIKV_ERROR_BRAND] = true as const;
  override name = 'TiKVError';
  /** The stable classification of this error. */
  readonly code: ErrorCode;
  /** Whether retrying the same operation may succeed. */
  readonly retryable: boolean;

  /**
   * @param code - the error's code
   * @param message - a human readable message that keeps the server's detail
   * @param retryableOrOptions - the retryable flag, or the options object
   *   (`retryable`, `cause`)
   * @param options - `cause`, when the third argument is a boolean
   */
  constructor(
    code: ErrorCode,
    message: string,
    retryableOrOptions?: boolean | TiKVErrorOptions,
    options?: ErrorOptions,
  ) {
    const opts: TiKVErrorOptions | undefined =
      typeof retryableOrOptions === 'boolean'
        ? { ...options, retryable: retryableOrOptions }
        : retryableOrOptions;
    super(message, opts !== undefined && 'cause' in opts ? { cause: opts.cause } : undefined);
    this.code = code;
    this.retryable = opts?.retryable ?? false;
  }
}

/**
 * Tells whether a value carries the {@link TiKVError} brand, whichever copy of
 * this package created it.
 *
 * @param value - any value, typically a caught error
 * @returns true for branded errors
 */
export function hasTiKVErrorBrand(value: unknown): value is TiKVError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [TIKV_ERROR_BRAND]?: unknown })[TIKV_ERROR_BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
