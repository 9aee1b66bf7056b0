import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { noopLogger, RpcError } from '@tikv/common';
import type { TxnStores } from '../txn-deps.js';
import {
  BROADCAST_MAX_CONCURRENCY,
  BROADCAST_RPC_TIMEOUT_MS,
  broadcastTxnStatus,
  TXN_STATUS_BROADCAST_CHANNEL,
  type TxnStatusBroadcastEvent,
} from './txn-status-broadcast.js';

const STATUS = { startTs: 10n, minCommitTs: 20n, commitTs: 0n, rolledBack: false, isCompleted: false };

function context(stores: TxnStores, signal?: AbortSignal) {
  return {
    stores,
    logger: noopLogger,
    clusterId: 7n,
    requestSource: 'src',
    resourceGroupName: 'rg',
    resourceGroupTag: new Uint8Array([1]),
    signal,
  };
}

function record(): { events: TxnStatusBroadcastEvent[]; stop(): void } {
  const events: TxnStatusBroadcastEvent[] = [];
  const on = (e: unknown) => events.push(e as TxnStatusBroadcastEvent);
  subscribe(TXN_STATUS_BROADCAST_CHANNEL, on);
  return { events, stop: () => unsubscribe(TXN_STATUS_BROADCAST_CHANNEL, on) };
}

describe('broadcastToAllStores (2pc.go)', () => {
  test('one request per store, at most ten at once, each with a 5 s timeout; failures are reported, not thrown', async () => {
    const stores = Array.from({ length: 25 }, (_x, i) => ({ id: BigInt(i + 1), address: `s${i + 1}` }));
    let inFlight = 0;
    let most = 0;
    const sent: { address: string; request: unknown; timeoutMs: number | undefined }[] = [];
    const fake: TxnStores = {
      tikvStores: () => stores,
      send: (async (address: string, request: unknown, options?: { timeoutMs?: number }) => {
        inFlight++;
        most = Math.max(most, inFlight);
        sent.push({ address, request, timeoutMs: options?.timeoutMs });
        await new Promise((r) => setImmediate(r));
        inFlight--;
        if (address === 's3') throw new RpcError('unavailable', { address, requestSent: false });
        return { $case: 'BroadcastTxnStatus', value: {} };
      }) as TxnStores['send'],
    };
    const log = record();
    try {
      await broadcastTxnStatus(context(fake), STATUS);
    } finally {
      log.stop();
    }
    expect(sent).toHaveLength(25);
    expect(most).toBe(BROADCAST_MAX_CONCURRENCY);
    expect(sent[0]?.timeoutMs).toBe(BROADCAST_RPC_TIMEOUT_MS);
    expect(sent[0]?.request).toMatchObject({
      $case: 'BroadcastTxnStatus',
      value: {
        context: {
          clusterId: 7n,
          requestSource: 'src',
          resourceGroupTag: new Uint8Array([1]),
          resourceControlContext: { resourceGroupName: 'rg' },
        },
        txnStatus: [STATUS],
      },
    });
    expect(log.events).toEqual([{ ...STATUS, stores: 25, failedStoreIds: [3n] }]);
  });

  test('sends nothing once the client closed, and survives a store list that fails', async () => {
    let sends = 0;
    const fake: TxnStores = {
      tikvStores: () => [{ id: 1n, address: 'a' }],
      send: (async () => {
        sends++;
        return { $case: 'BroadcastTxnStatus', value: {} };
      }) as TxnStores['send'],
    };
    await broadcastTxnStatus(context(fake, AbortSignal.abort()), STATUS);
    expect(sends).toBe(0);
    const broken: TxnStores = {
      tikvStores: () => {
        throw new Error('no cache');
      },
      send: fake.send,
    };
    await expect(broadcastTxnStatus(context(broken), STATUS)).resolves.toBeUndefined();
  });
});
