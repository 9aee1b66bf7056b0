import { ApiVersionMismatchError, KeyError, type Logger, type RequestOptions } from '@tikv/common';
import type { Codec } from '@tikv/keyspace';
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

/** Stores asked before the check gives up (a store that cannot be reached proves nothing). */
const MAX_STORES_ASKED = 3;
/** How long one store may take to answer, in milliseconds. */
const ANSWER_TIMEOUT_MS = 3_000;
/** A one-byte user key: in API V2 the codec gives it the raw-mode keyspace prefix. */
const PROBE_KEY = Uint8Array.of(0);

// TiKV reports `ApiVersionNotMatched` only as this text in a raw response's `error` string
// (`storage::Error` formatted with `{}`); the error code (KV:Storage:ApiVersionNotMatched) is not
// on the wire, so the text is all there is to recognise it by.
const MISMATCH = /^Api version in request does not match with TiKV storage.*\bstorage: (\w+)/s;

/**
 * Checks at connect that the cluster's storage runs the client's API version, and rejects with
 * an {@link ApiVersionMismatchError} when it does not.
 *
 * PD does not know TiKV's `storage.api-version`, and a keyspace loads from PD whatever it is, so
 * the check asks a store: a RawGet carrying the client's `Context.api_version`, sent to region 0.
 * TiKV checks the API version before it looks at the region (storage `check_api_version`):
 * a store of another version answers `ApiVersionNotMatched` in the response's `error`, a store of
 * the same version answers a region error (or the value). client-go does not check; its requests
 * then fail one by one (a V2 client on a V1 cluster first fails to decode V1's raw region keys as
 * memcomparable, "malformed region key").
 *
 * Both directions are refused: TiKV serves V1 raw requests only on V1 storage and V2 raw requests
 * only on V2 storage. Stores that cannot be reached are skipped; when none answers, the check
 * gives up quietly and the calls report what they meet.
 *
 * @internal
 */
export async function checkApiVersion(
  pd: ApiVersionCheckStores,
  transport: KvTransport,
  codec: Codec,
  call: RequestOptions | undefined,
  logger: Logger,
): Promise<void> {
  const stores = (await pd.getAllStores(call)).filter(
    (s) =>
      s.state === 'up' &&
      s.address !== '' &&
      !s.labels.some((l) => l.key === 'engine' && l.value.startsWith('tiflash')),
  );
  const context = codec.applyContext(kvrpcpb.Context.fromPartial({}));
  const request = codec.encodeRequest({
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
      logger.debug('raw: API version check: store did not answer', { address: store.address, error: e });
      continue;
    }
    const m = MISMATCH.exec(error);
    if (m === null) return;
    throw new ApiVersionMismatchError(
      { clientApiVersion: codec.apiVersion, clusterApiVersion: m[1], storeAddress: store.address },
      { cause: new KeyError('KEY_ERROR', error) },
    );
  }
  logger.debug('raw: API version check skipped: no store answered', { stores: stores.length });
}
