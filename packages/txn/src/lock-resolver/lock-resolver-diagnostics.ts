import { type Channel, channel } from 'node:diagnostics_channel';

/**
 * Channel of each {@link LockResolver.resolveLocks} call, published when it settles:
 * {@link LockResolveEvent}. Nothing is built or published when nobody subscribes.
 */
export const LOCK_RESOLVE_CHANNEL = 'tikv:txn:resolve-locks';

/** One `resolveLocks` call, as published on {@link LOCK_RESOLVE_CHANNEL}. Carries no keys. */
export interface LockResolveEvent {
  /** The start ts of the reader or writer that met the locks. */
  readonly callerStartTs: bigint;
  /** How many locks it was given. */
  readonly lockCount: number;
  /** The start ts of the transactions that held them. */
  readonly lockTxns: readonly bigint[];
  /** Whether the caller only reads. */
  readonly forRead: boolean;
  /** The milliseconds until the earliest live lock expires (0: none left). */
  readonly msBeforeTxnExpired: number;
  /** Transactions a read may ignore. */
  readonly resolvedLocks: readonly bigint[];
  /** Transactions a read may read through. */
  readonly committedLocks: readonly bigint[];
  /** How long the call took, in milliseconds. */
  readonly durationMs: number;
  /** The error it failed with, if any. */
  readonly error?: unknown | undefined;
}

let resolveChannel: Channel | undefined;

/** The channel, made on first use (nothing runs at import). @internal */
export function lockResolveChannel(): Channel {
  resolveChannel ??= channel(LOCK_RESOLVE_CHANNEL);
  return resolveChannel;
}
