import type { tikvpb } from '@tikv/proto';

/** The `tikvpb.Tikv` service definition's method table. */
type TikvMethods = typeof tikvpb.TikvDefinition.methods;
/** Keys of the unary methods of `tikvpb.Tikv`. */
type UnaryMethodKey = {
  [K in keyof TikvMethods]: TikvMethods[K]['requestStream'] extends false
    ? TikvMethods[K]['responseStream'] extends false
      ? K
      : never
    : never;
}[keyof TikvMethods];
/** The request message of a unary method. */
type RequestOf<M extends UnaryMethodKey> = ReturnType<TikvMethods[M]['requestType']['decode']>;
/** The response message of a unary method. */
type ResponseOf<M extends UnaryMethodKey> = ReturnType<TikvMethods[M]['responseType']['decode']>;

/** A command that a `BatchCommands` request can carry (the arms of `BatchCommandsRequest.Request.cmd`). */
export type BatchRequestCmd = NonNullable<tikvpb.BatchCommandsRequest_Request['cmd']>;
/** The response arms of `BatchCommandsResponse.Response.cmd`. */
export type BatchResponseCmd = NonNullable<tikvpb.BatchCommandsResponse_Response['cmd']>;

/**
 * The unary `tikvpb.Tikv` method of every command that has a `BatchCommands` arm; `Empty`
 * (a stream health probe) exists only inside `BatchCommands`.
 */
const BATCH_ARM_METHODS = {
  Get: 'kvGet',
  Scan: 'kvScan',
  Prewrite: 'kvPrewrite',
  Commit: 'kvCommit',
  Import: 'kvImport',
  Cleanup: 'kvCleanup',
  BatchGet: 'kvBatchGet',
  BatchRollback: 'kvBatchRollback',
  ScanLock: 'kvScanLock',
  ResolveLock: 'kvResolveLock',
  GC: 'kvGC',
  DeleteRange: 'kvDeleteRange',
  RawGet: 'rawGet',
  RawBatchGet: 'rawBatchGet',
  RawPut: 'rawPut',
  RawBatchPut: 'rawBatchPut',
  RawDelete: 'rawDelete',
  RawBatchDelete: 'rawBatchDelete',
  RawScan: 'rawScan',
  RawDeleteRange: 'rawDeleteRange',
  RawBatchScan: 'rawBatchScan',
  Coprocessor: 'coprocessor',
  PessimisticLock: 'kvPessimisticLock',
  PessimisticRollback: 'kVPessimisticRollback',
  CheckTxnStatus: 'kvCheckTxnStatus',
  TxnHeartBeat: 'kvTxnHeartBeat',
  CheckSecondaryLocks: 'kvCheckSecondaryLocks',
  RawCoprocessor: 'rawCoprocessor',
  FlashbackToVersion: 'kvFlashbackToVersion',
  PrepareFlashbackToVersion: 'kvPrepareFlashbackToVersion',
  Flush: 'kvFlush',
  BufferBatchGet: 'kvBufferBatchGet',
  GetHealthFeedback: 'getHealthFeedback',
  BroadcastTxnStatus: 'broadcastTxnStatus',
  Empty: undefined,
} as const satisfies { readonly [C in BatchRequestCmd['$case']]: UnaryMethodKey | undefined };

/**
 * Commands that only exist as unary methods of `tikvpb.Tikv` (no `BatchCommands` arm), by the
 * name used as their `$case`, with their method key.
 */
export const UNARY_ONLY_COMMANDS = Object.freeze({
  RawGetKeyTTL: 'rawGetKeyTTL',
  RawCompareAndSwap: 'rawCompareAndSwap',
  RawChecksum: 'rawChecksum',
  UnsafeDestroyRange: 'unsafeDestroyRange',
  PhysicalScanLock: 'physicalScanLock',
  SplitRegion: 'splitRegion',
  MvccGetByKey: 'mvccGetByKey',
  MvccGetByStartTs: 'mvccGetByStartTs',
  GetStoreSafeTS: 'getStoreSafeTS',
  GetLockWaitInfo: 'getLockWaitInfo',
  Compact: 'compact',
} as const satisfies Readonly<Record<string, UnaryMethodKey>>);

type UnaryOnlyCommands = typeof UNARY_ONLY_COMMANDS;

/** A command with no `BatchCommands` arm, always sent as a unary call. */
export type UnaryOnlyRequest = {
  [C in keyof UnaryOnlyCommands]: { $case: C; value: RequestOf<UnaryOnlyCommands[C]> };
}[keyof UnaryOnlyCommands];
/** The response of a {@link UnaryOnlyRequest}. */
export type UnaryOnlyResponse = {
  [C in keyof UnaryOnlyCommands]: { $case: C; value: ResponseOf<UnaryOnlyCommands[C]> };
}[keyof UnaryOnlyCommands];

/**
 * One TiKV command for {@link KvTransport.send}: a tagged union aligned with
 * `tikvpb.BatchCommandsRequest.Request['cmd']` (`{ $case: 'RawGet', value: kvrpcpb.RawGetRequest }`),
 * extended with the commands that only exist as unary methods (`RawGetKeyTTL`,
 * `RawCompareAndSwap`, `RawChecksum`, `SplitRegion`, ...).
 */
export type TikvRequest = BatchRequestCmd | UnaryOnlyRequest;
/** The response of any {@link TikvRequest}: the arm with the same `$case`. */
export type TikvResponse = BatchResponseCmd | UnaryOnlyResponse;
/** The `$case` names of every command. */
export type TikvCommand = TikvRequest['$case'];
/** The response arm matching a request type. */
export type ResponseFor<R extends TikvRequest> = Extract<TikvResponse, { $case: R['$case'] }>;

/**
 * Commands client-go sends through `BatchCommands` (`tikvrpc.Request.ToBatchCommandsRequest`):
 * every arm except `Import`, `RawBatchScan` and `RawCoprocessor`, which go unary.
 */
const BATCHED: ReadonlySet<string> = new Set<string>(
  Object.keys(BATCH_ARM_METHODS).filter(
    (c) => c !== 'Import' && c !== 'RawBatchScan' && c !== 'RawCoprocessor',
  ),
);

/**
 * Tells whether a command travels on the `BatchCommands` stream (as in client-go) rather than as
 * a unary call.
 *
 * @param command - the request's `$case`
 * @returns true for batchable commands
 */
export function isBatchCommand(command: string): boolean {
  return BATCHED.has(command);
}

/**
 * The key of the unary `tikvpb.Tikv` method (in `TikvDefinition.methods`) that serves a command,
 * or undefined for `Empty`, which exists only inside `BatchCommands`.
 *
 * @param command - the request's `$case`
 * @returns the method key
 */
export function unaryMethodOf(command: TikvCommand): UnaryMethodKey | undefined {
  if (command in UNARY_ONLY_COMMANDS) return UNARY_ONLY_COMMANDS[command as keyof UnaryOnlyCommands];
  return BATCH_ARM_METHODS[command as BatchRequestCmd['$case']];
}
