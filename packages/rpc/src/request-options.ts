import type { RequestOptions } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';

/** Which replica serves a read (client-go `kv.ReplicaReadType`). */
export const ReplicaReadType = Object.freeze({
  /** The leader only. */
  LEADER: 'leader',
  /** A follower; the leader when no follower can serve. */
  FOLLOWER: 'follower',
  /** Any peer, leader included. */
  MIXED: 'mixed',
  /** A learner peer; another peer when no learner can serve. */
  LEARNER: 'learner',
  /** The leader unless its store is slow, then another peer. */
  PREFER_LEADER: 'preferLeader',
} as const);
/** One of the {@link ReplicaReadType} values. */
export type ReplicaReadType = (typeof ReplicaReadType)[keyof typeof ReplicaReadType];

/** Scheduling priority of a request in TiKV (`kvrpcpb.CommandPri`). */
export const CommandPriority = Object.freeze({ NORMAL: 'normal', LOW: 'low', HIGH: 'high' } as const);
/** One of the {@link CommandPriority} values. */
export type CommandPriority = (typeof CommandPriority)[keyof typeof CommandPriority];

/** Read isolation level (`kvrpcpb.IsolationLevel`). */
export const IsolationLevel = Object.freeze({ SI: 'SI', RC: 'RC', RC_CHECK_TS: 'RCCheckTS' } as const);
/** One of the {@link IsolationLevel} values. */
export type IsolationLevel = (typeof IsolationLevel)[keyof typeof IsolationLevel];

/**
 * Whether a write may go through while TiKV's disk is nearly or completely full
 * (`kvrpcpb.DiskFullOpt`, client-go `KVTxn.SetDiskFullOpt`).
 */
export const DiskFullOpt = Object.freeze({
  /** Refused when the store's disk is almost or already full (TiKV's default). */
  NOT_ALLOWED_ON_FULL: 'notAllowedOnFull',
  /** Allowed while the disk is almost full; refused once it is full. */
  ALLOWED_ON_ALMOST_FULL: 'allowedOnAlmostFull',
  /**
   * Allowed while the disk is almost full, and past followers whose disks are full; a leader whose
   * own disk is already full still refuses it (TiKV's raftstore).
   */
  ALLOWED_ON_ALREADY_FULL: 'allowedOnAlreadyFull',
} as const);
/** One of the {@link DiskFullOpt} values. */
export type DiskFullOpt = (typeof DiskFullOpt)[keyof typeof DiskFullOpt];

/** What a {@link ResourceGroupTagger} learns of the request it tags. */
export interface ResourceGroupTagRequest {
  /**
   * The command, named as the request union's case (`'Get'`, `'BatchGet'`, `'Scan'`,
   * `'Prewrite'`, `'Commit'`, `'PessimisticLock'`, `'BatchRollback'`, ...).
   */
  readonly command: string;
}

/**
 * Computes a request's `Context.resourceGroupTag` when no fixed tag is set (client-go
 * `tikvrpc.ResourceGroupTagger`): called once per request (a batch to one region), before its
 * first attempt; `undefined` leaves the tag empty. It must not throw.
 */
export type ResourceGroupTagger = (request: ResourceGroupTagRequest) => Uint8Array | undefined;

/** A store label a replica read prefers (client-go `WithMatchLabels`). */
export interface StoreLabelMatch {
  readonly key: string;
  readonly value: string;
}

/** Options of one {@link RegionRequestSender.sendRequest} call. */
export interface RegionRequestOptions extends RequestOptions {
  /** Which replica serves a read. Writes must use `'leader'`. @defaultValue 'leader' */
  readonly replicaRead?: ReplicaReadType | undefined;
  /**
   * Stale read: any replica serves the read at the request's timestamp if its safe ts allows;
   * on `DataIsNotReady` the request falls back to the leader. @defaultValue false
   */
  readonly staleRead?: boolean | undefined;
  /** Prefer replicas whose stores carry all these labels (closest replicas). @defaultValue none */
  readonly matchStoreLabels?: readonly StoreLabelMatch[] | undefined;
  /** Prefer replicas on these stores. @defaultValue none */
  readonly matchStoreIds?: readonly bigint[] | undefined;
  /** `Context.requestSource`, patched with the replica kind like client-go (`leader_<source>`). */
  readonly requestSource?: string | undefined;
  /** `Context.resourceControlContext.resourceGroupName`. */
  readonly resourceGroupName?: string | undefined;
  /** `Context.resourceGroupTag`. */
  readonly resourceGroupTag?: Uint8Array | undefined;
  /**
   * Computes `Context.resourceGroupTag` per request when `resourceGroupTag` is not set (client-go
   * `ResourceGroupTagger`). @defaultValue none
   */
  readonly resourceGroupTagger?: ResourceGroupTagger | undefined;
  /** `Context.diskFullOpt` of a write. @defaultValue 'notAllowedOnFull' */
  readonly diskFullOpt?: DiskFullOpt | undefined;
  /** `Context.priority`. @defaultValue 'normal' */
  readonly priority?: CommandPriority | undefined;
  /** `Context.isolationLevel`. @defaultValue 'SI' */
  readonly isolationLevel?: IsolationLevel | undefined;
  /** `Context.notFillCache`. @defaultValue false */
  readonly notFillCache?: boolean | undefined;
  /**
   * `Context.maxExecutionDurationMs`, in milliseconds: TiKV gives up after this long.
   * A read with a value below 30 000 ms that times out is retried on another replica at once
   * (client-go's configurable read timeout). @defaultValue the attempt timeout (`rpcTimeoutMs`)
   */
  readonly maxExecutionDurationMs?: number | undefined;
  /**
   * Timeout of each attempt (one RPC), in milliseconds; the whole call is bounded by
   * `timeoutMs` and the backoffer. @defaultValue the sender's `rpcTimeoutMs`
   */
  readonly rpcTimeoutMs?: number | undefined;
  /**
   * `Context.busyThresholdMs`, in milliseconds: a leader read whose estimated wait exceeds it is
   * rejected by TiKV and retried on an idle follower (load-based replica read). @defaultValue 0 (off)
   */
  readonly busyThresholdMs?: number | undefined;
}

/** @internal */
export function toCommandPri(p: CommandPriority | undefined): kvrpcpb.CommandPri | undefined {
  switch (p) {
    case 'low':
      return kvrpcpb.CommandPri.Low;
    case 'high':
      return kvrpcpb.CommandPri.High;
    case 'normal':
      return kvrpcpb.CommandPri.Normal;
    default:
      return undefined;
  }
}

/** @internal */
export function toDiskFullOpt(o: DiskFullOpt | undefined): kvrpcpb.DiskFullOpt | undefined {
  switch (o) {
    case 'allowedOnAlmostFull':
      return kvrpcpb.DiskFullOpt.AllowedOnAlmostFull;
    case 'allowedOnAlreadyFull':
      return kvrpcpb.DiskFullOpt.AllowedOnAlreadyFull;
    case 'notAllowedOnFull':
      return kvrpcpb.DiskFullOpt.NotAllowedOnFull;
    default:
      return undefined;
  }
}

/** @internal */
export function toIsolationLevel(l: IsolationLevel | undefined): kvrpcpb.IsolationLevel | undefined {
  switch (l) {
    case 'RC':
      return kvrpcpb.IsolationLevel.RC;
    case 'RCCheckTS':
      return kvrpcpb.IsolationLevel.RCCheckTS;
    case 'SI':
      return kvrpcpb.IsolationLevel.SI;
    default:
      return undefined;
  }
}
