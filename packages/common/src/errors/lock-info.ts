/**
 * Mutation and lock types (kvproto `kvrpcpb.Op`), by name. The wire enum value
 * of each name is its index in {@link OP_NAMES}.
 */
export const Op = Object.freeze({
  Put: 'Put',
  Del: 'Del',
  Lock: 'Lock',
  Rollback: 'Rollback',
  Insert: 'Insert',
  PessimisticLock: 'PessimisticLock',
  CheckNotExists: 'CheckNotExists',
  SharedLock: 'SharedLock',
  SharedPessimisticLock: 'SharedPessimisticLock',
} as const);

/** One of the {@link Op} names. */
export type Op = (typeof Op)[keyof typeof Op];

/** {@link Op} names in wire-enum order: `OP_NAMES[n]` is the name of enum value `n`. */
export const OP_NAMES: readonly Op[] = Object.freeze([
  'Put',
  'Del',
  'Lock',
  'Rollback',
  'Insert',
  'PessimisticLock',
  'CheckNotExists',
  'SharedLock',
  'SharedPessimisticLock',
]);

/**
 * A lock held on a key, as TiKV reports it (kvproto `kvrpcpb.LockInfo`), in
 * this client's own shape.
 */
export interface LockInfo {
  /** The locked key. */
  readonly key: Uint8Array;
  /** The primary key of the transaction that holds the lock. */
  readonly primary: Uint8Array;
  /** The start ts of the transaction that holds the lock. */
  readonly lockVersion: bigint;
  /** The lock's time to live, in milliseconds from `lockVersion`'s physical time. */
  readonly lockTtlMs: bigint;
  /** How many keys the transaction writes in this region. */
  readonly txnSize: bigint;
  /** The kind of lock. */
  readonly lockType: Op;
  /** For pessimistic locks, the for-update ts. */
  readonly lockForUpdateTs: bigint;
  /** Whether the transaction uses async commit. */
  readonly useAsyncCommit: boolean;
  /** The minimum commit ts of an async-commit transaction. */
  readonly minCommitTs: bigint;
  /** The secondary keys of an async-commit transaction. */
  readonly secondaries: readonly Uint8Array[];
  /** Time since the lock-wait information was last updated (0 when unknown). */
  readonly durationToLastUpdateMs: bigint;
  /** Whether the lock belongs to a file-based transaction. */
  readonly isTxnFile: boolean;
  /** When `lockType` is a shared lock, the transactions that hold it. */
  readonly sharedLockInfos: readonly LockInfo[];
}

/**
 * Builds a {@link LockInfo} from a partial one, filling protobuf defaults
 * (empty keys, zero numbers, `Put`, no secondaries).
 *
 * @param fields - the known fields
 * @returns a frozen lock info
 */
export function makeLockInfo(fields: Partial<LockInfo>): LockInfo {
  return Object.freeze({
    key: fields.key ?? new Uint8Array(0),
    primary: fields.primary ?? new Uint8Array(0),
    lockVersion: fields.lockVersion ?? 0n,
    lockTtlMs: fields.lockTtlMs ?? 0n,
    txnSize: fields.txnSize ?? 0n,
    lockType: fields.lockType ?? 'Put',
    lockForUpdateTs: fields.lockForUpdateTs ?? 0n,
    useAsyncCommit: fields.useAsyncCommit ?? false,
    minCommitTs: fields.minCommitTs ?? 0n,
    secondaries: fields.secondaries ?? [],
    durationToLastUpdateMs: fields.durationToLastUpdateMs ?? 0n,
    isTxnFile: fields.isTxnFile ?? false,
    sharedLockInfos: fields.sharedLockInfos ?? [],
  });
}

/** One edge of a deadlock's wait-for chain (kvproto `deadlock.WaitForEntry`). */
export interface WaitForEntry {
  /** The waiting transaction's start ts. */
  readonly txn: bigint;
  /** The start ts of the transaction being waited for. */
  readonly waitForTxn: bigint;
  /** Hash of the key being waited for. */
  readonly keyHash: bigint;
  /** The key the waiting transaction tries to lock. */
  readonly key: Uint8Array;
  /** The resource group tag from the lock request's context. */
  readonly resourceGroupTag: Uint8Array;
  /** How long the transaction has been waiting, in milliseconds. */
  readonly waitTimeMs: bigint;
}
