import { type Metadata, status } from '@grpc/grpc-js';

/** gRPC status codes (re-exported from `@grpc/grpc-js`). */
export const GrpcStatus = status;

/** A failure a handler answers with: the call ends with this gRPC status code and details. */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: status,
    readonly details: string,
  ) {
    super(details);
  }
}

/** Per-call context handed to handlers. */
export interface RpcContext {
  /** Aborted when the client cancels the call or the server stops. */
  readonly signal: AbortSignal;
  /** The call's request metadata (gRPC headers); absent when a handler is called directly. */
  readonly metadata?: Metadata;
}

const UNIMPLEMENTED_HANDLERS = new WeakSet<object>();

/** A handler (unary or streaming) that answers UNIMPLEMENTED. */
export function unimplemented(name: string, streaming: boolean): unknown {
  const error = (): RpcError =>
    new RpcError(status.UNIMPLEMENTED, `${name} is not supported by the mock cluster`);
  const h = streaming
    ? // A stream that fails before yielding anything.
      (): AsyncIterable<never> => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error()) }),
      })
    : () => {
        throw error();
      };
  UNIMPLEMENTED_HANDLERS.add(h);
  return h;
}

/** Whether a handler is one {@link unimplemented} made. */
export function isUnimplementedHandler(h: unknown): boolean {
  return typeof h === 'function' && UNIMPLEMENTED_HANDLERS.has(h);
}
