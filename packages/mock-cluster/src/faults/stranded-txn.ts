import { InvalidArgumentError } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { TxnCommands } from '../mvcc/txn-commands.js';

/** A transaction whose client "crashed" after prewrite (and, optionally, after committing its primary). */
export interface StrandedTxnSpec {
  /** The keys it wrote (TiKV key domain); the first is the primary unless `primary` is given. */
  readonly keys: readonly Uint8Array[];
  /** The value written to every key (default: the key itself). */
  readonly value?: Uint8Array;
  readonly primary?: Uint8Array;
  readonly startTs: bigint;
  /** Lock TTL in milliseconds (default 3000, TiKV's minimum client TTL). */
  readonly lockTtlMs?: number;
  /** Prewrite as an async-commit transaction (the primary carries the secondaries). */
  readonly asyncCommit?: boolean;
  /** Commit the primary at this ts and leave the secondaries locked (a crash mid-commit). */
  readonly commitPrimaryTs?: bigint;
}

/** What a stranded transaction left behind. */
export interface StrandedTxn {
  readonly primary: Uint8Array;
  readonly startTs: bigint;
  /** The async-commit min_commit_ts (0 for 2PC). */
  readonly minCommitTs: bigint;
}

/**
 * Writes the state a crashed client leaves: prewritten locks on every key (and with
 * `commitPrimaryTs` a committed primary), for lock-resolution tests.
 */
export function strandTxn(storage: TxnCommands, spec: StrandedTxnSpec): StrandedTxn {
  const first = spec.keys[0];
  if (first === undefined) throw new InvalidArgumentError('a stranded transaction needs at least one key');
  const primary = spec.primary ?? first;
  const secondaries = spec.keys.filter((k) => Buffer.compare(k, primary) !== 0);
  const out = storage.prewrite({
    mutations: spec.keys.map((key) => ({
      op: kvrpcpb.Op.Put,
      key,
      value: spec.value ?? key,
      assertion: kvrpcpb.Assertion.None,
    })),
    primary,
    startTs: spec.startTs,
    lockTtl: BigInt(spec.lockTtlMs ?? 3000),
    skipConstraintCheck: false,
    forUpdateTs: 0n,
    pessimisticActions: [],
    forUpdateTsConstraints: [],
    txnSize: BigInt(spec.keys.length),
    minCommitTs: 0n,
    maxCommitTs: 0n,
    secondaryKeys: spec.asyncCommit === true ? secondaries : undefined,
    tryOnePc: false,
    assertionLevel: kvrpcpb.AssertionLevel.Off,
    isRetryRequest: false,
    txnSource: 0n,
  });
  const blocked = out.locks[0];
  if (blocked !== undefined) throw blocked;
  if (spec.commitPrimaryTs !== undefined) storage.commit([primary], spec.startTs, spec.commitPrimaryTs);
  return { primary, startTs: spec.startTs, minCommitTs: out.minCommitTs };
}
