import { type Client, status as GrpcStatus, Metadata, type ServiceError } from '@grpc/grpc-js';
import { type Clock, DeadlineExceededError, PendingRequest, TiKVError } from '@tikv/common';
import { tikvpb } from '@tikv/proto';
import { FORWARD_METADATA_KEY } from './grpc-batch-stream.js';
import { MessageTooLargeError, requestEncodingError, rpcErrorFrom } from './rpc-error.js';
import { type TikvCommand, type TikvRequest, type TikvResponse, unaryMethodOf } from './tikv-commands.js';

/** What this module needs of a generated message type. */
interface MessageCodec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

type MethodKey = NonNullable<ReturnType<typeof unaryMethodOf>>;

/** The path and codecs of one unary `tikvpb.Tikv` method. @internal */
export interface UnaryMethod {
  readonly path: string;
  readonly request: MessageCodec;
  readonly response: MessageCodec;
}

const methods = new Map<MethodKey, UnaryMethod>();

function methodOf(command: TikvCommand): UnaryMethod {
  const key = unaryMethodOf(command);
  if (key === undefined) {
    throw new TiKVError(
      'NOT_SUPPORTED',
      `${command} can only be sent on a BatchCommands stream (batching is disabled)`,
    );
  }
  let m = methods.get(key);
  if (m === undefined) {
    const def = tikvpb.TikvDefinition.methods[key];
    m = {
      path: `/${tikvpb.TikvDefinition.fullName}/${def.name}`,
      request: def.requestType as unknown as MessageCodec,
      response: def.responseType as unknown as MessageCodec,
    };
    methods.set(key, m);
  }
  return m;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const identity = (b: Buffer): Buffer => b;

/** What a unary call needs of its store's connections (a `StoreConnectionPool`). */
export interface UnaryCallPool {
  /** The store's `host:port`, for errors. */
  readonly address: string;
  /** The transport's clock: measures each call's `timeoutMs`. */
  readonly clock: Clock;
  /** The next connection's gRPC client. */
  unaryClient(): Pick<Client, 'makeUnaryRequest'>;
  /** Registers an in-flight call; closing the pool rejects it. */
  addUnaryCall(call: PendingUnaryCall): void;
  /** Unregisters a settled call. */
  removeUnaryCall(call: PendingUnaryCall): void;
}

/** How one unary call is sent: the caller's signal, its timeout and the forwarding target. */
export interface UnaryCallOptions {
  /** Aborts the call; it then rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** The call's own timeout in milliseconds (NaN, negative or undefined: none). */
  readonly timeoutMs?: number | undefined;
  /** Another store the target forwards the request to; '' or undefined when direct. */
  readonly forwardedHost?: string | undefined;
}

/**
 * One unary call in flight: a {@link PendingRequest} settled by the store's answer, the
 * caller's abort, its timeout on the transport's clock, or the pool closing. Whatever ends it
 * before the answer also cancels the gRPC call and unregisters it from the pool.
 */
export class PendingUnaryCall extends PendingRequest<TikvResponse> {
  readonly #pool: UnaryCallPool;
  readonly #command: TikvCommand;
  /** The gRPC call while it runs; undefined before it starts and once it has ended. */
  #call: { cancel(): void } | undefined;

  /**
   * @param pool - the store's connections
   * @param command - the command's `$case`
   * @param options - the caller's signal and timeout
   */
  constructor(pool: UnaryCallPool, command: TikvCommand, options: UnaryCallOptions) {
    const timeoutMs = options.timeoutMs;
    super(pool.clock, options.signal, timeoutMs !== undefined && timeoutMs >= 0 ? timeoutMs : undefined);
    this.#pool = pool;
    this.#command = command;
  }

  /**
   * Starts the gRPC call (nothing happens when the request is already settled: an aborted
   * signal).
   *
   * @param method - the method's path and codecs
   * @param bytes - the encoded request
   * @param forwardedHost - '' or the store to forward to
   */
  start(method: UnaryMethod, bytes: Uint8Array, forwardedHost: string): void {
    if (this.settled) return;
    const pool = this.#pool;
    const metadata = new Metadata();
    if (forwardedHost !== '') metadata.set(FORWARD_METADATA_KEY, forwardedHost);
    pool.addUnaryCall(this);
    this.#call = pool.unaryClient().makeUnaryRequest(
      method.path,
      identity,
      (b: Buffer) => method.response.decode(b),
      asBuffer(bytes),
      metadata,
      {},
      (error: ServiceError | null, value?: unknown) => {
        // Ended: nothing to cancel. A call this request gave up on answers CANCELLED, ignored.
        this.#call = undefined;
        pool.removeUnaryCall(this);
        if (error === null) this.resolve({ $case: this.#command, value } as TikvResponse);
        else if (error.code === GrpcStatus.RESOURCE_EXHAUSTED)
          this.reject(tooLarge(pool.address, this.#command, bytes, error));
        else this.reject(rpcErrorFrom(error, pool.address, this.#command, true));
      },
    );
  }

  /** Every failure (the abort, the timeout, the pool closing) cancels the call still running. */
  override reject(reason: unknown): boolean {
    if (!super.reject(reason)) return false;
    const call = this.#call;
    if (call !== undefined) {
      this.#call = undefined;
      this.#pool.removeUnaryCall(this);
      call.cancel();
    }
    return true;
  }

  protected override timeoutError(timeoutMs: number): unknown {
    return new DeadlineExceededError(`${this.#command} request timed out after ${timeoutMs}ms`, {
      timeoutMs,
    });
  }
}

/**
 * Sends one command as a unary `tikvpb.Tikv` call on the pool's next connection. The request
 * is encoded here, before anything is sent (as client-go encodes before it sends): a request
 * that cannot be encoded rejects with an `InvalidArgumentError` and never reaches the store.
 * The call is cancelled when the caller aborts (rejecting with `signal.reason`), when
 * `timeoutMs` passes on the pool's clock (rejecting with a `DeadlineExceededError`) or when
 * the pool closes.
 *
 * @param pool - the store's connections
 * @param request - the command
 * @param options - the caller's signal, the timeout and the forwarding target
 * @returns the response arm
 */
export function sendUnary(
  pool: UnaryCallPool,
  request: TikvRequest,
  options: UnaryCallOptions,
): Promise<TikvResponse> {
  const command = request.$case;
  let method: UnaryMethod;
  let bytes: Uint8Array;
  try {
    method = methodOf(command);
  } catch (e) {
    return Promise.reject(e);
  }
  try {
    bytes = method.request.encode(request.value).finish();
  } catch (e) {
    return Promise.reject(requestEncodingError(command, e));
  }
  return sendEncodedUnary(pool, command, bytes, options);
}

/**
 * Sends a command already encoded as its unary request message (a `BatchCommands` command too
 * large to share a batch goes this way, alone).
 *
 * @param pool - the store's connections
 * @param command - the command's `$case`
 * @param bytes - the encoded request message
 * @param options - the caller's signal, the timeout and the forwarding target
 * @returns the response arm
 * @throws MessageTooLargeError when the request or its response passes a message size limit
 */
export function sendEncodedUnary(
  pool: UnaryCallPool,
  command: TikvCommand,
  bytes: Uint8Array,
  options: UnaryCallOptions,
): Promise<TikvResponse> {
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  let method: UnaryMethod;
  try {
    method = methodOf(command);
  } catch (e) {
    return Promise.reject(e);
  }
  const call = new PendingUnaryCall(pool, command, options);
  call.start(method, bytes, options.forwardedHost ?? '');
  return call.promise;
}

function tooLarge(
  address: string,
  command: string,
  bytes: Uint8Array,
  error: ServiceError,
): MessageTooLargeError {
  return new MessageTooLargeError(
    `${command} request of ${bytes.length} bytes to ${address} was refused as too large, or its response was (RESOURCE_EXHAUSTED): ${error.details}`,
    { address, command, requestSent: true, requestBytes: bytes.length, cause: error },
  );
}
