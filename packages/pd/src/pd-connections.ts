import { ChannelCredentials } from '@grpc/grpc-js';
import { keyspacepb, pdpb } from '@tikv/proto';
import { type Channel, type Client, createChannel, createClient } from 'nice-grpc';
import type { PdTlsOptions } from './pd-client-options.js';

/** A nice-grpc client of the PD service. @internal */
export type PdRpcClient = Client<typeof pdpb.PDDefinition>;
/** A nice-grpc client of PD's keyspace service. @internal */
export type KeyspaceRpcClient = Client<typeof keyspacepb.KeyspaceDefinition>;

function pem(v: Uint8Array | string | undefined): Buffer | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
}

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

  constructor(tls: PdTlsOptions | undefined) {
    this.credentials =
      tls === undefined
        ? undefined
        : ChannelCredentials.createSsl(pem(tls.caPem), pem(tls.keyPem), pem(tls.certPem));
  }

  /** The PD client of `url`. */
  get(url: string): PdRpcClient {
    let e = this.entries.get(url);
    if (e === undefined) {
      const channel = createChannel(url, this.credentials, {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 3_000,
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
