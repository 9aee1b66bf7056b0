import { channel } from 'node:diagnostics_channel';
import { composeTs, ManualClock, noopLogger, RpcError } from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import type { TxnOracle } from '../txn-deps.js';
import { TXN_HEARTBEAT_CHANNEL, type TxnHeartbeatEvent } from './commit-diagnostics.js';
import { TtlManager, type TtlManagerOptions, TtlManagerState } from './ttl-manager.js';

const START_MS = 1_700_000_000_000;

/** Heartbeat events, as they are published. */
function recordHeartbeats(): {
  events: TxnHeartbeatEvent[];
  next(): Promise<TxnHeartbeatEvent>;
  stop(): void;
} {
  const ch = channel(TXN_HEARTBEAT_CHANNEL);
  const events: TxnHeartbeatEvent[] = [];
  let waiting: ((e: TxnHeartbeatEvent) => void) | undefined;
  const on = (e: unknown) => {
    events.push(e as TxnHeartbeatEvent);
    waiting?.(e as TxnHeartbeatEvent);
    waiting = undefined;
  };
  ch.subscribe(on);
  return {
    events,
    next: () =>
      new Promise((resolve) => {
        waiting = resolve;
      }),
    stop: () => ch.unsubscribe(on),
  };
}

function manager(o: Partial<TtlManagerOptions> & { nowMs: () => number; send: () => Promise<unknown> }) {
  const clock = (o.clock as ManualClock | undefined) ?? new ManualClock();
  const oracle = { getTimestamp: async () => composeTs(o.nowMs(), 0) } as unknown as TxnOracle;
  const exec = { sendToKey: o.send } as unknown as RegionExecutor;
  return new TtlManager({
    exec,
    oracle,
    clock,
    logger: noopLogger,
    startTs: composeTs(START_MS, 0),
    primaryKey: new Uint8Array([1]),
    managedLockTtlMs: 20_000,
    intervalMs: 10_000,
    maxTxnTtlMs: 3_600_000,
    maxBackoffMs: 0,
    minCommitTs: () => 0n,
    signal: undefined,
    ...o,
  });
}

describe('ttlManager / keepAlive (2pc.go)', () => {
  test('asks for the age plus the managed TTL, with the min commit ts', async () => {
    const clock = new ManualClock();
    const sent: unknown[] = [];
    let now = START_MS + 10_000;
    const m = manager({
      clock,
      nowMs: () => now,
      minCommitTs: () => 42n,
      send: async (...args: unknown[]) => {
        const build = args[2] as () => { value: unknown };
        sent.push(build().value);
        return { response: { value: { error: undefined, lockTtl: 30_000n } } };
      },
    });
    const hb = recordHeartbeats();
    try {
      expect(m.state).toBe(TtlManagerState.UNINITIALIZED);
      m.run();
      m.run();
      expect(m.state).toBe(TtlManagerState.RUNNING);
      let next = hb.next();
      clock.advance(10_000);
      expect(await next).toMatchObject({ adviseLockTtlMs: 30_000, lockTtlMs: 30_000, stopped: false });
      expect(sent[0]).toMatchObject({
        adviseLockTtl: 30_000n,
        minCommitTs: 42n,
        startVersion: composeTs(START_MS, 0),
      });
      now += 10_000;
      next = hb.next();
      clock.advance(10_000);
      expect((await next).adviseLockTtlMs).toBe(40_000);
      m.close();
      await m.whenStopped();
      expect(m.state).toBe(TtlManagerState.CLOSED);
      expect(clock.pendingSleeps).toBe(0);
      expect(sent.length).toBe(2);
    } finally {
      hb.stop();
      m.close();
    }
  });

  test('ten failed heartbeats in a row are tolerated, the eleventh stops it (maxConsecutiveFailure)', async () => {
    const clock = new ManualClock();
    const m = manager({
      clock,
      nowMs: () => START_MS + 1000,
      send: async () => {
        throw new RpcError('unavailable', { address: 'a', requestSent: false });
      },
    });
    const hb = recordHeartbeats();
    try {
      m.run();
      for (let i = 1; i <= 11; i++) {
        const next = hb.next();
        clock.advance(10_000);
        const e = await next;
        expect(e.error).toBeInstanceOf(RpcError);
        expect(e.stopped).toBe(i === 11);
      }
      await m.whenStopped();
      expect(m.state).toBe(TtlManagerState.CLOSED);
    } finally {
      hb.stop();
    }
  });

  test('a transaction older than maxTxnTtlMs gets no more heartbeats', async () => {
    const clock = new ManualClock();
    let sends = 0;
    const m = manager({
      clock,
      maxTxnTtlMs: 60_000,
      nowMs: () => START_MS + 61_000,
      send: async () => {
        sends++;
        return { response: { value: { error: undefined, lockTtl: 1n } } };
      },
    });
    const hb = recordHeartbeats();
    try {
      m.run();
      const next = hb.next();
      clock.advance(10_000);
      // Announced with the manager already closed (a flush woken by it fails).
      expect(await next).toMatchObject({ stopped: true, maxTtlExceeded: true, error: undefined });
      expect(m.state).toBe(TtlManagerState.CLOSED);
      await m.whenStopped();
      expect(sends).toBe(0);
    } finally {
      hb.stop();
    }
  });

  test('a pipelined transaction is told each heartbeat ts before it is sent, and each success after', async () => {
    const clock = new ManualClock();
    const order: string[] = [];
    let minCommitTs = 0n;
    let fail = false;
    const m = manager({
      clock,
      nowMs: () => START_MS + 1000,
      minCommitTs: () => minCommitTs,
      beforeHeartbeat: (now) => {
        order.push('before');
        minCommitTs = now;
      },
      afterHeartbeat: () => order.push('after'),
      send: async (...args: unknown[]) => {
        const build = args[2] as () => { value: { minCommitTs: bigint } };
        order.push(`send ${build().value.minCommitTs === composeTs(START_MS + 1000, 0)}`);
        if (fail) throw new RpcError('unavailable', { address: 'a', requestSent: false });
        return { response: { value: { error: undefined, lockTtl: 1n } } };
      },
    });
    const hb = recordHeartbeats();
    try {
      m.run();
      let next = hb.next();
      clock.advance(10_000);
      await next;
      fail = true;
      next = hb.next();
      clock.advance(10_000);
      expect((await next).error).toBeInstanceOf(RpcError);
      // No broadcast after a failed heartbeat.
      expect(order).toEqual(['before', 'send true', 'after', 'before', 'send true']);
    } finally {
      hb.stop();
      m.close();
    }
  });

  test("the client's lifetime signal stops it; close() before run() leaves it unstarted", async () => {
    const clock = new ManualClock();
    const lifetime = new AbortController();
    const m = manager({ clock, signal: lifetime.signal, nowMs: () => START_MS, send: async () => ({}) });
    m.run();
    expect(clock.pendingSleeps).toBe(1);
    lifetime.abort();
    await m.whenStopped();
    expect(m.state).toBe(TtlManagerState.CLOSED);

    const never = manager({ clock, nowMs: () => START_MS, send: async () => ({}) });
    never.close();
    expect(never.state).toBe(TtlManagerState.UNINITIALIZED);
    await never.whenStopped();
  });
});
