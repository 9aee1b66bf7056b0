import { TiKVError } from './tikv-error.js';

/** Fields of an {@link ApiVersionMismatchError}. */
export interface ApiVersionMismatchFields {
  /** The API version the client was configured with. */
  readonly clientApiVersion: string;
  /** The API version the store reported for its storage (TiKV `storage.api-version`), when it said. */
  readonly clusterApiVersion: string | undefined;
  /** The store that answered, `host:port`. */
  readonly storeAddress: string;
}

/**
 * The client's API version is not the cluster's: TiKV refuses every request whose
 * `Context.api_version` differs from its `storage.api-version` (a V2 client on a V1 cluster, or
 * a V1 client on a V2 cluster). Raised by `connect`, which asks a store before anything else;
 * set `apiVersion` to the cluster's.
 */
export class ApiVersionMismatchError extends TiKVError implements ApiVersionMismatchFields {
  override name = 'ApiVersionMismatchError';
  declare readonly code: 'API_VERSION_MISMATCH';
  readonly clientApiVersion: string;
  readonly clusterApiVersion: string | undefined;
  readonly storeAddress: string;

  /**
   * @param fields - both versions and the store that answered
   * @param options - `cause`: the store's answer
   */
  constructor(fields: ApiVersionMismatchFields, options: ErrorOptions = {}) {
    const cluster = fields.clusterApiVersion ?? 'another version';
    super(
      'API_VERSION_MISMATCH',
      `API version mismatch: the client uses ${fields.clientApiVersion} but the cluster's storage is ` +
        `${cluster} (store ${fields.storeAddress}); set apiVersion to the cluster's`,
      options,
    );
    this.clientApiVersion = fields.clientApiVersion;
    this.clusterApiVersion = fields.clusterApiVersion;
    this.storeAddress = fields.storeAddress;
  }
}
