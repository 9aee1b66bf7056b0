import { tsopb } from '@tikv/proto';
import { OrderedBidiStream } from './ordered-bidi-stream.js';
import { calleeIdOf, errorFromTsoHeader } from './tso-service-errors.js';
import type { TsoResult, TsoStream } from './tso-stream.js';

/** Opens the `tsopb.TSO/Tso` bidirectional call. @internal */
export type OpenTsoServiceCall = (
  requests: AsyncIterable<tsopb.TsoRequest>,
  signal: AbortSignal,
) => AsyncIterable<tsopb.TsoResponse>;

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
  readonly #inner: OrderedBidiStream<tsopb.TsoRequest, tsopb.TsoResponse>;
  readonly #route: TsoServiceRoute;
  readonly #calleeId: string;

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

  async request(count: number): Promise<TsoResult> {
    const r = this.#route;
    const resp = await this.#inner.request(
      tsopb.TsoRequest.fromPartial({
        header: {
          clusterId: r.clusterId,
          keyspace: { $case: 'keyspaceId', value: r.keyspaceId },
          keyspaceGroupId: r.keyspaceGroupId(),
          calleeId: this.#calleeId,
        },
        count,
      }),
    );
    const ts = resp.timestamp;
    if (ts === undefined) throw new Error(`TSO response from ${this.url} has no timestamp`);
    r.onServedBy?.(resp.header?.keyspaceGroupId ?? 0);
    return { physical: ts.physical, logical: ts.logical, count: resp.count };
  }

  close(reason?: unknown): void {
    this.#inner.close(reason);
  }
}
