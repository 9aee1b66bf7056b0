import { CodecError, TiKVError } from '@tikv/common';

/** Why a keyspace could not be used. */
export const KeyspaceErrorReason = Object.freeze({
  /** PD does not know the keyspace (or its regions are not split yet). */
  NOT_FOUND: 'NOT_FOUND',
  /** The keyspace exists but is not ENABLED (disabled, archived or tombstone). */
  NOT_ENABLED: 'NOT_ENABLED',
  /** The keyspace is identified by an API V3 namespace/keyspace identity, which V2 cannot encode. */
  UNSUPPORTED_IDENTITY: 'UNSUPPORTED_IDENTITY',
  /** The keyspace id does not fit the 3 bytes of the V2 prefix. */
  ID_OUT_OF_RANGE: 'ID_OUT_OF_RANGE',
} as const);
/** One of the {@link KeyspaceErrorReason} values. */
export type KeyspaceErrorReason = (typeof KeyspaceErrorReason)[keyof typeof KeyspaceErrorReason];

/**
 * A keyspace cannot be used: unknown to PD, not enabled, or not representable in API V2.
 * Its `code` is `INVALID_ARGUMENT` (`NOT_SUPPORTED` for an API V3 identity); classify it by
 * `reason`. Never retryable: the configuration has to change.
 */
export class KeyspaceError extends TiKVError {
  override name = 'KeyspaceError';
  /** Why the keyspace cannot be used. */
  readonly reason: KeyspaceErrorReason;
  /** The keyspace name asked for, when the error concerns a name. */
  readonly keyspaceName: string | undefined;

  /**
   * @param reason - why the keyspace cannot be used
   * @param message - what happened
   * @param options - the keyspace name and the cause
   */
  constructor(
    reason: KeyspaceErrorReason,
    message: string,
    options: ErrorOptions & { readonly keyspaceName?: string } = {},
  ) {
    super(
      reason === KeyspaceErrorReason.UNSUPPORTED_IDENTITY ? 'NOT_SUPPORTED' : 'INVALID_ARGUMENT',
      message,
      'cause' in options ? { cause: options.cause } : undefined,
    );
    this.reason = reason;
    this.keyspaceName = options.keyspaceName;
  }
}

/**
 * A key or range handed back by TiKV lies outside the codec's keyspace (client-go
 * `errKeyOutOfBound`). A `CodecError` (code `CODEC_ERROR`) with `outOfKeyspace` set.
 */
export class KeyOutOfKeyspaceError extends CodecError {
  override name = 'KeyOutOfKeyspaceError';
  /** Always true: tells this error from a malformed encoding. */
  readonly outOfKeyspace = true as const;

  /** @param message - which key or range, for the message */
  constructor(message = 'given key does not belong to the keyspace') {
    super(message);
  }
}

/**
 * Tells whether an error says a key lies outside the keyspace.
 *
 * @param e - any value
 * @returns true for a {@link KeyOutOfKeyspaceError}, also across package copies
 */
export function isKeyOutOfKeyspace(e: unknown): e is KeyOutOfKeyspaceError {
  return (
    e instanceof Error &&
    (e as Partial<KeyOutOfKeyspaceError>).outOfKeyspace === true &&
    (e as Partial<KeyOutOfKeyspaceError>).code === 'CODEC_ERROR'
  );
}
