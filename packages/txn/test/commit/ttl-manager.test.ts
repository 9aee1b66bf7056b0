// The TTL manager (client-go `ttlManager` / `keepAlive`) on the mock cluster, its ticks driven by a
// ManualClock.
import { channel } from 'node:diagnostics_channel';
import { composeTs, extractPhysical, ManualClock, TxnNotFoundError } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import {
  type MemBuffer,
  TtlManagerState,
  TwoPhaseCommitter,
  TXN_HEARTBEAT_CHANNEL,
  type TxnHeartbeatEvent,
} from '../../src/index.js';
import { b, Harness } from './harness.js';

/** The next heartbeat event published. */
function nextHeartbeat(): Promise<TxnHeartbeatEvent> {
  const ch = channel(TXN_HEARTBEAT_CHANNEL);
  return new Promise((resolve) => {
    const on = (event: unknown) => {
      ch.unsubscribe(on);
      resolve(event as TxnHeartbeatEvent);
    };
    ch.subscribe(on);
  });
}

describe('2pc.go ttlManager', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock({ startMs: 1_000_000 });
    // PD's TSO follows the same clock: the reader below checks at a time PD's TSO has reached.
    h = await Harness.start({ clock, cluster: { nowMs: () => clock.now() } });
  });
  afterEach(async () => {
    await h.close();
  });
  const committer = (buffer: MemBuffer, startTs: bigint, options = {}) =>
    new TwoPhaseCommitter(h.parts, buffer, {
      startTs,
      lockResolver: h.resolver,
      // client-go's TestDeleteYourWritesTTL: every transaction counts as a large one.
      ttlRefreshedTxnSizeBytes: 0,
      ...options,
    });

  /** KvCheckTxnStatus of a primary as a reader at `currentTs` would send it. */
  async function checkTxnStatus(key: string, lockTs: bigint, currentTs: bigint) {
    const { bo, scope } = h.exec.begin(undefined);
    try {
      const { response } = await h.exec.sendToKey(bo, b(key), () => ({
        $case: 'CheckTxnStatus' as const,
        value: kvrpcpb.CheckTxnStatusRequest.fromPartial({
          primaryKey: b(key),
          lockTs,
          callerStartTs: 0n,
          currentTs,
          rollbackIfNotExist: true,
        }),
      }));
      return response.value;
    } finally {
      scope.dispose();
    }
  }

  test('heartbeats keep a long transaction lock alive; a lock without them expires', async () => {
    const startTs = await h.ts();
    const kept = committer(h.buffer({ kept: 'v' }), startTs);
    const left = committer(h.buffer({ left: 'v' }), startTs, { ttlRefreshedTxnSizeBytes: 1 << 30 });
    await kept.prewrite();
    await left.prewrite();
    expect(kept.ttlManagerState).toBe(TtlManagerState.RUNNING);
    expect(left.ttlManagerState).toBe(TtlManagerState.UNINITIALIZED);
    expect((await h.lock('kept'))?.lockTtl).toBe(3000n);

    // Half the managed TTL later (client-go's ticker): one heartbeat.
    const beat = nextHeartbeat();
    clock.advance(10_000);
    const event = await beat;
    expect(event).toMatchObject({ startTs, error: undefined, stopped: false });
    expect(event.adviseLockTtlMs).toBeGreaterThanOrEqual(20_000);
    expect(event.lockTtlMs).toBe(event.adviseLockTtlMs);
    expect((await h.lock('kept'))?.lockTtl).toBe(BigInt(event.adviseLockTtlMs));

    // Ten seconds after the start ts a reader finds the refreshed lock alive, the other expired.
    const at = composeTs(extractPhysical(startTs) + 10_000, 0);
    const alive = await checkTxnStatus('kept', startTs, at);
    expect(alive.lockTtl).toBeGreaterThan(0n);
    expect(alive.action).toBe(kvrpcpb.Action.NoAction);
    const expired = await checkTxnStatus('left', startTs, at);
    expect(expired.lockTtl).toBe(0n);
    expect(expired.action).toBe(kvrpcpb.Action.TTLExpireRollback);

    // The commit stops the heartbeats.
    const result = await kept.commit(await h.ts());
    await result.background;
    expect(kept.ttlManagerState).toBe(TtlManagerState.CLOSED);
    await kept.whenIdle();
    expect(clock.pendingSleeps).toBe(0);
    expect(await h.read('kept')).toBe('v');
  });

  test('execute stops the TTL manager it started', async () => {
    const c = committer(h.buffer({ k: 'v' }), await h.ts());
    const result = await c.execute();
    expect(c.ttlManagerState).toBe(TtlManagerState.CLOSED);
    await result.background;
    await c.whenIdle();
    expect(clock.pendingSleeps).toBe(0);
  });

  test('a rollback stops the TTL manager', async () => {
    const c = committer(h.buffer({ k: 'v' }), await h.ts());
    await c.prewrite();
    expect(c.ttlManagerState).toBe(TtlManagerState.RUNNING);
    await c.rollback();
    expect(c.ttlManagerState).toBe(TtlManagerState.CLOSED);
    await c.whenIdle();
    expect(clock.pendingSleeps).toBe(0);
  });

  test('heartbeats stop once TiKV answers a key error (the lock is gone)', async () => {
    const startTs = await h.ts();
    const c = committer(h.buffer({ k: 'v' }), startTs);
    await c.prewrite();
    // Someone else rolls the transaction back (a reader that found it dead).
    await committer(h.buffer({ k: 'v' }), startTs).rollback();
    const beat = nextHeartbeat();
    clock.advance(10_000);
    const event = await beat;
    expect(event.stopped).toBe(true);
    expect(event.error).toBeInstanceOf(TxnNotFoundError);
    await c.whenIdle();
    c.close();
  });
});
