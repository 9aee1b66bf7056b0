import { status as GrpcStatus } from '@grpc/grpc-js';
import { InvalidArgumentError, RpcError, type RpcErrorFields } from '@tikv/common';

export { RpcError, type RpcErrorFields };

/**
 * A request, or its response, is larger than a gRPC message size limit (status
 * `RESOURCE_EXHAUSTED` on a request sent alone): the store's receive limit, or this client's
 * `maxReceiveMessageBytes`. Sending it again cannot succeed, so it is not retryable, and it
 * says nothing about the store's health.
 */
export class MessageTooLargeError extends RpcError {
  override name = 'MessageTooLargeError';
  /** The encoded size of the request, in bytes. */
  readonly requestBytes: number;

  /**
   * @param message - what was refused, with gRPC's detail
   * @param fields - the address, command and request size; the gRPC error as cause
   */
  constructor(
    message: string,
    fields: Omit<RpcErrorFields, 'retryable' | 'grpcCode'> & { readonly requestBytes: number },
  ) {
    super(message, { ...fields, grpcCode: GrpcStatus.RESOURCE_EXHAUSTED, retryable: false });
    this.requestBytes = fields.requestBytes;
  }
}

/**
 * The error of a request the transport cannot encode (a field of the wrong type, which
 * protobuf refuses): it fails that request alone, is never retried, and never counts against
 * the store.
 *
 * @param command - the request's `$case`
 * @param error - what the encoder threw
 * @returns an `InvalidArgumentError` with the encoder's error as cause
 */
export function requestEncodingError(command: string, error: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    `${command} request cannot be encoded: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/** The parts of a grpc-js `ServiceError` / nice-grpc `ClientError` this module reads. */
interface StatusLike {
  readonly code?: unknown;
  readonly details?: unknown;
  readonly message?: unknown;
}

/**
 * Converts a gRPC failure into an {@link RpcError}.
 *
 * @param error - the grpc-js or nice-grpc error (or anything thrown)
 * @param address - the store address
 * @param command - the request's command
 * @param requestSent - whether the request may have reached the server
 * @returns the error
 */
export function rpcErrorFrom(
  error: unknown,
  address: string,
  command: string | undefined,
  requestSent: boolean,
): RpcError {
  const s = (typeof error === 'object' && error !== null ? error : {}) as StatusLike;
  const grpcCode = typeof s.code === 'number' ? s.code : undefined;
  const detail =
    typeof s.details === 'string' && s.details !== ''
      ? s.details
      : typeof s.message === 'string'
        ? s.message
        : String(error);
  const status = grpcCode === undefined ? '' : ` (${GrpcStatus[grpcCode] ?? grpcCode})`;
  return new RpcError(`rpc to ${address} failed${status}: ${detail}`, {
    address,
    command,
    grpcCode,
    requestSent,
    cause: error,
  });
}
