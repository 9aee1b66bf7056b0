import {
  checkArray,
  checkOptionalString,
  InvalidArgumentError,
  invalidArgument,
  type RequestOptions,
} from '@tikv/common';
import { ApiVersion, type Codec, CodecRegionKeyCodec, createCodec, KeyMode } from '@tikv/keyspace';
import { PdClient } from '@tikv/pd';
import { RegionCache } from '@tikv/region-cache';
import { CodecTransport, type KvTransport, RegionRequestSender, RpcClient } from '@tikv/rpc';
import { checkApiVersion } from './api-version-check.js';
import type { RawClientParts } from './raw-client.js';
import type { RawClientOptions, ResolvedRawClientTuning } from './raw-client-options.js';

type Closer = () => Promise<void>;

async function closeAll(closers: readonly Closer[]): Promise<void> {
  const results = await Promise.allSettled([...closers].reverse().map((c) => c()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * The key codec of the client (client-go `NewClientWithOpts`): API V1 needs nothing; API V2
 * loads the keyspace through a PD client without a codec, which is closed afterwards.
 */
async function loadCodec(options: RawClientOptions, call: RequestOptions | undefined): Promise<Codec> {
  const apiVersion = options.apiVersion ?? ApiVersion.V1;
  if (apiVersion !== ApiVersion.V2) {
    return createCodec({ apiVersion, mode: KeyMode.RAW, keyspace: options.keyspace });
  }
  const metaPd = await PdClient.connect(
    { ...options.pd, endpoints: options.pdEndpoints, tls: options.tls, logger: options.logger },
    call,
  );
  try {
    return await createCodec({
      apiVersion,
      mode: KeyMode.RAW,
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
 * Wires a raw client's pieces: keyspace codec, PD client (region lookups through the codec, so
 * the cache holds user keys), region cache, gRPC transport (wrapped in the codec in API V2) and
 * region request sender.
 *
 * @internal
 */
export async function connectRawParts(
  options: RawClientOptions,
  tuning: ResolvedRawClientTuning,
  call?: RequestOptions,
): Promise<RawClientParts> {
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
  checkOptionalString(options.keyspace, 'options.keyspace');
  const apiVersion = options.apiVersion ?? ApiVersion.V1;
  const codec = await loadCodec(options, call);
  const closers: Closer[] = [];
  try {
    const pd = await PdClient.connect(
      {
        ...options.pd,
        endpoints: options.pdEndpoints,
        tls: options.tls,
        codec: new CodecRegionKeyCodec(codec),
        logger: tuning.logger,
      },
      call,
    );
    closers.push(() => pd.close());
    const cache = new RegionCache(pd, { ...options.regionCache, clock: tuning.clock, logger: tuning.logger });
    closers.push(() => cache.close());
    const rpc = new RpcClient({
      ...options.transport,
      tls: options.tls,
      clock: tuning.clock,
      logger: tuning.logger,
    });
    closers.push(() => rpc.close());
    await checkApiVersion(pd, rpc, codec, call, tuning.logger);
    const transport: KvTransport = apiVersion === ApiVersion.V2 ? new CodecTransport(rpc, codec) : rpc;
    const sender = new RegionRequestSender({
      locator: cache,
      transport,
      apiVersion,
      ...(apiVersion === ApiVersion.V2 ? { keyspaceId: codec.keyspaceId } : {}),
      clusterId: pd.clusterId,
      clock: tuning.clock,
      logger: tuning.logger,
    });
    return { sender, locator: cache, clusterId: pd.clusterId, close: () => closeAll(closers) };
  } catch (e) {
    await closeAll(closers).catch(() => {});
    throw e;
  }
}
