import { channel } from 'node:diagnostics_channel';
import type { CommitProtocol } from './commit-result.js';

/** Channel of each TTL heartbeat of a large transaction's primary lock: {@link TxnHeartbeatEvent}. */
export const TXN_HEARTBEAT_CHANNEL = 'tikv:txn:heartbeat';
/** Channel of each finished commit (successful or not): {@link TxnCommitEvent}. */
export const TXN_COMMIT_CHANNEL = 'tikv:txn:commit';

/**
 * One heartbeat (`KvTxnHeartBeat`) of the TTL manager, or its stop because the transaction
 * outlived its max TTL (`maxTtlExceeded`: no heartbeat was sent). Keys are never included.
 */
export interface TxnHeartbeatEvent {
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The TTL asked for, in milliseconds from the start ts. */
  readonly adviseLockTtlMs: number;
  /** The primary lock's TTL after the heartbeat, in milliseconds; undefined when it failed. */
  readonly lockTtlMs: number | undefined;
  /** Why it failed; undefined when it succeeded. */
  readonly error: unknown;
  /** Whether the TTL manager stops after this heartbeat. */
  readonly stopped: boolean;
  /**
   * The transaction is older than its max TTL (`maxTxnTtlMs`; for a pipelined one, the larger of
   * it and `pipelined.maxTxnTtlMs`): the manager stops without a heartbeat (`stopped` is true).
   */
  readonly maxTtlExceeded: boolean;
}

/** One commit, once its outcome is known (the background commit of secondaries may go on). */
export interface TxnCommitEvent {
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The commit ts; 0n when it failed. */
  readonly commitTs: bigint;
  /** How it committed (or how it tried last). */
  readonly protocol: CommitProtocol;
  /** How many keys it wrote. */
  readonly keys: number;
  /** The error it failed with; undefined on success. */
  readonly error: unknown;
}

const heartbeatChannel = channel(TXN_HEARTBEAT_CHANNEL);
const commitChannel = channel(TXN_COMMIT_CHANNEL);

/** @internal */
export function publishHeartbeat(event: TxnHeartbeatEvent): void {
  if (heartbeatChannel.hasSubscribers) heartbeatChannel.publish(event);
}

/** @internal */
export function publishCommit(event: () => TxnCommitEvent): void {
  if (commitChannel.hasSubscribers) commitChannel.publish(event());
}
