import { health, tsopb } from '@tikv/proto';
import type { MetaStore } from '../pd/meta-store.js';
import { GrpcHost, type GrpcHostOptions } from '../server/grpc-host.js';
import { HEALTH_HANDLERS } from '../tikv/health-feedback.js';
import type { TsoAllocator } from '../tso-allocator.js';
import { DEFAULT_KEYSPACE_GROUP_ID, KeyspaceGroups, type TsoServiceSpec } from './keyspace-groups.js';
import { createTsoHandlers, type TsoRequestRecord, TsoService } from './tso-service.js';

/** One TSO server of the mock's microservice, as the handle reports it. */
export interface TsoServerInfo {
  readonly index: number;
  /** `host:port`. */
  readonly address: string;
  /** The URL PD advertises for it (`GetClusterInfo.tso_urls`, keyspace group members). */
  readonly url: string;
  readonly running: boolean;
}

/** The most TSO request records kept (the oldest are dropped). */
const MAX_RECORDS = 10_000;

/**
 * The TSO microservice of a mock cluster: its servers (one gRPC host each, serving `tsopb.TSO`
 * and health) and the keyspace-group metadata they share.
 */
export class TsoServers {
  /** The keyspace groups the servers serve. */
  readonly groups: KeyspaceGroups;
  readonly #hosts: GrpcHost[];
  readonly #records: TsoRequestRecord[] = [];
  #listenHost = '127.0.0.1';
  /** Whether PD reports the microservice (API service mode) in `GetClusterInfo`. */
  enabled = true;
  /** Whether PD lists the servers in `GetClusterInfo.tso_urls`. */
  readonly advertiseUrls: boolean;

  constructor(
    spec: TsoServiceSpec,
    deps: { clusterId: bigint; tso: TsoAllocator },
    hostOptions: GrpcHostOptions,
  ) {
    this.groups = new KeyspaceGroups(spec);
    this.advertiseUrls = spec.advertiseUrls ?? true;
    const shared = {
      clusterId: deps.clusterId,
      groups: this.groups,
      tso: deps.tso,
      address: (i: number) => `${this.#listenHost}:${this.#hosts[i]?.port ?? 0}`,
      record: (r: TsoRequestRecord) => {
        if (this.#records.length >= MAX_RECORDS) this.#records.shift();
        this.#records.push(r);
      },
    };
    this.#hosts = Array.from(
      { length: this.groups.serverCount },
      (_, i) =>
        new GrpcHost(
          [
            [tsopb.TSODefinition, createTsoHandlers(new TsoService(shared, i))],
            [health.HealthDefinition, HEALTH_HANDLERS],
          ],
          hostOptions,
        ),
    );
  }

  /** Starts every server on a free port. */
  async listen(host: string): Promise<void> {
    this.#listenHost = host;
    for (const h of this.#hosts) await h.listen(host, 0);
  }

  /** The servers. */
  info(): TsoServerInfo[] {
    return this.#hosts.map((h, index) => {
      const address = `${this.#listenHost}:${h.port}`;
      return { index, address, url: `http://${address}`, running: h.listening };
    });
  }

  /**
   * What PD answers in `GetClusterInfo.tso_urls`: the running servers' URLs in the order of their
   * registry keys (sorted), none when not advertised.
   */
  runningUrls(): string[] {
    if (!this.advertiseUrls) return [];
    return this.info()
      .filter((s) => s.running)
      .map((s) => s.url)
      .sort();
  }

  /**
   * Keeps in PD's etcd what the real TSO servers keep there, for clients that discover them
   * there: each running server's registration (`/ms/<cluster-id>/tso/registry/<url>`, JSON) and
   * each group's primary, a `tsopb.Participant` named `<url>-<group, 5 digits>`, at
   * `/ms/<cluster-id>/tso/00000/primary` for the default group and
   * `/ms/<cluster-id>/tso/keyspace_groups/election/<group, 5 digits>/primary` for the others.
   * Call once the servers listen.
   */
  publishEtcd(store: MetaStore, clusterId: bigint): void {
    const enc = new TextEncoder();
    const startSeconds = Math.floor(Date.now() / 1000);
    const published = new Map<string, string>();
    const publish = (): void => {
      const want = new Map<string, Uint8Array>();
      const servers = this.info();
      for (const server of servers) {
        if (!(server.running && this.groups.running(server.index))) continue;
        const registration = {
          name: `tso-${server.index}`,
          'service-addr': server.url,
          version: 'mock',
          'git-hash': '',
          'deploy-path': '',
          'start-timestamp': startSeconds,
        };
        want.set(`/ms/${clusterId}/tso/registry/${server.url}`, enc.encode(JSON.stringify(registration)));
      }
      for (const g of this.groups.list()) {
        const server = g.primary === undefined ? undefined : servers[g.primary];
        if (server === undefined) continue;
        const padded = String(g.id).padStart(5, '0');
        const key =
          g.id === DEFAULT_KEYSPACE_GROUP_ID
            ? `/ms/${clusterId}/tso/${padded}/primary`
            : `/ms/${clusterId}/tso/keyspace_groups/election/${padded}/primary`;
        const value = tsopb.Participant.encode({
          name: `${server.url}-${padded}`,
          id: (BigInt(server.index + 1) << 32n) | BigInt(g.id),
          listenUrls: [server.url],
        }).finish();
        want.set(key, value);
      }
      for (const key of published.keys()) {
        if (want.has(key)) continue;
        store.delete(enc.encode(key));
        published.delete(key);
      }
      for (const [key, value] of want) {
        const text = Buffer.from(value).toString('hex');
        if (published.get(key) === text) continue;
        store.put(enc.encode(key), value);
        published.set(key, text);
      }
    };
    this.groups.onChange(publish);
    publish();
  }

  /** The TSO requests the servers received, oldest first (the last 10 000). */
  records(): readonly TsoRequestRecord[] {
    return this.#records;
  }

  /** Stops server `i`; groups it was primary of elect the next running member. */
  async stop(i: number): Promise<void> {
    this.groups.setRunning(i, false);
    await this.#hosts[i]?.stop();
  }

  /** Restarts server `i` on its port. */
  async start(i: number): Promise<void> {
    const h = this.#hosts[i];
    if (h === undefined || h.listening) return;
    await h.listen(this.#listenHost, h.port);
    this.groups.setRunning(i, true);
  }

  /** Stops every server for good. */
  async close(): Promise<void> {
    await Promise.all(this.#hosts.map((h) => h.close()));
  }
}
