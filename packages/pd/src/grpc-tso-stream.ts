import { pdpb } from '@tikv/proto';
import { encodedBidiMethod, type OpenBidiCall } from './grpc-bidi-call.js';
import { OrderedBidiStream } from './ordered-bidi-stream.js';
import { errorFromHeader } from './pd-errors.js';
import { encodeTsoRequest, tsoRequestPrefix } from './tso-request-encoding.js';
import type { TsoResult, TsoStream } from './tso-stream.js';

/** PD's `Tso` method, its requests encoded by the stream. @internal */
export const PD_TSO_METHOD = encodedBidiMethod(pdpb.PDDefinition, pdpb.PDDefinition.methods.tso);

/** Opens the `Tso` bidirectional call (requests are encoded `pdpb.TsoRequest`s). @internal */
export type OpenTsoCall = OpenBidiCall<Buffer, pdpb.TsoResponse>;

/**
 * A {@link TsoStream} over PD's `Tso` bidirectional gRPC call. Responses from another
 * cluster or carrying a header error break the stream.
 *
 * @internal
 */
export class GrpcTsoStream implements TsoStream {
  readonly #inner: OrderedBidiStream<Buffer, pdpb.TsoResponse>;
  /** The encoded request up to its count: the header is the same for every request. */
  readonly #prefix: Uint8Array;
  readonly #toResult = (resp: pdpb.TsoResponse): TsoResult => {
    const ts = resp.timestamp;
    if (ts === undefined) throw new Error(`TSO response from ${this.url} has no timestamp`);
    return { physical: ts.physical, logical: ts.logical, count: resp.count };
  };

  constructor(
    readonly url: string,
    open: OpenTsoCall,
    header: pdpb.RequestHeader,
  ) {
    this.#prefix = tsoRequestPrefix(pdpb.RequestHeader.encode(header).finish());
    this.#inner = new OrderedBidiStream(url, open, (resp) => errorFromHeader(resp.header, header.clusterId));
  }

  get broken(): boolean {
    return this.#inner.broken;
  }

  request(count: number): Promise<TsoResult> {
    return this.#inner.request(encodeTsoRequest(this.#prefix, count)).then(this.#toResult);
  }

  close(reason?: unknown): void {
    this.#inner.close(reason);
  }
}
