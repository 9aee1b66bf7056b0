import { AsyncQueue } from '@tikv/common';
import { meta_storagepb } from '@tikv/proto';
import type { ServiceHandlers } from '../server/grpc-host.js';
import type { RpcContext } from '../server/rpc-error.js';
import { type MetaEvent, type MetaKeyValue, type MetaStore, MetaStoreError } from './meta-store.js';

type P<T> = meta_storagepb.DeepPartial<T>;

/** What the meta storage service serves from. */
export interface MetaStorageDeps {
  readonly clusterId: bigint;
  readonly store: MetaStore;
}

/** Only key and value: what PD copies of etcd's key-values into Get, Put and Delete answers and prev_kv. */
function keyValueOnly(kv: MetaKeyValue): P<meta_storagepb.KeyValue> {
  return { key: kv.key, value: kv.value };
}

function fullKeyValue(kv: MetaKeyValue): P<meta_storagepb.KeyValue> {
  return {
    key: kv.key,
    value: kv.value,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
  };
}

/**
 * PD's `meta_storagepb.MetaStorage` over an in-memory etcd ({@link MetaStore}), answering as PD's
 * service does: requests' headers are not checked (the member gate checks leadership only);
 * etcd's refusals come back as UNKNOWN in the response header with the store revision; Get, Put
 * and Delete return only keys and values; Delete removes the one key it names (PD passes no range
 * on) and leaves `deleted` unset; Watch replays from `start_revision` (0: from now) and sends only
 * responses that carry events.
 */
export class MetaStorageService {
  readonly #d: MetaStorageDeps;

  constructor(deps: MetaStorageDeps) {
    this.#d = deps;
  }

  #header(error?: string): P<meta_storagepb.ResponseHeader> {
    return {
      clusterId: this.#d.clusterId,
      revision: this.#d.store.revision,
      error: error === undefined ? undefined : { type: meta_storagepb.ErrorType.UNKNOWN, message: error },
    };
  }

  #answer<T extends object>(
    fn: () => T,
  ): (T & { header: P<meta_storagepb.ResponseHeader> }) | { header: P<meta_storagepb.ResponseHeader> } {
    try {
      const r = fn();
      return { ...r, header: this.#header() };
    } catch (e) {
      if (e instanceof MetaStoreError) return { header: this.#header(e.message) };
      throw e;
    }
  }

  async get(req: meta_storagepb.GetRequest): Promise<P<meta_storagepb.GetResponse>> {
    return this.#answer(() => {
      const r = this.#d.store.range(req, { limit: req.limit, revision: req.revision });
      return { kvs: r.kvs.map(keyValueOnly), count: BigInt(r.count), more: r.more };
    });
  }

  async put(req: meta_storagepb.PutRequest): Promise<P<meta_storagepb.PutResponse>> {
    return this.#answer(() => {
      const prev = this.#d.store.put(req.key, req.value, req.lease);
      return { prevKv: req.prevKv && prev !== undefined ? keyValueOnly(prev) : undefined };
    });
  }

  async delete(req: meta_storagepb.DeleteRequest): Promise<P<meta_storagepb.DeleteResponse>> {
    return this.#answer(() => {
      const prev = this.#d.store.delete(req.key);
      return { prevKvs: req.prevKv && prev !== undefined ? [keyValueOnly(prev)] : [] };
    });
  }

  watch(req: meta_storagepb.WatchRequest, ctx: RpcContext): AsyncIterable<P<meta_storagepb.WatchResponse>> {
    const q = new AsyncQueue<P<meta_storagepb.WatchResponse>>();
    const toWire = (e: MetaEvent): P<meta_storagepb.Event> => ({
      type: e.type === 'put' ? meta_storagepb.Event_EventType.PUT : meta_storagepb.Event_EventType.DELETE,
      kv: fullKeyValue(e.kv),
      prevKv: req.prevKv && e.prevKv !== undefined ? keyValueOnly(e.prevKv) : undefined,
    });
    const stop = this.#d.store.watch(req, req.startRevision, (e) =>
      q.push({ header: this.#header(), events: [toWire(e)] }),
    );
    const end = (): void => {
      stop();
      q.end();
    };
    if (ctx.signal.aborted) end();
    else ctx.signal.addEventListener('abort', end, { once: true });
    return q;
  }
}

/** Handlers of `meta_storagepb.MetaStorage`. */
export function createMetaStorageHandlers(service: MetaStorageService): ServiceHandlers {
  return {
    get: service.get.bind(service),
    put: service.put.bind(service),
    delete: service.delete.bind(service),
    watch: service.watch.bind(service),
  } as ServiceHandlers;
}
