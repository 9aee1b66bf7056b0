import {
  checkArray,
  checkObject,
  checkOptionalString,
  checkRequestOptions,
  InvalidArgumentError,
  invalidArgument,
  noopLogger,
  type RequestOptions,
  systemClock,
} from '@tikv/common';
import { ApiVersion, type Codec, CodecRegionKeyCodec, createCodec, KeyMode } from '@tikv/keyspace';
import { PdClient } from '@tikv/pd';
import { RegionCache } from '@tikv/region-cache';
import {
  CodecTransport,
  CollapsingTransport,
  type KvTransport,
  RegionRequestSender,
  RpcClient,
} from '@tikv/rpc';
import { checkApiVersion } from './api-version-check.js';
import type { ConnectClusterOptions } from './cluster-options.js';

/** The pieces {@link connectCluster} wires, ready for a client to run on. */
export interface ClusterConnection {
  /** The PD client: timestamps, regions and stores, GC states, keyspaces (region keys through the codec). */
  readonly pd: PdClient;
  /** The region cache, in the client's keys: the executor's `KeyLocator`. */
  readonly regionCache: RegionCache;
  /** The gRPC transport to the stores. */
  readonly rpc: RpcClient;
  /**
   * What the sender sends through: a `CollapsingTransport` (concurrent region-wide ResolveLocks of one
   * transaction sent once) around `rpc` for API V1 raw keys, else around a `CodecTransport` around it.
   */
  readonly transport: KvTransport;
  /** The region request sender: the executor's `RegionSender`. */
  readonly sender: RegionRequestSender;
  /** The key codec of the API version, keyspace and key mode. */
  readonly codec: Codec;
  /** The cluster id PD reported. */
  readonly clusterId: bigint;
  /** Closes the region cache, the transport and the PD client, one after the other in that order. */
  close(): Promise<void>;
}

type Closer = () => Promise<void>;

/** How long a `GetHealthFeedback` request may take, in milliseconds (client-go `getHealthFeedbackTimeout`). */
const HEALTH_FEEDBACK_TIMEOUT_MS = 2_000;

async function closeAll(closers: readonly Closer[]): Promise<void> {
  // One after the other, in reverse order of opening: a piece opened later may use one opened
  // before while it stops (the region cache's loops ask PD), so client-go closes the region cache
  // before PD. Every piece is closed; the first failure is thrown.
  let failure: { reason: unknown } | undefined;
  for (const close of [...closers].reverse()) {
    try {
      await close();
    } catch (e) {
      failure ??= { reason: e };
    }
  }
  if (failure !== undefined) throw failure.reason;
}

/** Checks what every connect checks before it opens anything. */
function checkClusterOptions(options: ConnectClusterOptions): void {
  checkObject(options, 'options');
  const endpoints = checkArray(options.pdEndpoints, 'options.pdEndpoints');
  if (endpoints.length === 0) {
    throw new InvalidArgumentError(
      'options.pdEndpoints must list at least one PD endpoint, got array of length 0',
    );
  }
  endpoints.forEach((e, i) => {
    if (typeof e !== 'string') throw invalidArgument(`options.pdEndpoints[${i}]`, 'a string', e);
  });
  if (
    options.apiVersion !== undefined &&
    options.apiVersion !== ApiVersion.V1 &&
    options.apiVersion !== ApiVersion.V2
  ) {
    const got: unknown = options.apiVersion;
    throw typeof got === 'string'
      ? new InvalidArgumentError(`options.apiVersion must be 'V1', 'V2' or undefined, got '${got}'`)
      : invalidArgument('options.apiVersion', "'V1', 'V2' or undefined", got);
  }
  if (options.keyMode !== KeyMode.RAW && options.keyMode !== KeyMode.TXN) {
    throw invalidArgument('options.keyMode', "'raw' or 'txn'", options.keyMode);
  }
  checkOptionalString(options.keyspace, 'options.keyspace');
}

/**
 * The key codec (client-go `NewClientWithOpts` / `NewKVStore`): API V1 needs nothing; API V2
 * loads the keyspace through a PD client without a codec, closed afterwards.
 */
async function loadCodec(options: ConnectClusterOptions, call: RequestOptions | undefined): Promise<Codec> {
  const apiVersion = options.apiVersion ?? ApiVersion.V1;
  const mode = options.keyMode;
  if (apiVersion !== ApiVersion.V2) return createCodec({ apiVersion, mode, keyspace: options.keyspace });
  const metaPd = await PdClient.connect(
    { ...options.pd, endpoints: options.pdEndpoints, tls: options.tls, logger: options.logger },
    call,
  );
  try {
    return await createCodec({
      apiVersion,
      mode,
      keyspace: options.keyspace,
      source: metaPd,
      signal: call?.signal,
      timeoutMs: call?.timeoutMs,
    });
  } finally {
    await metaPd.close();
  }
}

/**
 * Connects to a cluster for one key mode: the keyspace codec, a PD client (region lookups go
 * through the codec, so the cache holds the client's keys), a region cache, the gRPC transport
 * (wrapped in the codec in API V2), a check that the stores run the client's API version, and
 * a region request sender. `RawClient.connect` and `TransactionClient.connect` both call it.
 *
 * @param options - endpoints, API version, keyspace, key mode, TLS, the pieces' options
 * @param call - cancels or bounds the connection attempt
 * @returns the connected pieces; close them with `close()`
 * @throws InvalidArgumentError for bad options
 * @throws KeyspaceError when an API V2 keyspace is unknown or not enabled
 * @throws ApiVersionMismatchError when the stores run another API version
 * @throws PdUnreachableError when no PD member answers
 */
export async function connectCluster(
  options: ConnectClusterOptions,
  call?: RequestOptions,
): Promise<ClusterConnection> {
  checkClusterOptions(options);
  checkRequestOptions(call, 'call');
  const apiVersion = options.apiVersion ?? ApiVersion.V1;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? noopLogger;
  const codec = await loadCodec(options, call);
  const closers: Closer[] = [];
  try {
    const pd = await PdClient.connect(
      {
        ...options.pd,
        endpoints: options.pdEndpoints,
        tls: options.tls,
        codec: new CodecRegionKeyCodec(codec),
        // API V2: timestamps come from the keyspace's keyspace group when PD runs the TSO microservice.
        keyspaceId: codec.keyspaceId,
        logger,
      },
      call,
    );
    closers.push(() => pd.close());
    // The cache and the transport feed each other: TiKV's health feedback arrives on the
    // transport's streams and lands in the cache's slow scores; the cache probes stores and asks
    // them for feedback through the transport.
    let cache: RegionCache | undefined;
    const userFeedback = options.transport?.onHealthFeedback;
    const rpc = new RpcClient({
      ...options.transport,
      tls: options.tls,
      clock,
      logger,
      onHealthFeedback: (address, feedback) => {
        cache?.onHealthFeedback(feedback.storeId, feedback.slowScore);
        userFeedback?.(address, feedback);
      },
    });
    closers.push(() => rpc.close());
    const regionCache = new RegionCache(pd, {
      livenessProbe: (store, signal) => rpc.probeLiveness(store.address, { signal }),
      requestHealthFeedback: async (store, signal) => {
        await rpc.send(
          store.address,
          { $case: 'GetHealthFeedback', value: { context: undefined } },
          { signal, timeoutMs: HEALTH_FEEDBACK_TIMEOUT_MS },
        );
      },
      ...options.regionCache,
      clock,
      logger,
    });
    cache = regionCache;
    closers.push(() => regionCache.close());
    await checkApiVersion({ pd, transport: rpc, codec, logger }, call);
    // Every codec but V1 raw's changes keys on the wire: V2 adds the keyspace prefix, and V1 txn
    // mode gets region boundaries back memcomparable-encoded in region errors (EpochNotMatch's
    // current regions), which the cache must see in the client's key space (client-go wraps
    // every client in its codec for the same reason).
    // Concurrent region-wide ResolveLocks of one transaction are sent once (client-go wraps its
    // client in reqCollapse the same way).
    const transport: KvTransport = new CollapsingTransport(
      apiVersion === ApiVersion.V2 || codec.mode === KeyMode.TXN ? new CodecTransport(rpc, codec) : rpc,
      { clock },
    );
    const sender = new RegionRequestSender({
      ...options.sender,
      locator: regionCache,
      transport,
      apiVersion,
      ...(apiVersion === ApiVersion.V2 ? { keyspaceId: codec.keyspaceId } : {}),
      clusterId: pd.clusterId,
      clock,
      logger,
    });
    return {
      pd,
      regionCache,
      rpc,
      transport,
      sender,
      codec,
      clusterId: pd.clusterId,
      close: () => closeAll(closers),
    };
  } catch (e) {
    await closeAll(closers).catch(() => {});
    throw e;
  }
}
