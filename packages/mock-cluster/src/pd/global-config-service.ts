import { AsyncQueue } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { GrpcStatus, type RpcContext, RpcError } from '../server/rpc-error.js';
import type { MetaStore } from './meta-store.js';

type P<T> = pdpb.DeepPartial<T>;

/** The etcd folder of PD's global config. */
export const GLOBAL_CONFIG_PATH = '/global/config/';
/**
 * Where PD's resource manager keeps its controller config: the one path outside
 * {@link GLOBAL_CONFIG_PATH} that `LoadGlobalConfig` reads as it is (PD's
 * `keypath.ControllerConfigPath`).
 */
export const CONTROLLER_CONFIG_PATH = 'resource_group/controller';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** PD's `normalizeGlobalConfigPath`: '' and the root name the root; others must lie under it. */
function normalizePath(configPath: string): string {
  if (configPath === '' || configPath === GLOBAL_CONFIG_PATH.slice(0, -1)) return GLOBAL_CONFIG_PATH;
  if (!configPath.startsWith(GLOBAL_CONFIG_PATH)) {
    throw new RpcError(GrpcStatus.INVALID_ARGUMENT, `global config path "${configPath}" is not allowed`);
  }
  return configPath;
}

/** PD's `resolveGlobalConfigKey`: the etcd key of `name` under a normalised path. */
function itemKey(configPath: string, name: string): string {
  if (name === '') return configPath.endsWith('/') ? configPath.slice(0, -1) : configPath;
  return configPath.endsWith('/') ? configPath + name : `${configPath}/${name}`;
}

/** etcd's prefix range end over `key`. */
function prefixEnd(key: Uint8Array): Uint8Array {
  for (let i = key.length - 1; i >= 0; i--) {
    if ((key[i] as number) < 0xff) {
      const end = key.slice(0, i + 1);
      end[i] = (key[i] as number) + 1;
      return end;
    }
  }
  return Uint8Array.of(0);
}

/**
 * PD's global config calls of `pdpb.PD` (`StoreGlobalConfig`, `LoadGlobalConfig`,
 * `WatchGlobalConfig`, PD's `grpc_service.go`) over the meta storage's etcd ({@link MetaStore}),
 * so items are meta storage keys under `/global/config/`. Any member serves them (PD reads its
 * etcd client, checking neither leadership nor a header). Names are resolved and values chosen
 * as PD does: `value` first, else the payload; loads and watches answer with payloads.
 */
export class GlobalConfigService {
  readonly #store: MetaStore;

  constructor(store: MetaStore) {
    this.#store = store;
  }

  async storeGlobalConfig(req: pdpb.StoreGlobalConfigRequest): Promise<P<pdpb.StoreGlobalConfigResponse>> {
    const path = normalizePath(req.configPath);
    for (const item of req.changes) {
      const key = enc.encode(itemKey(path, item.name));
      if (item.kind === pdpb.EventType.PUT) {
        const value = item.value !== '' ? enc.encode(item.value) : item.payload;
        this.#store.put(key, value);
      } else if (item.kind === pdpb.EventType.DELETE) {
        this.#store.delete(key);
      }
    }
    return {};
  }

  async loadGlobalConfig(req: pdpb.LoadGlobalConfigRequest): Promise<P<pdpb.LoadGlobalConfigResponse>> {
    let path = req.configPath;
    if (req.names.length > 0 || path !== CONTROLLER_CONFIG_PATH) path = normalizePath(path);
    if (req.names.length > 0) {
      const items = req.names.map((name): P<pdpb.GlobalConfigItem> => {
        const key = enc.encode(itemKey(path, name));
        const kv = this.#store.range({ key, rangeEnd: new Uint8Array(0) }).kvs[0];
        if (kv === undefined) {
          return {
            name,
            error: { type: pdpb.ErrorType.GLOBAL_CONFIG_NOT_FOUND, message: `key ${name} not found` },
          };
        }
        return { name, payload: kv.value, kind: pdpb.EventType.PUT };
      });
      return { items };
    }
    const key = enc.encode(path);
    const found = this.#store.range({ key, rangeEnd: prefixEnd(key) });
    return {
      items: found.kvs.map((kv) => ({
        kind: pdpb.EventType.PUT,
        name: dec.decode(kv.key),
        payload: kv.value,
      })),
      revision: this.#store.revision,
    };
  }

  watchGlobalConfig(
    req: pdpb.WatchGlobalConfigRequest,
    ctx: RpcContext,
  ): AsyncIterable<P<pdpb.WatchGlobalConfigResponse>> {
    const path = normalizePath(req.configPath);
    const key = enc.encode(path);
    const q = new AsyncQueue<P<pdpb.WatchGlobalConfigResponse>>();
    const stop = this.#store.watch({ key, rangeEnd: prefixEnd(key) }, req.revision, (e) => {
      const name = dec.decode(e.kv.key);
      if (e.type === 'put') {
        q.push({
          changes: [{ name, payload: e.kv.value, kind: pdpb.EventType.PUT }],
          revision: e.kv.modRevision,
        });
      } else if (e.prevKv !== undefined) {
        q.push({
          changes: [{ name, payload: e.prevKv.value, kind: pdpb.EventType.DELETE }],
          revision: e.kv.modRevision,
        });
      }
    });
    const end = (): void => {
      stop();
      q.end();
    };
    if (ctx.signal.aborted) end();
    else ctx.signal.addEventListener('abort', end, { once: true });
    return q;
  }
}
