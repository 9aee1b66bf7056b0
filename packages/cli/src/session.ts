import { type ClusterConnection, type ClusterOptions, connectCluster } from '@tikv/cluster';
import { InvalidArgumentError } from '@tikv/common';
import { ApiVersion, KeyMode } from '@tikv/keyspace';
import { MockCluster, RegionKeyEncoding } from '@tikv/mock-cluster';
import { PdClient } from '@tikv/pd';
import { RawClient } from '@tikv/raw';
import { TransactionClient } from '@tikv/txn';
import type { GlobalOptions } from './global-options.js';

type Closer = () => Promise<void>;

/**
 * The connections of one command: the embedded cluster (started on first use with `--embedded`)
 * and the clients the command asked for, all closed by {@link Session.close}.
 */
export class Session {
  readonly #options: GlobalOptions;
  readonly #closers: Closer[] = [];
  #embedded: Promise<MockCluster> | undefined;

  /** @param options - the global options */
  constructor(options: GlobalOptions) {
    this.#options = options;
  }

  /** The global options. */
  get options(): GlobalOptions {
    return this.#options;
  }

  /** Per-call options of every operation: the `--timeout-ms` bound. */
  get call(): { readonly timeoutMs: number } {
    return { timeoutMs: this.#options.timeoutMs };
  }

  /**
   * Where the cluster is, for a client of a key mode: with `--embedded`, a mock cluster started
   * now (API V1 serves region keys raw to a raw client and memcomparable-encoded to a
   * transactional one, so the mode picks the encoding).
   */
  async target(mode: KeyMode): Promise<ClusterOptions> {
    const o = this.#options;
    let pdEndpoints = o.pdEndpoints;
    if (o.embedded) {
      this.#embedded ??= this.#startEmbedded(mode);
      pdEndpoints = (await this.#embedded).pdEndpoints;
    } else if (pdEndpoints.length === 0) {
      throw new InvalidArgumentError(
        'no PD endpoints: pass --pd host:port, set TIKV_PD_ENDPOINTS, or use --embedded',
      );
    }
    return {
      pdEndpoints: [...pdEndpoints],
      apiVersion: o.apiVersion,
      ...(o.keyspace === undefined ? {} : { keyspace: o.keyspace }),
      ...(o.tls === undefined ? {} : { tls: o.tls }),
    };
  }

  async #startEmbedded(mode: KeyMode): Promise<MockCluster> {
    const o = this.#options;
    const cluster = await MockCluster.start({
      apiVersion: o.apiVersion,
      regionKeyEncoding:
        o.apiVersion === ApiVersion.V1 && mode === KeyMode.RAW
          ? RegionKeyEncoding.Raw
          : RegionKeyEncoding.Memcomparable,
      ...(o.keyspace === undefined ? {} : { keyspaces: [{ name: o.keyspace }] }),
    });
    this.#closers.push(() => cluster.close());
    return cluster;
  }

  /** A raw client. */
  async raw(): Promise<RawClient> {
    const client = await RawClient.connect(await this.target(KeyMode.RAW), this.call);
    this.#closers.push(() => client.close());
    return client;
  }

  /** A transactional client. */
  async txn(): Promise<TransactionClient> {
    const client = await TransactionClient.connect(await this.target(KeyMode.TXN), this.call);
    this.#closers.push(() => client.close());
    return client;
  }

  /** A PD client without a key codec (timestamps, stores, GC states, keyspaces). */
  async pd(): Promise<PdClient> {
    const t = await this.target(KeyMode.RAW);
    const pd = await PdClient.connect({ endpoints: t.pdEndpoints, tls: t.tls }, this.call);
    this.#closers.push(() => pd.close());
    return pd;
  }

  /** The wired pieces of a client of a key mode: PD with the key codec, region cache, sender. */
  async cluster(mode: KeyMode): Promise<ClusterConnection> {
    const conn = await connectCluster({ ...(await this.target(mode)), keyMode: mode }, this.call);
    this.#closers.push(() => conn.close());
    return conn;
  }

  /** Closes every client, then the embedded cluster. */
  async close(): Promise<void> {
    const closers = this.#closers.splice(0).reverse();
    for (const c of closers) await c().catch(() => {});
  }
}
