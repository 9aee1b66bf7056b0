import { pdpb } from '@tikv/proto';
import { OrderedBidiStream } from './ordered-bidi-stream.js';
import { errorFromHeader } from './pd-errors.js';
import type { TsoResult, TsoStream } from './tso-stream.js';

/** Opens the `Tso` bidirectional call. @internal */
export type OpenTsoCall = (
  requests: AsyncIterable<pdpb.TsoRequest>,
  signal: AbortSignal,
) => AsyncIterable<pdpb.TsoResponse>;

/**
 * A {@link TsoStream} over PD's `Tso` bidirectional gRPC call. Responses from another
 * cluster or carrying a header error break the stream.
 *
 * @internal
 */
export class GrpcTsoStream implements TsoStream {
  private readonly inner: OrderedBidiStream<pdpb.TsoRequest, pdpb.TsoResponse>;

  constructor(
    readonly url: string,
    open: OpenTsoCall,
    private readonly header: pdpb.RequestHeader,
  ) {
    this.inner = new OrderedBidiStream(url, open, (resp) => errorFromHeader(resp.header, header.clusterId));
  }

  get broken(): boolean {
    return this.inner.broken;
  }

  async request(count: number): Promise<TsoResult> {
    const resp = await this.inner.request(pdpb.TsoRequest.fromPartial({ header: this.header, count }));
    const ts = resp.timestamp;
    if (ts === undefined) throw new Error(`TSO response from ${this.url} has no timestamp`);
    return { physical: ts.physical, logical: ts.logical, count: resp.count };
  }

  close(reason?: unknown): void {
    this.inner.close(reason);
  }
}
