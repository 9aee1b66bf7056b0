/** Names of the spans `instrumentTikv` records. A request span is named `tikv.rpc.<command>`. */
export const TIKV_SPAN_NAMES = Object.freeze({
  /** Prefix of a request span's name, followed by the command: `tikv.rpc.RawGet`, `tikv.rpc.Prewrite`, ... */
  requestPrefix: 'tikv.rpc.',
  /** One backoff sleep of a `Backoffer` (its duration is the sleep). */
  backoff: 'tikv.backoff',
  /** One retry of a region request by the region request sender (a point in time). */
  retry: 'tikv.retry',
  /** One transaction commit, from its first prewrite (when seen) to its outcome. */
  commit: 'tikv.txn.commit',
} as const);

/**
 * Attribute keys of the spans. 64-bit ids and timestamps (region id, start and commit ts) are
 * decimal strings, so nothing is rounded.
 */
export const TIKV_ATTRIBUTES = Object.freeze({
  rpcSystem: 'rpc.system',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  /** The store address the request went to (`host:port`). */
  storeAddress: 'tikv.store.address',
  /** The command, as `BatchCommands` names it (`RawGet`, `Prewrite`, `Commit`, ...). */
  command: 'tikv.command',
  /** Whether the request travelled on a `BatchCommands` stream. */
  batched: 'tikv.batched',
  /** The store the request was forwarded to through `tikv.store.address`, when forwarding. */
  forwardedHost: 'tikv.forwarded_host',
  /** The region id from the request's context, when it has one. */
  regionId: 'tikv.region.id',
  /** The region error the store answered with (`not_leader`, `server_is_busy`, ...). */
  regionError: 'tikv.region_error',
  backoffKind: 'tikv.backoff.kind',
  backoffSleepMs: 'tikv.backoff.sleep_ms',
  backoffAttempt: 'tikv.backoff.attempt',
  backoffTotalSleepMs: 'tikv.backoff.total_sleep_ms',
  /** Why it backed off or retried: an error code, an error name or a region error kind. */
  reason: 'tikv.reason',
  retryAttempt: 'tikv.retry.attempt',
  txnStartTs: 'tikv.txn.start_ts',
  txnCommitTs: 'tikv.txn.commit_ts',
  txnProtocol: 'tikv.txn.protocol',
  txnKeys: 'tikv.txn.keys',
} as const);
