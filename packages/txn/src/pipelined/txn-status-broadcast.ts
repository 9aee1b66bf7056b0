import { channel } from 'node:diagnostics_channel';
import type { Logger } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { TxnStores } from '../txn-deps.js';

/** Channel of each finished broadcast of a pipelined transaction's status: {@link TxnStatusBroadcastEvent}. */
export const TXN_STATUS_BROADCAST_CHANNEL = 'tikv:txn:status-broadcast';

/** Timeout of one store's `BroadcastTxnStatus` (client-go `broadcastRpcTimeout`). */
export const BROADCAST_RPC_TIMEOUT_MS = 5_000;
/** Stores sent to at once (client-go `broadcastMaxConcurrency`). */
export const BROADCAST_MAX_CONCURRENCY = 10;

/**
 * A pipelined transaction's status as TiKV's txn status cache takes it (`kvrpcpb.TxnStatus`):
 * ongoing with a min commit ts, committed, or rolled back, and whether every lock is resolved.
 */
export interface TxnStatusReport {
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** No commit below it (0n: not known). */
  readonly minCommitTs: bigint;
  /** The commit ts once committed; 0n before (or when rolled back). */
  readonly commitTs: bigint;
  /** The transaction was rolled back. */
  readonly rolledBack: boolean;
  /** Every lock is resolved: TiKV drops the transaction from its large-transaction cache. */
  readonly isCompleted: boolean;
}

/** One broadcast of a pipelined transaction's status to every TiKV store. Keys are never included. */
export interface TxnStatusBroadcastEvent extends TxnStatusReport {
  /** The stores sent to. */
  readonly stores: number;
  /** Ids of the stores whose request failed (logged and otherwise ignored, as client-go does). */
  readonly failedStoreIds: readonly bigint[];
}

const broadcastChannel = channel(TXN_STATUS_BROADCAST_CHANNEL);

/** What {@link broadcastTxnStatus} sends with. @internal */
export interface BroadcastContext {
  readonly stores: TxnStores;
  readonly logger: Logger;
  readonly clusterId: bigint;
  readonly requestSource: string;
  readonly resourceGroupName: string | undefined;
  readonly resourceGroupTag: Uint8Array | undefined;
  /** Stops the sends (the client closing). */
  readonly signal: AbortSignal | undefined;
}

/**
 * Sends a pipelined transaction's status to every TiKV store the client knows (client-go
 * `broadcastToAllStores`): one `BroadcastTxnStatus` per store, at most
 * {@link BROADCAST_MAX_CONCURRENCY} at once, each with a 5 s timeout and no retry. TiKV keeps the
 * status in its txn status cache, where its resolved-ts tracking reads a large transaction's
 * min commit ts (so the safe ts of stale reads may pass its start ts) and learns when it is
 * committed or rolled back. A failure is logged and otherwise ignored; the promise never rejects.
 *
 * @internal
 */
export async function broadcastTxnStatus(c: BroadcastContext, status: TxnStatusReport): Promise<void> {
  let stores: readonly { readonly id: bigint; readonly address: string }[];
  try {
    stores = c.stores.tikvStores();
  } catch (error) {
    c.logger.warn('broadcast txn status: listing the stores failed', { startTs: status.startTs, error });
    return;
  }
  const request = {
    $case: 'BroadcastTxnStatus' as const,
    value: {
      context: kvrpcpb.Context.fromPartial({
        clusterId: c.clusterId,
        requestSource: c.requestSource,
        ...(c.resourceGroupTag === undefined ? {} : { resourceGroupTag: c.resourceGroupTag }),
        resourceControlContext: { resourceGroupName: c.resourceGroupName ?? '' },
      }),
      txnStatus: [{ ...status }],
    },
  };
  const failed: bigint[] = [];
  const aborted = (): boolean => c.signal?.aborted === true;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < stores.length; i = next++) {
      const store = stores[i] as { readonly id: bigint; readonly address: string };
      if (aborted()) return;
      try {
        await c.stores.send(store.address, request, {
          signal: c.signal,
          timeoutMs: BROADCAST_RPC_TIMEOUT_MS,
        });
      } catch (error) {
        failed.push(store.id);
        if (!aborted()) {
          c.logger.info('broadcast txn status failed', {
            storeId: store.id,
            address: store.address,
            startTs: status.startTs,
            error,
          });
        }
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(BROADCAST_MAX_CONCURRENCY, stores.length) }, () => worker()),
  );
  if (broadcastChannel.hasSubscribers) {
    const event: TxnStatusBroadcastEvent = { ...status, stores: stores.length, failedStoreIds: failed };
    broadcastChannel.publish(event);
  }
}
