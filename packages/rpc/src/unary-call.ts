import { status as GrpcStatus, Metadata, type ServiceError } from '@grpc/grpc-js';
import { DeadlineExceededError, offAbort, onAbort, TiKVError } from '@tikv/common';
import { tikvpb } from '@tikv/proto';
import { FORWARD_METADATA_KEY } from './grpc-batch-stream.js';
import { MessageTooLargeError, requestEncodingError, rpcErrorFrom } from './rpc-error.js';
import type { StoreConnectionPool } from './store-connection-pool.js';
import { type TikvCommand, type TikvRequest, type TikvResponse, unaryMethodOf } from './tikv-commands.js';

/** What this module needs of a generated message type. */
interface MessageCodec {
  encode(message: unknown): { finish(): Uint8Array };
  decode(input: Uint8Array): unknown;
}

type MethodKey = NonNullable<ReturnType<typeof unaryMethodOf>>;

/** The path and codecs of one unary `tikvpb.Tikv` method. */
interface UnaryMethod {
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

/**
 * Sends one command as a unary `tikvpb.Tikv` call on the pool's next connection. The request
 * is encoded here, before anything is sent (as client-go encodes before it sends): a request
 * that cannot be encoded rejects with an `InvalidArgumentError` and never reaches the store.
 * The call is cancelled when the caller aborts (rejecting with `signal.reason`), when
 * `timeoutMs` passes (rejecting with a `DeadlineExceededError`) or when the pool closes.
 *
 * @param pool - the store's connections
 * @param request - the command
 * @param forwardedHost - '' or the store to forward to
 * @param signal - the caller's signal
 * @param timeoutMs - the timeout in milliseconds (NaN: none)
 * @returns the response arm
 */
export function sendUnary(
  pool: StoreConnectionPool,
  request: TikvRequest,
  forwardedHost: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
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
  return sendEncodedUnary(pool, command, bytes, forwardedHost, signal, timeoutMs);
}

/**
 * Sends a command already encoded as its unary request message (a `BatchCommands` command too
 * large to share a batch goes this way, alone).
 *
 * @param pool - the store's connections
 * @param command - the command's `$case`
 * @param bytes - the encoded request message
 * @param forwardedHost - '' or the store to forward to
 * @param signal - the caller's signal
 * @param timeoutMs - the timeout in milliseconds (NaN: none)
 * @returns the response arm
 * @throws MessageTooLargeError when the request or its response passes a message size limit
 */
export function sendEncodedUnary(
  pool: StoreConnectionPool,
  command: TikvCommand,
  bytes: Uint8Array,
  forwardedHost: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<TikvResponse> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  let method: UnaryMethod;
  try {
    method = methodOf(command);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<TikvResponse>((resolve, reject) => {
    const controller = new AbortController();
    const metadata = new Metadata();
    if (forwardedHost !== '') metadata.set(FORWARD_METADATA_KEY, forwardedHost);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== undefined) offAbort(signal, stop);
      pool.removeUnaryCall(controller);
    };
    const call = pool.unaryClient().makeUnaryRequest(
      method.path,
      identity,
      (b: Buffer) => method.response.decode(b),
      asBuffer(bytes),
      metadata,
      {},
      (error: ServiceError | null, value?: unknown) => {
        end();
        if (controller.signal.aborted) reject(controller.signal.reason);
        else if (error === null) resolve({ $case: command, value } as TikvResponse);
        else if (error.code === GrpcStatus.RESOURCE_EXHAUSTED)
          reject(tooLarge(pool.address, command, bytes, error));
        else reject(rpcErrorFrom(error, pool.address, command, true));
      },
    );
    // A user's abort, our timeout and the pool closing (which aborts the controller) all stop
    // the call the same way.
    controller.signal.addEventListener('abort', () => call.cancel(), { once: true });
    const stop = (reason: unknown): void => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    if (signal !== undefined) onAbort(signal, stop);
    if (timeoutMs >= 0) {
      timer = setTimeout(() => {
        stop(new DeadlineExceededError(`${command} request timed out after ${timeoutMs}ms`, { timeoutMs }));
      }, timeoutMs);
    }
    pool.addUnaryCall(controller);
  });
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
