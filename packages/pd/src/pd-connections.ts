import { ChannelCredentials, Client as GrpcClient } from '@grpc/grpc-js';
import { pemBytes, type TlsOptions } from '@tikv/common';
import { keyspacepb, meta_storagepb, pdpb } from '@tikv/proto';
import {
  type Channel,
  type Client,
  type CompatServiceDefinition,
  createChannel,
  createClient,
} from 'nice-grpc';
import { type BidiCall, type BidiCallHandlers, type BidiMethod, openGrpcBidiCall } from './grpc-bidi-call.js';

/** A nice-grpc client of the PD service. @internal */
export type PdRpcClient = Client<typeof pdpb.PDDefinition>;
/** A nice-grpc client of PD's keyspace service. @internal */
export type KeyspaceRpcClient = Client<typeof keyspacepb.KeyspaceDefinition>;
/** A nice-grpc client of PD's meta storage service. @internal */
export type MetaStorageRpcClient = Client<typeof meta_storagepb.MetaStorageDefinition>;

/** One member's channel and the clients over it. */
interface Entry {
  readonly channel: Channel;
  readonly client: PdRpcClient;
  readonly services: Map<object, unknown>;
  /** A bare grpc-js client for the streams, created on first use. */
  grpc: GrpcClient | undefined;
}

/**
 * One gRPC channel and PD client per member URL, created on first use. Unary calls go through
 * nice-grpc clients; the long-lived streams (TSO, `QueryRegion`, token buckets) through grpc-js
 * directly on the same channel ({@link PdConnections.openBidiCall}).
 *
 * @internal
 */
export class PdConnections {
  private readonly entries = new Map<string, Entry>();
  private readonly credentials: ChannelCredentials | undefined;
  private readonly serverNameOverride: string | undefined;

  constructor(tls: TlsOptions | undefined) {
    this.credentials =
      tls === undefined
        ? undefined
        : ChannelCredentials.createSsl(pemBytes(tls.caPem), pemBytes(tls.keyPem), pemBytes(tls.certPem));
    this.serverNameOverride = tls?.serverNameOverride;
  }

  /** The PD client of `url`. */
  get(url: string): PdRpcClient {
    return this.entry(url).client;
  }

  /**
   * Opens a bidirectional-streaming call of `method` to `url` over grpc-js (any service PD or a
   * TSO server serves there), on the same channel as the unary clients.
   *
   * @param url - the server URL
   * @param method - the method and its codecs
   * @param handlers - receives the responses and the end of the call
   * @param metadata - request headers, if any
   */
  openBidiCall<Req, Resp>(
    url: string,
    method: BidiMethod<Req, Resp>,
    handlers: BidiCallHandlers<Resp>,
    metadata?: Readonly<Record<string, string>>,
  ): BidiCall<Req> {
    const e = this.entry(url);
    e.grpc ??= new GrpcClient(url, this.credentials ?? ChannelCredentials.createInsecure(), {
      channelOverride: e.channel,
    });
    return openGrpcBidiCall(e.grpc, method, metadata, handlers);
  }

  private entry(url: string): Entry {
    let e = this.entries.get(url);
    if (e === undefined) {
      const channel = createChannel(url, this.credentials, {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 3_000,
        ...(this.serverNameOverride === undefined
          ? {}
          : { 'grpc.ssl_target_name_override': this.serverNameOverride }),
      });
      e = { channel, client: createClient(pdpb.PDDefinition, channel), services: new Map(), grpc: undefined };
      this.entries.set(url, e);
    }
    return e;
  }

  /** The keyspace service client of `url`, on the same channel as its PD client. */
  keyspace(url: string): KeyspaceRpcClient {
    return this.service(url, keyspacepb.KeyspaceDefinition);
  }

  /** The meta storage service client of `url`, on the same channel as its PD client. */
  metaStorage(url: string): MetaStorageRpcClient {
    return this.service(url, meta_storagepb.MetaStorageDefinition);
  }

  /** The client of another service `def` that PD serves at `url`, on the same channel. */
  service<D extends CompatServiceDefinition>(url: string, def: D): Client<D> {
    const e = this.entry(url);
    let c = e.services.get(def) as Client<D> | undefined;
    if (c === undefined) {
      c = createClient(def, e.channel);
      e.services.set(def, c);
    }
    return c;
  }

  /** Closes the channels of URLs no longer in `keep`. */
  retain(keep: readonly string[]): void {
    const set = new Set(keep);
    for (const [url, e] of this.entries) {
      if (!set.has(url)) {
        e.channel.close();
        this.entries.delete(url);
      }
    }
  }

  /** Closes the channel of `url`; the next use opens a new one. */
  drop(url: string): void {
    const e = this.entries.get(url);
    if (e === undefined) return;
    e.channel.close();
    this.entries.delete(url);
  }

  /** Closes every channel. */
  close(): void {
    for (const e of this.entries.values()) e.channel.close();
    this.entries.clear();
  }
}
