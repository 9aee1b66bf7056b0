import { tsopb } from '@tikv/proto';
import { encodedBidiMethod, type OpenBidiCall } from './grpc-bidi-call.js';
import { OrderedBidiStream } from './ordered-bidi-stream.js';
import { encodeTsoRequest, tsoRequestPrefix } from './tso-request-encoding.js';
import { calleeIdOf, errorFromTsoHeader } from './tso-service-errors.js';
import type { TsoResult, TsoStream } from './tso-stream.js';

/** The TSO microservice's `tsopb.TSO/Tso` method, its requests encoded by the stream. @internal */
export const TSO_SERVICE_TSO_METHOD = encodedBidiMethod(tsopb.TSODefinition, tsopb.TSODefinition.methods.tso);

/** Opens the `tsopb.TSO/Tso` bidirectional call (requests are encoded `tsopb.TsoRequest`s). @internal */
export type OpenTsoServiceCall = OpenBidiCall<Buffer, tsopb.TsoResponse>;

/** What the request headers of a {@link GrpcTsoServiceStream} carry. @internal */
export interface TsoServiceRoute {
  readonly clusterId: bigint;
  /** The keyspace the timestamps are for. */
  readonly keyspaceId: number;
  /** The keyspace group, read at each request (it changes when the keyspace moves). */
  readonly keyspaceGroupId: () => number;
  /** Told the group each response was served by. */
  readonly onServedBy?: ((groupId: number) => void) | undefined;
}

/**
 * A {@link TsoStream} over the TSO microservice's `Tso` call (PD's `tsoTSOStreamAdapter`):
 * every request names the cluster, the keyspace, its keyspace group and the server it is meant
 * for (`callee_id`, the URL's `host:port`). A response carrying a header error, or from another
 * cluster, breaks the stream.
 *
 * @internal
 */
export class GrpcTsoServiceStream implements TsoStream {
  readonly #inner: OrderedBidiStream<Buffer, tsopb.TsoResponse>;
  readonly #route: TsoServiceRoute;
  readonly #calleeId: string;
  /** The encoded request up to its count, for the keyspace group `#prefixGroup`. */
  #prefix: Uint8Array | undefined;
  #prefixGroup = -1;
  readonly #toResult = (resp: tsopb.TsoResponse): TsoResult => {
    const ts = resp.timestamp;
    if (ts === undefined) throw new Error(`TSO response from ${this.url} has no timestamp`);
    this.#route.onServedBy?.(resp.header?.keyspaceGroupId ?? 0);
    return { physical: ts.physical, logical: ts.logical, count: resp.count };
  };

  constructor(
    readonly url: string,
    open: OpenTsoServiceCall,
    route: TsoServiceRoute,
  ) {
    this.#route = route;
    this.#calleeId = calleeIdOf(url);
    this.#inner = new OrderedBidiStream(url, open, (resp) =>
      errorFromTsoHeader(resp.header, route.clusterId),
    );
  }

  get broken(): boolean {
    return this.#inner.broken;
  }

  request(count: number): Promise<TsoResult> {
    return this.#inner
      .request(encodeTsoRequest(this.#prefixFor(this.#route.keyspaceGroupId()), count))
      .then(this.#toResult);
  }

  /** The request prefix naming `group`; re-encoded only when the keyspace group changes. */
  #prefixFor(group: number): Uint8Array {
    if (this.#prefix !== undefined && group === this.#prefixGroup) return this.#prefix;
    const r = this.#route;
    const header: tsopb.RequestHeader = {
      clusterId: r.clusterId,
      senderId: 0n,
      keyspace: { $case: 'keyspaceId', value: r.keyspaceId },
      keyspaceGroupId: group,
      calleeId: this.#calleeId,
    };
    this.#prefix = tsoRequestPrefix(tsopb.RequestHeader.encode(header).finish());
    this.#prefixGroup = group;
    return this.#prefix;
  }

  close(reason?: unknown): void {
    this.#inner.close(reason);
  }
}
