import { ChannelCredentials } from '@grpc/grpc-js';
import { pemBytes, type TlsOptions } from '@tikv/common';
import { keyspacepb, pdpb } from '@tikv/proto';
import { type Channel, type Client, createChannel, createClient } from 'nice-grpc';

/** A nice-grpc client of the PD service. @internal */
export type PdRpcClient = Client<typeof pdpb.PDDefinition>;
/** A nice-grpc client of PD's keyspace service. @internal */
export type KeyspaceRpcClient = Client<typeof keyspacepb.KeyspaceDefinition>;

/**
 * One gRPC channel and PD client per member URL, created on first use.
 *
 * @internal
 */
export class PdConnections {
  private readonly entries = new Map<
    string,
    { channel: Channel; client: PdRpcClient; keyspace?: KeyspaceRpcClient }
  >();
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
    let e = this.entries.get(url);
    if (e === undefined) {
      const channel = createChannel(url, this.credentials, {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 3_000,
        ...(this.serverNameOverride === undefined
          ? {}
          : { 'grpc.ssl_target_name_override': this.serverNameOverride }),
      });
      e = { channel, client: createClient(pdpb.PDDefinition, channel) };
      this.entries.set(url, e);
    }
    return e.client;
  }

  /** The keyspace service client of `url`, on the same channel as its PD client. */
  keyspace(url: string): KeyspaceRpcClient {
    this.get(url);
    const e = this.entries.get(url)!;
    e.keyspace ??= createClient(keyspacepb.KeyspaceDefinition, e.channel);
    return e.keyspace;
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

  /** Closes every channel. */
  close(): void {
    for (const e of this.entries.values()) e.channel.close();
    this.entries.clear();
  }
}
