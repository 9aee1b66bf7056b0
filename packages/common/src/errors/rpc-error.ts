import { TiKVError } from './tikv-error.js';

/**
 * gRPC status codes after which the same request cannot succeed by simply sending it again:
 * INVALID_ARGUMENT (3), PERMISSION_DENIED (7), UNIMPLEMENTED (12), UNAUTHENTICATED (16). The
 * numbers are gRPC's, fixed by its wire protocol; `@tikv/common` does not depend on grpc-js.
 */
const NOT_RETRYABLE_STATUS: ReadonlySet<number> = new Set([3, 7, 12, 16]);

/** Fields of an {@link RpcError}. */
export interface RpcErrorFields extends ErrorOptions {
  /** The address the request was sent to (a store, or a PD member). */
  readonly address: string;
  /** The command (`$case`) or method of the request. */
  readonly command?: string | undefined;
  /** The gRPC status code, when the failure came with one. */
  readonly grpcCode?: number | undefined;
  /**
   * Whether the request may have reached the server (it was written to a stream or a unary
   * call was started). A write that failed with `requestSent` may have been applied.
   */
  readonly requestSent: boolean;
  /** Overrides the retryable flag derived from `grpcCode`. */
  readonly retryable?: boolean;
}

/**
 * A transport failure talking to TiKV or PD: a gRPC status, a broken `BatchCommands` stream, a
 * connection that could not be made. Code `RPC_ERROR`; retryable unless the status says the
 * request itself is wrong (`INVALID_ARGUMENT`, `UNIMPLEMENTED`, `UNAUTHENTICATED`,
 * `PERMISSION_DENIED`). `@tikv/rpc` raises it for the stores, and any package talking gRPC may.
 */
export class RpcError extends TiKVError {
  override name = 'RpcError';
  declare readonly code: 'RPC_ERROR';
  /** The address. */
  readonly address: string;
  /** The command (`$case`) or method of the failed request, when known. */
  readonly command: string | undefined;
  /** The gRPC status code, when there is one. */
  readonly grpcCode: number | undefined;
  /** Whether the request may have reached the server. */
  readonly requestSent: boolean;

  /**
   * @param message - what failed, with the server's detail
   * @param fields - address, command, status, whether the request was sent, cause
   */
  constructor(message: string, fields: RpcErrorFields) {
    const retryable =
      fields.retryable ?? (fields.grpcCode === undefined || !NOT_RETRYABLE_STATUS.has(fields.grpcCode));
    super('RPC_ERROR', message, { retryable, ...('cause' in fields ? { cause: fields.cause } : {}) });
    this.address = fields.address;
    this.command = fields.command;
    this.grpcCode = fields.grpcCode;
    this.requestSent = fields.requestSent;
  }
}
