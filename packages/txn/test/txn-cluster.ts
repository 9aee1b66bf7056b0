import { type ClusterConnection, connectCluster } from '@tikv/cluster';
import {
  Backoffer,
  composeTs,
  extractPhysical,
  type KeyError,
  keyErrorFromWire,
  type LockInfo,
  lockInfoFromWire,
  type RequestOptions,
} from '@tikv/common';
import { KeyMode } from '@tikv/keyspace';
import { keyspacePrefix, MockCluster, type MockClusterOptions } from '@tikv/mock-cluster';
import { PdOracle } from '@tikv/pd';
import { kvrpcpb } from '@tikv/proto';
import {
  CodecTransport,
  RegionExecutor as Executor,
  type RegionExecutor,
  type RegionRequestOptions,
  RegionRequestSender,
  type RegionSender,
  type TikvRequest,
} from '@tikv/rpc';
import {
  LockResolver,
  type LockResolverTuning,
  Snapshot,
  type SnapshotOptions,
  type TxnOracle,
} from '../src/index.js';

const enc = new TextEncoder();
/** UTF-8 bytes. */
export const k = (s: string): Uint8Array => enc.encode(s);
/** UTF-8 text of bytes. */
export const t = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString('utf8');

const identity = (x: Uint8Array): Uint8Array => x;

/** A mutation of a raw prewrite: a value puts, `undefined` deletes, `'lock'` locks only. */
export type TestMutation = readonly [key: Uint8Array, value: Uint8Array | undefined | 'lock'];

/** Options of {@link TxnTestCluster.prewrite}. */
export interface PrewriteSpec {
  readonly mutations: readonly TestMutation[];
  readonly primary?: Uint8Array | undefined;
  readonly startTs?: bigint | undefined;
  readonly lockTtlMs?: number | undefined;
  readonly asyncCommit?: boolean | undefined;
  readonly txnSize?: number | undefined;
  readonly maxCommitTs?: bigint | undefined;
  readonly forUpdateTs?: bigint | undefined;
  /** With `forUpdateTs`: check the pessimistic locks (else the keys were not locked). @defaultValue true */
  readonly pessimisticCheck?: boolean | undefined;
  /** The lock's min commit ts (client-go's committer sends start ts + 1). @defaultValue startTs + 1 */
  readonly minCommitTs?: bigint | undefined;
  /** Async commit: the secondaries the primary lists. @defaultValue the other mutations */
  readonly secondaries?: readonly Uint8Array[] | undefined;
}

/** Counts the requests sent, by command, around the cluster's sender. */
export class CountingSender implements RegionSender {
  readonly counts = new Map<string, number>();
  readonly requests: { request: TikvRequest; regionId: bigint; options: RegionRequestOptions | undefined }[] =
    [];
  /** Runs after each response, before the caller sees it (a test steers the race here). */
  afterResponse: ((request: TikvRequest) => Promise<void> | void) | undefined;
  constructor(readonly inner: RegionSender) {}
  sendRequest: RegionSender['sendRequest'] = async (bo, request, region, options) => {
    this.counts.set(request.$case, (this.counts.get(request.$case) ?? 0) + 1);
    this.requests.push({ request, regionId: region.id, options });
    const resp = await this.inner.sendRequest(bo, request, region, options);
    await this.afterResponse?.(request);
    return resp;
  };
  count(cmd: string): number {
    return this.counts.get(cmd) ?? 0;
  }
  reset(): void {
    this.counts.clear();
    this.requests.length = 0;
    this.afterResponse = undefined;
  }
  /** The requests of one command sent since the last reset. */
  sent<C extends TikvRequest['$case']>(
    cmd: C,
  ): {
    request: Extract<TikvRequest, { $case: C }>;
    regionId: bigint;
    options: RegionRequestOptions | undefined;
  }[] {
    return this.requests.filter((r) => r.request.$case === cmd) as {
      request: Extract<TikvRequest, { $case: C }>;
      regionId: bigint;
      options: RegionRequestOptions | undefined;
    }[];
  }
}

/** Options of {@link TxnTestCluster.start}. */
export interface TxnTestClusterOptions {
  readonly mock?: MockClusterOptions | undefined;
  /** API V2 with this keyspace (created in the mock). */
  readonly keyspace?: string | undefined;
  readonly resolver?: LockResolverTuning | undefined;
}

/**
 * A mock cluster over gRPC and the pieces a snapshot and a lock resolver run on, plus raw
 * transactional writes (prewrite, commit, pessimistic lock) for setting up locks of every kind.
 */
export class TxnTestCluster {
  private constructor(
    readonly cluster: MockCluster,
    readonly conn: ClusterConnection,
    readonly sender: CountingSender,
    readonly exec: RegionExecutor,
    readonly pdOracle: PdOracle,
    readonly oracle: TxnOracle,
    readonly resolver: LockResolver,
    readonly keyspaceId: number | undefined,
  ) {}

  static async start(options: TxnTestClusterOptions = {}): Promise<TxnTestCluster> {
    const v2 = options.keyspace !== undefined;
    const cluster = await MockCluster.start({
      stores: 1,
      ...(v2
        ? { apiVersion: 'V2', keyspaces: [{ name: options.keyspace as string }] }
        : { regionKeyEncoding: 'memcomparable' }),
      ...options.mock,
    });
    try {
      const conn = await connectCluster({
        pdEndpoints: cluster.pdEndpoints,
        keyMode: KeyMode.TXN,
        ...(v2 ? { apiVersion: 'V2', keyspace: options.keyspace } : {}),
      });
      // In API V1 `connectCluster` sends through the bare transport, so region errors come back
      // with memcomparable region keys the cache cannot use: send through the V1 codec here.
      const sender = new CountingSender(
        v2
          ? conn.sender
          : new RegionRequestSender({
              locator: conn.regionCache,
              transport: new CodecTransport(conn.rpc, conn.codec),
              apiVersion: 'V1',
              clusterId: conn.clusterId,
            }),
      );
      const exec = new Executor({ sender, locator: conn.regionCache });
      const pdOracle = await PdOracle.create(conn.pd, { noUpdateTs: true });
      // The low-resolution ts is fetched fresh: lock expiry is judged at the real current ts.
      const oracle: TxnOracle = {
        getTimestamp: (o) => pdOracle.getTimestamp(o),
        getLowResolutionTimestamp: (o) => pdOracle.getTimestamp(o),
        // Judged at the local clock (a PdOracle refreshes its low-resolution ts in the background).
        isExpired: (ts, ttl) => extractPhysical(ts) + ttl <= Date.now(),
        untilExpired: (ts, ttl) => extractPhysical(ts) + ttl - Date.now(),
        validateReadTs: (ts, stale, o) => pdOracle.validateReadTs(ts, stale, o),
      };
      const resolver = new LockResolver({ executor: exec, oracle, ...options.resolver });
      const keyspaceId = v2 ? conn.codec.keyspaceId : undefined;
      return new TxnTestCluster(cluster, conn, sender, exec, pdOracle, oracle, resolver, keyspaceId);
    } catch (e) {
      await cluster.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.resolver.close();
    this.pdOracle.close();
    await this.conn.close();
    await this.cluster.close();
  }

  /** Splits the mock's regions at user keys (V2: inside the keyspace). */
  split(...keys: string[]): void {
    const prefix = this.keyspaceId === undefined ? undefined : keyspacePrefix('txn', this.keyspaceId);
    this.cluster.split(keys.map((s) => (prefix === undefined ? k(s) : Buffer.concat([prefix, k(s)]))));
  }

  ts(): Promise<bigint> {
    return this.oracle.getTimestamp();
  }

  /** A ts `agoMs` milliseconds in the past: locks written at it with a short TTL are already expired. */
  pastTs(agoMs: number, logical = 0): bigint {
    return composeTs(Date.now() - agoMs, logical);
  }

  snapshot(ts: bigint, options?: SnapshotOptions): Snapshot {
    return new Snapshot(
      { executor: this.exec, oracle: this.oracle, lockResolver: this.resolver },
      ts,
      options,
    );
  }

  bo(maxBackoffMs = 20_000, options?: RequestOptions): Backoffer {
    return new Backoffer({ maxBackoffMs, signal: options?.signal, timeoutMs: options?.timeoutMs });
  }

  /** Sends `requests(keysOfRegion)` to every region of `keys`; key errors are returned. */
  async #perRegion(
    keys: readonly Uint8Array[],
    build: (keys: Uint8Array[]) => TikvRequest,
    errorsOf: (resp: unknown) => readonly kvrpcpb.KeyError[],
  ): Promise<KeyError[]> {
    const out: KeyError[] = [];
    await this.exec.runBatches(this.bo(), {
      items: keys,
      keyOf: identity,
      limit: { maxCount: 1_000_000 },
      send: async (batch, bo) => {
        const resp = await this.exec.sendToRegion(bo, batch.region, build(batch.items as Uint8Array[]));
        if (resp === undefined) return 'regionError';
        for (const e of errorsOf(resp.value)) out.push(keyErrorFromWire(e));
        return 'done';
      },
    });
    return out;
  }

  /** A raw prewrite of every mutation (primary first); throws the first key error. */
  async prewrite(spec: PrewriteSpec): Promise<{ startTs: bigint; primary: Uint8Array }> {
    const startTs = spec.startTs ?? (await this.ts());
    const primary = spec.primary ?? (spec.mutations[0] as TestMutation)[0];
    const byKey = new Map(spec.mutations.map(([key, v]) => [Buffer.from(key).toString('latin1'), v]));
    const secondaries =
      spec.secondaries ??
      spec.mutations.map(([key]) => key).filter((key) => Buffer.compare(key, primary) !== 0);
    const pessimistic = spec.forUpdateTs !== undefined;
    const errors = await this.#perRegion(
      spec.mutations.map(([key]) => key),
      (keys) => ({
        $case: 'Prewrite',
        value: kvrpcpb.PrewriteRequest.fromPartial({
          mutations: keys.map((key) => {
            const v = byKey.get(Buffer.from(key).toString('latin1'));
            return {
              key,
              op: v === 'lock' ? kvrpcpb.Op.Lock : v === undefined ? kvrpcpb.Op.Del : kvrpcpb.Op.Put,
              value: v === 'lock' || v === undefined ? new Uint8Array(0) : v,
            };
          }),
          primaryLock: primary,
          startVersion: startTs,
          lockTtl: BigInt(spec.lockTtlMs ?? 3000),
          txnSize: BigInt(spec.txnSize ?? spec.mutations.length),
          useAsyncCommit: spec.asyncCommit === true,
          secondaries: spec.asyncCommit === true ? [...secondaries] : [],
          minCommitTs: spec.minCommitTs ?? startTs + 1n,
          maxCommitTs: spec.maxCommitTs ?? 0n,
          forUpdateTs: spec.forUpdateTs ?? 0n,
          pessimisticActions: pessimistic
            ? keys.map(() =>
                spec.pessimisticCheck === false
                  ? kvrpcpb.PrewriteRequest_PessimisticAction.SKIP_PESSIMISTIC_CHECK
                  : kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK,
              )
            : [],
        }),
      }),
      (r) => (r as kvrpcpb.PrewriteResponse).errors,
    );
    if (errors[0] !== undefined) throw errors[0];
    return { startTs, primary };
  }

  /** Commits keys of a prewritten transaction (the primary's region first when it is among them). */
  async commitKeys(keys: readonly Uint8Array[], startTs: bigint, commitTs: bigint): Promise<void> {
    const errors = await this.#perRegion(
      keys,
      (ks) => ({
        $case: 'Commit',
        value: kvrpcpb.CommitRequest.fromPartial({
          keys: ks,
          startVersion: startTs,
          commitVersion: commitTs,
        }),
      }),
      (r) => {
        const e = (r as kvrpcpb.CommitResponse).error;
        return e === undefined ? [] : [e];
      },
    );
    if (errors[0] !== undefined) throw errors[0];
  }

  /** Prewrites and commits (primary first, then the rest): a committed transaction. */
  async put(mutations: readonly TestMutation[]): Promise<{ startTs: bigint; commitTs: bigint }> {
    const { startTs, primary } = await this.prewrite({ mutations });
    const commitTs = await this.ts();
    await this.commitKeys([primary], startTs, commitTs);
    const rest = mutations.map(([key]) => key).filter((key) => Buffer.compare(key, primary) !== 0);
    if (rest.length > 0) await this.commitKeys(rest, startTs, commitTs);
    return { startTs, commitTs };
  }

  /** Acquires pessimistic locks; throws the first key error. */
  async pessimisticLock(
    keys: readonly Uint8Array[],
    spec: {
      primary?: Uint8Array | undefined;
      startTs: bigint;
      forUpdateTs?: bigint | undefined;
      lockTtlMs?: number | undefined;
    },
  ): Promise<void> {
    const errors = await this.#perRegion(
      keys,
      (ks) => ({
        $case: 'PessimisticLock',
        value: kvrpcpb.PessimisticLockRequest.fromPartial({
          mutations: ks.map((key) => ({ key, op: kvrpcpb.Op.PessimisticLock })),
          primaryLock: spec.primary ?? (keys[0] as Uint8Array),
          startVersion: spec.startTs,
          forUpdateTs: spec.forUpdateTs ?? spec.startTs,
          lockTtl: BigInt(spec.lockTtlMs ?? 3000),
          waitTimeout: -1n,
        }),
      }),
      (r) => (r as kvrpcpb.PessimisticLockResponse).errors,
    );
    if (errors[0] !== undefined) throw errors[0];
  }

  /** The lock on a key, read as client-go's `mustGetLock` does (a Get at a fresh ts). */
  async getLock(key: Uint8Array): Promise<LockInfo | undefined> {
    const version = await this.ts();
    const { response } = await this.exec.sendToKey(this.bo(), key, () => ({
      $case: 'Get' as const,
      value: kvrpcpb.GetRequest.fromPartial({ key, version }),
    }));
    const err = response.value.error;
    return err?.locked === undefined ? undefined : lockInfoFromWire(err.locked);
  }

  /** Every lock in `[start, end)` below `maxTs` (client-go `ScanLocks`). */
  async scanLocks(start: Uint8Array, end: Uint8Array, maxTs?: bigint): Promise<LockInfo[]> {
    const maxVersion = maxTs ?? (await this.ts());
    const out: LockInfo[] = [];
    await this.exec.walkRange(this.bo(), {
      start,
      end,
      build: (span) => ({
        $case: 'ScanLock' as const,
        value: kvrpcpb.ScanLockRequest.fromPartial({
          maxVersion,
          startKey: span.startKey,
          endKey: span.endKey,
          limit: 100_000,
        }),
      }),
      onResponse: (resp) => {
        for (const l of resp.value.locks) out.push(lockInfoFromWire(l));
        return 'next';
      },
    });
    return out;
  }

  /** The committed value of a key at a fresh ts, read through a fresh snapshot. */
  async read(key: Uint8Array): Promise<string | undefined> {
    return t(await this.snapshot(await this.ts()).get(key));
  }
}
