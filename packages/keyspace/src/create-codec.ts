import { InvalidArgumentError, type RequestOptions } from '@tikv/common';
import { ApiVersion, type KeyMode } from './api-version.js';
import type { Codec } from './codec.js';
import { CodecV1 } from './codec-v1.js';
import { CodecV2 } from './codec-v2.js';
import { type KeyspaceSource, loadKeyspaceMeta } from './keyspace-source.js';

/** Options of {@link createCodec}. */
export interface CreateCodecOptions extends RequestOptions {
  /** The API version of the cluster. @defaultValue 'V1' */
  readonly apiVersion?: ApiVersion | undefined;
  /** Raw or transactional keys. */
  readonly mode: KeyMode;
  /** The keyspace name (API V2 only; empty selects `DEFAULT`). @defaultValue '' */
  readonly keyspace?: string | undefined;
  /** Where to load keyspace meta from (required for API V2; `PdClient` fits). */
  readonly source?: KeyspaceSource | undefined;
}

/**
 * Builds the codec a client runs with: API V1 needs nothing; API V2 loads the keyspace from
 * PD (it must exist and be ENABLED) and prefixes every key with it.
 *
 * @throws InvalidArgumentError for a keyspace in API V1, a V2 codec without a source, or an
 *   unknown API version
 * @throws KeyspaceError when the keyspace cannot be used
 */
export async function createCodec(options: CreateCodecOptions): Promise<Codec> {
  const version = options.apiVersion ?? ApiVersion.V1;
  if (version === ApiVersion.V1) {
    if (options.keyspace !== undefined && options.keyspace !== '') {
      throw new InvalidArgumentError('a keyspace requires apiVersion V2');
    }
    return new CodecV1(options.mode);
  }
  if (version !== ApiVersion.V2) throw new InvalidArgumentError(`unsupported apiVersion ${String(version)}`);
  if (options.source === undefined) throw new InvalidArgumentError('apiVersion V2 needs a keyspace source');
  const { signal, timeoutMs } = options;
  const meta = await loadKeyspaceMeta(options.source, options.keyspace, { signal, timeoutMs });
  return new CodecV2(options.mode, meta);
}
