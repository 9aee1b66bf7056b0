import { isTiKVError, type RequestOptions } from '@tikv/common';
import { buildKeyspaceName } from './api-version.js';
import { KeyspaceError, KeyspaceErrorReason } from './keyspace-errors.js';
import {
  type KeyspaceMeta,
  KeyspaceState,
  keyspaceMetaFromWire,
  type WireKeyspaceMeta,
} from './keyspace-meta.js';

/**
 * Where keyspace meta comes from: PD's `keyspacepb.Keyspace` service. `@tikv/pd`'s
 * `PdClient` satisfies it; a test can pass a two-line fake. It rejects with a `PdError` of
 * type `ENTRY_NOT_FOUND` for an unknown keyspace, as PD does.
 */
export interface KeyspaceSource {
  loadKeyspace(name: string, options?: RequestOptions): Promise<WireKeyspaceMeta>;
}

/**
 * Loads a keyspace by name and checks that it can be used (client-go `GetKeyspaceID`): an
 * empty name selects the default keyspace; it must exist, be ENABLED and have a numeric id.
 *
 * @param source - PD's keyspace service
 * @param name - the keyspace name (empty: `DEFAULT`)
 * @param options - `signal` and `timeoutMs`, passed to the source
 * @returns the keyspace meta
 * @throws KeyspaceError `NOT_FOUND`, `NOT_ENABLED` or `UNSUPPORTED_IDENTITY`
 */
export async function loadKeyspaceMeta(
  source: KeyspaceSource,
  name: string | undefined,
  options?: RequestOptions,
): Promise<KeyspaceMeta> {
  const full = buildKeyspaceName(name);
  let wire: WireKeyspaceMeta | undefined;
  try {
    wire = await source.loadKeyspace(full, options);
  } catch (e) {
    if (isTiKVError(e, 'PD_ERROR') && (e as { pdErrorType?: string }).pdErrorType === 'ENTRY_NOT_FOUND') {
      throw new KeyspaceError(KeyspaceErrorReason.NOT_FOUND, `keyspace ${full} not found`, {
        keyspaceName: full,
        cause: e,
      });
    }
    throw e;
  }
  if (wire === undefined || wire === null) {
    throw new KeyspaceError(KeyspaceErrorReason.NOT_FOUND, `keyspace ${full} not found`, {
      keyspaceName: full,
    });
  }
  const meta = keyspaceMetaFromWire(wire);
  if (meta.state !== KeyspaceState.ENABLED) {
    throw new KeyspaceError(KeyspaceErrorReason.NOT_ENABLED, `keyspace ${full} not enabled (${meta.state})`, {
      keyspaceName: full,
    });
  }
  return meta;
}

/**
 * A cache of enabled keyspaces by name in front of a {@link KeyspaceSource}. Concurrent loads
 * of one name share a request; failures are not cached.
 */
export class KeyspaceCache {
  readonly #source: KeyspaceSource;
  readonly #metas = new Map<string, KeyspaceMeta>();
  readonly #pending = new Map<string, Promise<KeyspaceMeta>>();

  /** @param source - PD's keyspace service */
  constructor(source: KeyspaceSource) {
    this.#source = source;
  }

  /**
   * The meta of an enabled keyspace, from the cache or loaded.
   *
   * @param name - the keyspace name (empty: `DEFAULT`)
   * @param options - `signal` and `timeoutMs` of a load
   * @throws KeyspaceError as {@link loadKeyspaceMeta}
   */
  async get(name: string | undefined, options?: RequestOptions): Promise<KeyspaceMeta> {
    const full = buildKeyspaceName(name);
    const cached = this.#metas.get(full);
    if (cached !== undefined) return cached;
    let p = this.#pending.get(full);
    if (p === undefined) {
      p = loadKeyspaceMeta(this.#source, full, options).finally(() => this.#pending.delete(full));
      this.#pending.set(full, p);
    }
    const meta = await p;
    this.#metas.set(full, meta);
    return meta;
  }

  /** Forgets a cached keyspace (for example after its state changed). */
  invalidate(name: string | undefined): void {
    this.#metas.delete(buildKeyspaceName(name));
  }
}
