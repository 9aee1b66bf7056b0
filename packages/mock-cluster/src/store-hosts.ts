import { InvalidArgumentError } from '@tikv/common';
import { health, tikvpb } from '@tikv/proto';
import type { StoreInfo } from './cluster/topology-types.js';
import type { IdInput } from './mock-cluster-options.js';
import { GrpcHost, type GrpcHostOptions } from './server/grpc-host.js';
import { HEALTH_HANDLERS } from './tikv/health-feedback.js';
import type { KvDeps } from './tikv/kv-deps.js';
import { createTikvHandlers, KvService } from './tikv/kv-service.js';

interface StoreHost {
  readonly id: bigint;
  readonly host: GrpcHost;
  /** The store's KV service (other stores forward to it in process). */
  readonly kv: KvService;
  /** Aborted when the store stops; replaced when it starts again. */
  readonly life: { current: AbortController };
}

/**
 * The stores' TiKV servers, one gRPC server per store over the shared storage: opened, stopped,
 * cut off, restarted, added and removed, with the address and liveness PD reports kept in step.
 */
export class StoreHosts {
  readonly #hosts = new Map<bigint, StoreHost>();
  readonly #deps: KvDeps;
  readonly #hostOptions: GrpcHostOptions;
  /** The interface the servers listen on. */
  readonly #address: string;

  constructor(deps: KvDeps, hostOptions: GrpcHostOptions, address: string) {
    this.#deps = deps;
    this.#hostOptions = hostOptions;
    this.#address = address;
  }

  /** The id of an existing store; throws InvalidArgumentError for an unknown one. */
  idOf(id: IdInput): bigint {
    return this.#get(id).id;
  }

  #get(id: IdInput): StoreHost {
    const s = this.#hosts.get(BigInt(id));
    if (s === undefined) throw new InvalidArgumentError(`store ${id} does not exist`);
    return s;
  }

  /** Serves store `id`'s TiKV service on `port` (0: a free one) and records its address. */
  async open(id: bigint, port: number): Promise<void> {
    const model = this.#deps.model;
    const life = { current: new AbortController() };
    const kv = new KvService(this.#deps, {
      storeId: id,
      delayMs: () => model.store(id)?.delayMs ?? 0,
      slowScore: () => model.store(id)?.slowScore ?? 1,
      get lifetime() {
        return life.current.signal;
      },
    });
    const forward = (address: string) => this.#forwardTarget(id, address);
    const host = new GrpcHost(
      [
        [tikvpb.TikvDefinition, createTikvHandlers(kv, forward), 'complete'],
        [health.HealthDefinition, HEALTH_HANDLERS, 'partial'],
      ],
      this.#hostOptions,
    );
    const entry: StoreHost = { id, host, kv, life };
    this.#hosts.set(id, entry);
    const listened = await entry.host.listen(this.#address, port);
    model.updateStore(id, { address: `${this.#address}:${listened}` });
  }

  /** A store forwards to any other store that is up, reachable from it or not from clients. */
  #forwardTarget(from: bigint, address: string): KvService | undefined {
    for (const s of this.#hosts.values()) {
      if (
        s.id !== from &&
        !s.life.current.signal.aborted &&
        this.#deps.model.store(s.id)?.address === address
      )
        return s.kv;
    }
    return undefined;
  }

  /** Stops a store's server and marks it not running. */
  async stop(id: IdInput): Promise<void> {
    const s = this.#get(id);
    s.life.current.abort();
    await s.host.stop();
    this.#deps.model.updateStore(s.id, { running: false });
  }

  /** Closes a store's port to clients while it keeps running for the other stores. */
  async isolate(id: IdInput): Promise<void> {
    await this.#get(id).host.stop();
  }

  /** Restarts a stopped (or isolated) store on `port`, by default its previous one. */
  async start(id: IdInput, port: number | undefined): Promise<void> {
    const s = this.#get(id);
    if (s.host.listening) return;
    s.life.current = new AbortController();
    const listened = await s.host.listen(this.#address, port ?? s.host.port);
    this.#deps.model.updateStore(s.id, { running: true, address: `${this.#address}:${listened}` });
  }

  /** Adds a store (the next id) with `labels` and serves it on `port`; undone when that fails. */
  async add(labels: Readonly<Record<string, string>>, port: number): Promise<StoreInfo> {
    const model = this.#deps.model;
    const id = model.addStore(labels).id;
    try {
      await this.open(id, port);
    } catch (e) {
      await this.#hosts.get(id)?.host.close();
      this.#hosts.delete(id);
      model.removeStore(id);
      throw e;
    }
    return model.store(id) as StoreInfo;
  }

  /** Closes a store's server for good and removes the store. */
  async remove(id: IdInput): Promise<void> {
    const s = this.#get(id);
    s.life.current.abort();
    await s.host.close();
    this.#hosts.delete(s.id);
    this.#deps.model.removeStore(s.id);
  }

  /** Ends every store's lifetime at once, then closes every server. */
  async close(): Promise<void> {
    for (const s of this.#hosts.values()) s.life.current.abort();
    await Promise.all([...this.#hosts.values()].map((s) => s.host.close()));
  }
}
