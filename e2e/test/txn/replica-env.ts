// What the replica and stale read suites share: an embedded cluster of three stores labelled
// zone z1..z3 (every region led from z1) and a learner store (zone z4) in every region; a reading
// client per case whose RPC interceptor records where each read request went, what its context
// asked for and the region error it got back; and the cluster's clock, which the mock's resolved
// ts follows (held below the oldest lock, trailing it by `setResolvedTsLagMs`) and which only
// moves forward when a case moves it.
import { type MockCluster, PeerRole, type RegionInfo } from '@tikv/mock-cluster';
import { type Snapshot, TransactionClient } from '@tikv/txn';
import type { ApiMode } from '../../src/cluster-target.js';
import { putAll, startTxnEnv, type TxnEnv, text } from './txn-env.js';

type ConnectOptions = Parameters<typeof TransactionClient.connect>[0];
type Interceptor = NonNullable<NonNullable<ConnectOptions['sender']>['interceptors']>[number];

/** One read request as the store got it, and how it was answered. */
export interface Sent {
  readonly address: string;
  readonly command: string;
  readonly replicaRead: boolean;
  readonly staleRead: boolean;
  readonly busyThresholdMs: number;
  /** The region error's kind (`dataIsNotReady`, `serverIsBusy`, `notLeader`...), if any. */
  readonly regionError: string | undefined;
}

interface ReadContext {
  readonly replicaRead?: boolean;
  readonly staleRead?: boolean;
  readonly busyThresholdMs?: number;
}

const READS = new Set(['Get', 'BatchGet', 'Scan']);
/** The zones of the three voter stores, by store position. */
export const ZONES = ['z1', 'z2', 'z3'] as const;
/** The learner store's zone. */
export const LEARNER_ZONE = 'z4';

/** The arm of a region error that is set. */
function regionErrorKind(err: Record<string, unknown> | undefined): string | undefined {
  if (err === undefined) return undefined;
  return Object.entries(err).find(([k, v]) => k !== 'message' && v !== undefined)?.[0] ?? 'other';
}

/** A ServerIsBusy region error with an estimated wait (load-based replica read). */
export const busy = (estimatedWaitMs: number) => ({
  regionError: {
    message: 'server is busy',
    serverIsBusy: { reason: 'estimated wait time exceeds the threshold', estimatedWaitMs },
  },
});

/** A read request as recorded, with the id of the store that got it. */
export type Served = Sent & { readonly store: bigint | undefined };

/** The suite's handle; `env` and `reader` are set by the hooks {@link useReplicaEnv} registers. */
export interface ReplicaEnv {
  readonly env: TxnEnv;
  /** This case's reading client (a new one per case). */
  readonly reader: TransactionClient;
  /** Every read request recorded so far (`sent.length` marks a point). */
  readonly sent: readonly Sent[];
  /** Store ids by zone label (embedded). */
  readonly zoneStore: ReadonlyMap<string, bigint>;
  /** Closes this case's reader and connects a new one (it forgets what it learnt of the stores). */
  renewReader(): Promise<void>;
  mock(): MockCluster;
  store(zone: string): bigint;
  regionOf(key: Uint8Array): RegionInfo;
  /** The read requests since `mark`, with the serving store's id. */
  since(mark: number): Served[];
  /** Moves the embedded cluster's clock (TSO, resolved ts) forward. */
  advanceClock(ms: number): void;
  /** Writes `key` = `before`, takes a ts, writes `key` = `after`; returns the ts. */
  twoVersions(key: Uint8Array, before: string, after: string): Promise<bigint>;
  /** A get, a batch get and a scan of `key` through `snap`; every one must see `want`. */
  readAll(snap: Snapshot, key: Uint8Array, want: string): Promise<void>;
}

/**
 * Registers the suite's hooks (in a `describe`): the target and its topology once, a recording
 * reader per case, faults and the resolved-ts lag cleared after each case.
 */
export function useReplicaEnv(mode: ApiMode, suite: string): ReplicaEnv {
  let env: TxnEnv;
  let reader: TransactionClient | undefined;
  /** How far the embedded cluster's clock is ahead of the system clock. */
  let clockOffsetMs = 0;
  const sent: Sent[] = [];
  /** Store id by zone label (embedded). */
  const zoneStore = new Map<string, bigint>();

  const recorder: Interceptor = {
    name: 'replica-read-recorder',
    wrap: (next) => async (address, request, options) => {
      const ctx = (request.value as { context?: ReadContext }).context;
      const record = (regionError: string | undefined): void => {
        if (!READS.has(request.$case)) return;
        sent.push({
          address,
          command: request.$case,
          replicaRead: ctx?.replicaRead === true,
          staleRead: ctx?.staleRead === true,
          busyThresholdMs: ctx?.busyThresholdMs ?? 0,
          regionError,
        });
      };
      try {
        const resp = await next(address, request, options);
        record(regionErrorKind((resp.value as { regionError?: Record<string, unknown> }).regionError));
        return resp;
      } catch (e) {
        record('rpc failure');
        throw e;
      }
    },
  };

  beforeAll(async () => {
    env = await startTxnEnv(mode, suite, {
      storeLabels: ZONES.map((zone) => ({ zone })),
      nowMs: () => Date.now() + clockOffsetMs,
    });
    const mock = env.target.mock;
    if (mock !== undefined) {
      for (const s of mock.stores()) zoneStore.set(s.labels.zone ?? '', s.id);
      // A learner on a store of its own, in every region (before the reader loads any region).
      const learner = await mock.addStore({ labels: { zone: LEARNER_ZONE } });
      zoneStore.set(LEARNER_ZONE, learner.id);
      for (const r of mock.regions()) mock.addPeer(r.id, learner.id, PeerRole.Learner);
    }
  });
  // A reader of its own for each case: what one case teaches a client about the stores (a slow
  // store, a busy one's queue) must not steer the next case's reads.
  const connectReader = async (): Promise<void> => {
    reader = await TransactionClient.connect({
      pdEndpoints: env.target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      sender: { interceptors: [recorder] },
    });
  };
  beforeEach(connectReader);
  afterEach(async () => {
    env.target.mock?.clearFaults();
    env.target.mock?.setResolvedTsLagMs(0);
    await reader?.close();
  });
  afterAll(async () => {
    await env?.close();
  });

  const mock = (): MockCluster => {
    const m = env.target.mock;
    if (m === undefined) throw new Error('this case needs the embedded cluster');
    return m;
  };
  /** The store listening on an address. */
  const storeOf = (address: string): bigint | undefined =>
    mock()
      .stores()
      .find((s) => s.address === address)?.id;
  const store = (zone: string): bigint => {
    const id = zoneStore.get(zone);
    if (id === undefined) throw new Error(`no store in zone ${zone}`);
    return id;
  };
  const regionOf = (key: Uint8Array): RegionInfo => mock().regionByKey(env.storageKey(key));
  /** The records since `mark`, with the serving store's id. */
  const since = (mark: number) => sent.slice(mark).map((s) => ({ ...s, store: storeOf(s.address) }));
  /** Moves the embedded cluster's clock (TSO, resolved ts) forward. */
  const advanceClock = (ms: number): void => {
    clockOffsetMs += ms;
  };

  /** Writes `key` = `before`, takes a ts, writes `key` = `after`; returns the ts. */
  async function twoVersions(key: Uint8Array, before: string, after: string): Promise<bigint> {
    await putAll(env.client, [[key, before]]);
    const ts = await env.client.currentTimestamp();
    await putAll(env.client, [[key, after]]);
    return ts;
  }

  /** A get, a batch get and a scan of `key` through `snap`; every one must see `want`. */
  async function readAll(snap: Snapshot, key: Uint8Array, want: string): Promise<void> {
    expect(text(await snap.get(key))).toBe(want);
    snap.cleanCache([key]);
    const [got] = await snap.batchGet([key]);
    expect(text(got)).toBe(want);
    snap.cleanCache([key]);
    const pairs = await snap.scan(key, env.end, { limit: 1 });
    expect(pairs.map((p) => text(p.value))).toEqual([want]);
  }

  return {
    get env() {
      return env;
    },
    get reader() {
      if (reader === undefined) throw new Error('no reader outside a case');
      return reader;
    },
    sent,
    zoneStore,
    renewReader: async () => {
      await reader?.close();
      await connectReader();
    },
    mock,
    store,
    regionOf,
    since,
    advanceClock,
    twoVersions,
    readAll,
  };
}
