import { type deadlock, kvrpcpb } from '@tikv/proto';

/** Why a pessimistic prewrite found no pessimistic lock (`PessimisticLockNotFoundReason`). */
export type PessimisticLockNotFoundReason =
  | 'LockTsMismatch'
  | 'LockMissingAmendFail'
  | 'LockForUpdateTsMismatch'
  | 'NonLockKeyConflict'
  | 'FailpointInjected';

/** The failures of TiKV's MVCC layer (`mvcc::ErrorInner` and the txn-level ones the mock needs). */
export type MvccErrorDetail =
  | { readonly kind: 'KeyIsLocked'; readonly info: kvrpcpb.LockInfo }
  | {
      readonly kind: 'Committed';
      readonly startTs: bigint;
      readonly commitTs: bigint;
      readonly key: Uint8Array;
    }
  | { readonly kind: 'PessimisticLockRolledBack'; readonly startTs: bigint; readonly key: Uint8Array }
  | {
      readonly kind: 'TxnLockNotFound';
      readonly startTs: bigint;
      readonly commitTs: bigint;
      readonly key: Uint8Array;
    }
  | { readonly kind: 'TxnNotFound'; readonly startTs: bigint; readonly key: Uint8Array }
  | {
      readonly kind: 'LockTypeNotMatch';
      readonly startTs: bigint;
      readonly key: Uint8Array;
      readonly pessimistic: boolean;
    }
  | {
      readonly kind: 'WriteConflict';
      readonly startTs: bigint;
      readonly conflictStartTs: bigint;
      readonly conflictCommitTs: bigint;
      readonly key: Uint8Array;
      readonly primary: Uint8Array;
      readonly reason: kvrpcpb.WriteConflict_Reason;
    }
  | {
      readonly kind: 'Deadlock';
      readonly startTs: bigint;
      readonly lockTs: bigint;
      readonly lockKey: Uint8Array;
      readonly deadlockKeyHash: bigint;
      readonly waitChain: deadlock.WaitForEntry[];
    }
  | { readonly kind: 'AlreadyExist'; readonly key: Uint8Array; readonly existingStartTs: bigint }
  | { readonly kind: 'DefaultNotFound'; readonly key: Uint8Array }
  | {
      readonly kind: 'CommitTsExpired';
      readonly startTs: bigint;
      readonly commitTs: bigint;
      readonly key: Uint8Array;
      readonly minCommitTs: bigint;
    }
  | {
      readonly kind: 'PessimisticLockNotFound';
      readonly startTs: bigint;
      readonly key: Uint8Array;
      readonly reason: PessimisticLockNotFoundReason;
    }
  | {
      readonly kind: 'CommitTsTooLarge';
      readonly startTs: bigint;
      readonly minCommitTs: bigint;
      readonly maxCommitTs: bigint;
    }
  | {
      readonly kind: 'AssertionFailed';
      readonly startTs: bigint;
      readonly key: Uint8Array;
      readonly assertion: kvrpcpb.Assertion;
      readonly existingStartTs: bigint;
      readonly existingCommitTs: bigint;
    }
  | { readonly kind: 'LockIfExistsFailed'; readonly startTs: bigint; readonly key: Uint8Array }
  | { readonly kind: 'PrimaryMismatch'; readonly info: kvrpcpb.LockInfo }
  | { readonly kind: 'GenerationOutOfOrder'; readonly generation: bigint; readonly key: Uint8Array }
  | { readonly kind: 'InvalidTxnTso'; readonly startTs: bigint; readonly commitTs: bigint }
  | { readonly kind: 'Other'; readonly message: string }
  /**
   * A storage-level refusal (not an MVCC one), as TiKV prints it: `debug` (`{:?}`, what KeyErrors
   * carry) and `display` (`{}`, what string `error` fields carry), both used verbatim.
   */
  | { readonly kind: 'Storage'; readonly debug: string; readonly display: string };

/** The kind of an {@link MvccError}. */
export type MvccErrorKind = MvccErrorDetail['kind'];

function debugValue(v: unknown): string {
  if (v instanceof Uint8Array) return `[${Array.from(v).join(', ')}]`;
  if (typeof v === 'bigint') return `TimeStamp(${v})`;
  if (typeof v === 'object' && v !== null) return 'LockInfo { .. }';
  return String(v);
}

/**
 * A failure of an MVCC action. Commands turn it into a `KeyError` with {@link toKeyError}; the
 * message imitates TiKV's `{:?}` output of the error, which is what TiKV puts in `abort` and
 * `retryable` strings (clients must not parse it).
 */
export class MvccError extends Error {
  override name = 'MvccError';
  readonly detail: MvccErrorDetail;

  constructor(detail: MvccErrorDetail) {
    if (detail.kind === 'Storage') {
      super(detail.debug);
      this.detail = detail;
      return;
    }
    const fields = Object.entries(detail)
      .filter(([k]) => k !== 'kind')
      .map(([k, v]) => `${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}: ${debugValue(v)}`)
      .join(', ');
    super(`Error(Txn(Error(Mvcc(Error(${detail.kind} { ${fields} })))))`);
    this.detail = detail;
  }

  get kind(): MvccErrorKind {
    return this.detail.kind;
  }
}

/**
 * A command's own refusal (TiKV's `txn::ErrorInner::Other(box_err!(..))`), printed as TiKV prints
 * it: the message behind the source location TiKV's `box_err!` adds (as of 9.0.0-beta.2).
 */
export function txnOther(location: string, message: string): MvccError {
  const text = `[${location}]: ${message}`;
  return new MvccError({
    kind: 'Storage',
    debug: `Error(Txn(Error(Other(${JSON.stringify(text)}))))`,
    display: text,
  });
}

/** Throws an {@link MvccError}. */
export function mvccFail(detail: MvccErrorDetail): never {
  throw new MvccError(detail);
}

/** Whether `e` is an MVCC error of the given kind. */
export function isMvccError<K extends MvccErrorKind>(
  e: unknown,
  kind: K,
): e is MvccError & { detail: Extract<MvccErrorDetail, { kind: K }> } {
  return e instanceof MvccError && e.detail.kind === kind;
}

/** An empty KeyError (every field unset). */
export function emptyKeyError(): kvrpcpb.KeyError {
  return kvrpcpb.KeyError.fromPartial({});
}

/** `extract_key_error`: the KeyError TiKV answers for an MVCC failure, fields filled as TiKV does. */
export function toKeyError(e: MvccError): kvrpcpb.KeyError {
  const out = emptyKeyError();
  const d = e.detail;
  switch (d.kind) {
    case 'KeyIsLocked':
      out.locked = d.info;
      break;
    case 'WriteConflict':
      out.conflict = {
        startTs: d.startTs,
        conflictTs: d.conflictStartTs,
        conflictCommitTs: d.conflictCommitTs,
        key: d.key,
        primary: d.primary,
        reason: d.reason,
      };
      out.retryable = e.message;
      break;
    case 'AlreadyExist':
      out.alreadyExist = { key: d.key };
      break;
    case 'TxnLockNotFound':
      out.retryable = e.message;
      out.txnLockNotFound = { key: d.key };
      break;
    case 'TxnNotFound':
      out.txnNotFound = { startTs: d.startTs, primaryKey: d.key };
      break;
    case 'Deadlock':
      out.deadlock = {
        lockTs: d.lockTs,
        lockKey: d.lockKey,
        deadlockKeyHash: d.deadlockKeyHash,
        waitChain: d.waitChain,
        deadlockKey: new Uint8Array(0),
      };
      break;
    case 'CommitTsExpired':
      out.commitTsExpired = {
        startTs: d.startTs,
        attemptedCommitTs: d.commitTs,
        key: d.key,
        minCommitTs: d.minCommitTs,
      };
      break;
    case 'CommitTsTooLarge':
      out.commitTsTooLarge = { commitTs: d.minCommitTs };
      break;
    case 'AssertionFailed':
      out.assertionFailed = {
        startTs: d.startTs,
        key: d.key,
        assertion: d.assertion,
        existingStartTs: d.existingStartTs,
        existingCommitTs: d.existingCommitTs,
      };
      break;
    case 'PrimaryMismatch':
      out.primaryMismatch = { lockInfo: d.info };
      break;
    default:
      out.abort = e.message;
  }
  return out;
}
