import { hasTiKVErrorBrand, TiKVError } from './tikv-error.js';

/**
 * The outcome of a commit is unknown: the primary may or may not have been
 * committed (for example the RPC failed after it was sent). Never retryable:
 * retrying could apply the transaction twice or report a false failure.
 */
export class UndeterminedError extends TiKVError {
  override name = 'UndeterminedError';
  declare readonly code: 'UNDETERMINED';
  declare readonly retryable: false;
  /** The transaction's start ts, when known. */
  readonly startTs: bigint | undefined;

  /**
   * @param message - what was undetermined
   * @param options - the start ts and the error that left the outcome unknown
   */
  constructor(message: string, options: ErrorOptions & { readonly startTs?: bigint } = {}) {
    super('UNDETERMINED', message, {
      retryable: false,
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    this.startTs = options.startTs;
  }
}

/** The error types PD reports in a response header (kvproto `pdpb.ErrorType`), by name. */
export const PdErrorType = Object.freeze({
  OK: 'OK',
  UNKNOWN: 'UNKNOWN',
  NOT_BOOTSTRAPPED: 'NOT_BOOTSTRAPPED',
  STORE_TOMBSTONE: 'STORE_TOMBSTONE',
  ALREADY_BOOTSTRAPPED: 'ALREADY_BOOTSTRAPPED',
  INCOMPATIBLE_VERSION: 'INCOMPATIBLE_VERSION',
  REGION_NOT_FOUND: 'REGION_NOT_FOUND',
  GLOBAL_CONFIG_NOT_FOUND: 'GLOBAL_CONFIG_NOT_FOUND',
  DUPLICATED_ENTRY: 'DUPLICATED_ENTRY',
  ENTRY_NOT_FOUND: 'ENTRY_NOT_FOUND',
  INVALID_VALUE: 'INVALID_VALUE',
  DATA_COMPACTED: 'DATA_COMPACTED',
  REGIONS_NOT_CONTAIN_ALL_KEY_RANGE: 'REGIONS_NOT_CONTAIN_ALL_KEY_RANGE',
} as const);
/** One of the {@link PdErrorType} names. */
export type PdErrorType = (typeof PdErrorType)[keyof typeof PdErrorType];

/** {@link PdErrorType} names in wire-enum order: `PD_ERROR_TYPE_NAMES[n]` names enum value `n`. */
export const PD_ERROR_TYPE_NAMES: readonly PdErrorType[] = Object.freeze(Object.values(PdErrorType));

/** PD returned an error in its response header (kvproto `pdpb.Error`). */
export class PdError extends TiKVError {
  override name = 'PdError';
  declare readonly code: 'PD_ERROR';
  /** The PD error type. */
  readonly pdErrorType: PdErrorType;

  /**
   * @param pdErrorType - the header's error type
   * @param message - the header's message
   * @param options - retryable flag (default false) and cause
   */
  constructor(
    pdErrorType: PdErrorType,
    message: string,
    options: ErrorOptions & { readonly retryable?: boolean } = {},
  ) {
    super(
      'PD_ERROR',
      message === '' ? `pd error ${pdErrorType}` : `pd error ${pdErrorType}: ${message}`,
      options,
    );
    this.pdErrorType = pdErrorType;
  }
}

/**
 * Converts a PD response-header error (`{ type, message }` with the type as the
 * wire enum number or its name) to a {@link PdError}.
 *
 * @param header - the header's error
 * @returns the error, or undefined when the type is `OK`
 */
export function pdErrorFromWire(header: {
  readonly type?: number | string;
  readonly message?: string;
}): PdError | undefined {
  const raw = header.type ?? 0;
  const type: PdErrorType =
    typeof raw === 'number'
      ? (PD_ERROR_TYPE_NAMES[raw] ?? 'UNKNOWN')
      : (PD_ERROR_TYPE_NAMES.find((n) => n === raw) ?? 'UNKNOWN');
  if (type === 'OK') return undefined;
  return new PdError(type, header.message ?? '');
}

/**
 * The operation's own deadline (its `timeoutMs`) passed. A user's abort is
 * reported with the signal's reason instead, never with this error.
 */
export class DeadlineExceededError extends TiKVError {
  override name = 'DeadlineExceededError';
  declare readonly code: 'DEADLINE_EXCEEDED';
  /** The timeout that passed, when known. */
  readonly timeoutMs: number | undefined;

  /**
   * @param message - what timed out
   * @param options - the timeout and the error being handled when it passed
   */
  constructor(message = 'deadline exceeded', options: ErrorOptions & { readonly timeoutMs?: number } = {}) {
    super('DEADLINE_EXCEEDED', message, {
      retryable: false,
      ...('cause' in options ? { cause: options.cause } : {}),
    });
    this.timeoutMs = options.timeoutMs;
  }
}

/** Attempts and sleep of one backoff kind within one `Backoffer`. */
export interface BackoffKindStats {
  /** The backoff kind's name. */
  readonly kind: string;
  /** How many times the kind backed off. */
  readonly attempts: number;
  /** The total time slept for the kind, in milliseconds. */
  readonly totalSleepMs: number;
}

/** One error recorded by a `Backoffer` before it slept. */
export interface BackoffErrorRecord {
  /** The backoff kind the error was recorded for. */
  readonly kind: string;
  /** The error. */
  readonly error: unknown;
  /** When it was recorded, in the backoffer clock's milliseconds. */
  readonly atMs: number;
}

/** Fields of a {@link BackoffBudgetExceededError}. */
export interface BackoffBudgetExceededFields {
  /** The kind whose backoff was refused. */
  readonly kind: string;
  /** The budget, in milliseconds (after the backoff weight). */
  readonly maxBackoffMs: number;
  /** The total time slept, in milliseconds. */
  readonly totalSleepMs: number;
  /** The part of `totalSleepMs` slept for excluded kinds (ServerIsBusy). */
  readonly excludedSleepMs: number;
  /** Attempts and sleep per kind. */
  readonly history: readonly BackoffKindStats[];
  /** The last errors recorded, oldest first (at most three). */
  readonly recentErrors: readonly BackoffErrorRecord[];
  /** The non-excluded kind that slept longest, if any. */
  readonly longestSleepKind: string | undefined;
  /** How long `longestSleepKind` slept, in milliseconds. */
  readonly longestSleepMs: number;
  /** Whether the non-excluded sleep reached the budget. */
  readonly maxBackoffTimeExceeded: boolean;
  /** Whether the excluded sleep reached its own limit. */
  readonly maxExcludedTimeExceeded: boolean;
  /**
   * The kind whose error is the `cause`: the kind that slept longest (client-go's rule), or
   * `kind` when nothing slept. @defaultValue `kind`
   */
  readonly causeKind?: string;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The backoff budget of an operation is used up: it slept `maxBackoffMs` in total (time in
 * RPCs does not count; `timeoutMs` bounds the wall time).
 *
 * `cause` is the real reason, named on the message's first line: the latest error of the kind
 * that slept longest (`causeKind`), as client-go reports it; for a store that cannot be
 * reached that is the transport's `RpcError`, not the region miss it led to. The error is
 * `retryable` when that cause is (the operation may succeed later). `recentErrors` lists the
 * last errors and `history` the attempts and sleep per kind.
 */
export class BackoffBudgetExceededError extends TiKVError implements BackoffBudgetExceededFields {
  override name = 'BackoffBudgetExceededError';
  declare readonly code: 'BACKOFF_EXCEEDED';
  readonly kind: string;
  readonly maxBackoffMs: number;
  readonly totalSleepMs: number;
  readonly excludedSleepMs: number;
  readonly history: readonly BackoffKindStats[];
  readonly recentErrors: readonly BackoffErrorRecord[];
  readonly longestSleepKind: string | undefined;
  readonly longestSleepMs: number;
  readonly maxBackoffTimeExceeded: boolean;
  readonly maxExcludedTimeExceeded: boolean;
  readonly causeKind: string;

  /**
   * @param fields - the budget and history
   * @param options - `cause`: the error of `causeKind` (the real reason)
   */
  constructor(fields: BackoffBudgetExceededFields, options: ErrorOptions = {}) {
    const causeKind = fields.causeKind ?? fields.kind;
    const hasCause = 'cause' in options;
    const lines = [
      hasCause
        ? `backoff budget of ${fields.maxBackoffMs}ms exhausted; last cause (${causeKind}): ${reasonOf(options.cause)}`
        : `backoff budget of ${fields.maxBackoffMs}ms exhausted`,
      `${fields.kind} backoffer.maxSleep ${fields.maxBackoffMs}ms is exceeded, errors:`,
    ];
    for (const r of fields.recentErrors)
      lines.push(`${r.kind}: ${reasonOf(r.error)} at ${new Date(r.atMs).toISOString()}`);
    const total = fields.history.reduce((n, h) => n + h.attempts, 0);
    const detail = fields.history.map((h) => `${h.kind}:${h.attempts}`).join(', ');
    lines.push(
      `total-backoff-times: ${total}, backoff-detail: ${detail}, ` +
        `maxBackoffTimeExceeded: ${fields.maxBackoffTimeExceeded}, maxExcludedTimeExceeded: ${fields.maxExcludedTimeExceeded}`,
    );
    if (fields.longestSleepKind !== undefined) {
      lines.push(`longest sleep type: ${fields.longestSleepKind}, time: ${fields.longestSleepMs}ms`);
    }
    super('BACKOFF_EXCEEDED', lines.join('\n'), {
      retryable: hasCause && hasTiKVErrorBrand(options.cause) && options.cause.retryable,
      ...(hasCause ? { cause: options.cause } : {}),
    });
    this.causeKind = causeKind;
    this.kind = fields.kind;
    this.maxBackoffMs = fields.maxBackoffMs;
    this.totalSleepMs = fields.totalSleepMs;
    this.excludedSleepMs = fields.excludedSleepMs;
    this.history = fields.history;
    this.recentErrors = fields.recentErrors;
    this.longestSleepKind = fields.longestSleepKind;
    this.longestSleepMs = fields.longestSleepMs;
    this.maxBackoffTimeExceeded = fields.maxBackoffTimeExceeded;
    this.maxExcludedTimeExceeded = fields.maxExcludedTimeExceeded;
  }
}

/** A caller passed an invalid argument or option. */
export class InvalidArgumentError extends TiKVError {
  override name = 'InvalidArgumentError';
  declare readonly code: 'INVALID_ARGUMENT';

  /**
   * @param message - what is wrong with the argument
   * @param options - cause
   */
  constructor(message: string, options: ErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** Encoded input is malformed: truncated, a bad marker or padding byte, an overflow. */
export class CodecError extends TiKVError {
  override name = 'CodecError';
  declare readonly code: 'CODEC_ERROR';
  /** Byte offset in the input where decoding failed, when known. */
  readonly offset: number | undefined;

  /**
   * @param message - what is malformed
   * @param options - the offset and cause
   */
  constructor(message: string, options: ErrorOptions & { readonly offset?: number } = {}) {
    super('CODEC_ERROR', message, 'cause' in options ? { cause: options.cause } : undefined);
    this.offset = options.offset;
  }
}

/** The client, or the component the call needed, has been closed. */
export class ClientClosedError extends TiKVError {
  override name = 'ClientClosedError';
  declare readonly code: 'CLIENT_CLOSED';

  /**
   * @param message - what was closed
   * @param options - cause
   */
  constructor(message = 'client is closed', options: ErrorOptions = {}) {
    super('CLIENT_CLOSED', message, options);
  }
}

/** A scan asked for more entries than the allowed maximum (client-go `MaxRawKVScanLimit`). */
export class MaxScanLimitExceededError extends TiKVError {
  override name = 'MaxScanLimitExceededError';
  declare readonly code: 'MAX_SCAN_LIMIT_EXCEEDED';
  /** The requested limit. */
  readonly limit: number;
  /** The maximum allowed. */
  readonly maxLimit: number;

  /**
   * @param limit - the requested limit
   * @param maxLimit - the maximum allowed
   */
  constructor(limit: number, maxLimit: number) {
    super('MAX_SCAN_LIMIT_EXCEEDED', `scan limit ${limit} exceeds the maximum ${maxLimit}`);
    this.limit = limit;
    this.maxLimit = maxLimit;
  }
}

/**
 * A store already has as many requests in flight from this client as the store limit allows
 * (client-go `ErrTokenLimit`, the `store-limit` setting). Not retried by the client; the caller
 * may try again later.
 */
export class StoreTokenLimitError extends TiKVError {
  override name = 'StoreTokenLimitError';
  declare readonly code: 'STORE_TOKEN_LIMIT';
  /** The store. */
  readonly storeId: bigint;
  /** The limit that was reached. */
  readonly limit: number;

  /**
   * @param storeId - the store
   * @param limit - the store limit
   */
  constructor(storeId: bigint, limit: number) {
    super('STORE_TOKEN_LIMIT', `store token is up to the limit ${limit}, store id = ${storeId}`, {
      retryable: true,
    });
    this.storeId = storeId;
    this.limit = limit;
  }
}
