import { ApiVersionMismatchError, KeyError, type Logger, type RequestOptions } from '@tikv/common';
import { ApiVersion, type Codec, CodecV1, CodecV2, KeyMode } from '@tikv/keyspace';
import { kvrpcpb } from '@tikv/proto';
import type { KvTransport } from '@tikv/rpc';

/** What the check needs from PD: the stores (`PdClient` satisfies it). */
export interface ApiVersionCheckStores {
  getAllStores(options?: RequestOptions): Promise<
    readonly {
      readonly address: string;
      readonly state: string;
      readonly labels: readonly { readonly key: string; readonly value: string }[];
    }[]
  >;
}

/** What {@link checkApiVersion} works with. */
export interface ApiVersionCheckParts {
  /** Lists the stores to ask. */
  readonly pd: ApiVersionCheckStores;
  /** Sends the probe (the plain transport: the probe is encoded here). */
  readonly transport: KvTransport;
  /** The client's codec: its API version, keyspace and key mode. */
  readonly codec: Codec;
  /** Receives a line when a store does not answer or none does. */
  readonly logger: Logger;
}

/** Stores asked before the check gives up (a store that cannot be reached proves nothing). */
const MAX_STORES_ASKED = 3;
/** How long one store may take to answer, in milliseconds. */
const ANSWER_TIMEOUT_MS = 3_000;
/** A one-byte user key: in API V2 the raw-mode codec gives it the keyspace's raw prefix. */
const PROBE_KEY = Uint8Array.of(0);

// TiKV reports `ApiVersionNotMatched` only as this text in a raw response's `error` string
// (`storage::Error` formatted with `{}`); the error code (KV:Storage:ApiVersionNotMatched) is not
// on the wire, so the text is all there is to recognise it by.
const MISMATCH = /^Api version in request does not match with TiKV storage.*\bstorage: (\w+)/s;

/** The raw-mode codec of the client's API version and keyspace: the probe is a RawGet. */
function probeCodec(codec: Codec): Codec {
  if (codec.mode === KeyMode.RAW) return codec;
  return codec.keyspaceMeta === undefined
    ? new CodecV1(KeyMode.RAW)
    : new CodecV2(KeyMode.RAW, codec.keyspaceMeta);
}

/**
 * Checks at connect that the cluster's storage runs the client's API version, and rejects with
 * an {@link ApiVersionMismatchError} when it does not.
 *
 * PD does not know TiKV's `storage.api-version`, and a keyspace loads from PD whatever it is, so
 * the check asks a store: a RawGet carrying the client's `Context.api_version` (and, in API V2,
 * a key of the client's keyspace in raw mode), sent to region 0. TiKV checks the API version
 * before it looks at the region (storage `check_api_version`): a store of another version
 * answers `ApiVersionNotMatched` in the response's `error`, a store of the same version answers
 * a region error (or the value). client-go does not check; its requests then fail one by one (a
 * V2 client on a V1 cluster first fails to decode V1's raw region keys as memcomparable,
 * "malformed region key").
 *
 * A raw client is refused both ways: TiKV serves V1 raw requests only on V1 storage and V2 raw
 * requests only on V2 storage. A transactional V1 client on V2 storage is let through: TiKV
 * serves V1 transactional requests there for TiDB's keys (`m`, `t` prefixes). Stores that
 * cannot be reached are skipped; when none answers, the check gives up quietly and the calls
 * report what they meet.
 *
 * @param parts - the stores, the transport, the client's codec, a logger
 * @param call - the connect call's signal and timeout
 * @throws ApiVersionMismatchError when a store runs another API version
 * @internal
 */
export async function checkApiVersion(
  parts: ApiVersionCheckParts,
  call: RequestOptions | undefined,
): Promise<void> {
  const { pd, transport, codec, logger } = parts;
  const stores = (await pd.getAllStores(call)).filter(
    (s) =>
      s.state === 'up' &&
      s.address !== '' &&
      !s.labels.some((l) => l.key === 'engine' && l.value.startsWith('tiflash')),
  );
  const probe = probeCodec(codec);
  const context = probe.applyContext(kvrpcpb.Context.fromPartial({}));
  const request = probe.encodeRequest({
    $case: 'RawGet' as const,
    value: { context, key: PROBE_KEY, cf: '' },
  });
  for (const store of stores.slice(0, MAX_STORES_ASKED)) {
    let error: string;
    try {
      const response = await transport.send(store.address, request, {
        signal: call?.signal,
        timeoutMs: Math.min(call?.timeoutMs ?? ANSWER_TIMEOUT_MS, ANSWER_TIMEOUT_MS),
      });
      error = response.value.error;
    } catch (e) {
      if (call?.signal?.aborted === true) throw call.signal.reason;
      logger.debug('API version check: store did not answer', { address: store.address, error: e });
      continue;
    }
    const m = MISMATCH.exec(error);
    if (m === null) return;
    const clusterApiVersion = m[1];
    if (codec.mode === KeyMode.TXN && codec.apiVersion === ApiVersion.V1 && clusterApiVersion === 'V2') {
      logger.debug('API version check: a V1 transactional client on V2 storage (TiDB keys only)', {
        address: store.address,
      });
      return;
    }
    throw new ApiVersionMismatchError(
      { clientApiVersion: codec.apiVersion, clusterApiVersion, storeAddress: store.address },
      { cause: new KeyError('KEY_ERROR', error) },
    );
  }
  logger.debug('API version check skipped: no store answered', { stores: stores.length });
}
