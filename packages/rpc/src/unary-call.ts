import { DeadlineExceededError, TiKVError } from '@tikv/common';
import { type CallOptions, Metadata } from 'nice-grpc';
import { FORWARD_METADATA_KEY } from './grpc-batch-stream.js';
import { rpcErrorFrom } from './rpc-error.js';
import type { StoreConnectionPool } from './store-connection-pool.js';
import { type TikvRequest, type TikvResponse, unaryMethodOf } from './tikv-commands.js';

type UnaryMethod = (request: unknown, options: CallOptions) => Promise<unknown>;

/**
 * Sends one command as a unary `tikvpb.Tikv` call on the pool's next connection. The call is
 * cancelled when the caller aborts (rejecting with `signal.reason`), when `timeoutMs` passes
 * (rejecting with a `DeadlineExceededError`) or when the pool closes.
 *
 * @param pool - the store's connections
 * @param request - the command
 * @param forwardedHost - '' or the store to forward to
 * @param signal - the caller's signal
 * @param timeoutMs - the timeout in milliseconds (NaN: none)
 * @returns the response arm
 */
export async function sendUnary(
  pool: StoreConnectionPool,
  request: TikvRequest,
  forwardedHost: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<TikvResponse> {
  const command = request.$case;
  const methodKey = unaryMethodOf(command);
  if (methodKey === undefined) {
    throw new TiKVError(
      'NOT_SUPPORTED',
      `${command} can only be sent on a BatchCommands stream (batching is disabled)`,
    );
  }
  if (signal?.aborted) throw signal.reason;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs >= 0
      ? setTimeout(() => {
          controller.abort(
            new DeadlineExceededError(`${command} request timed out after ${timeoutMs}ms`, { timeoutMs }),
          );
        }, timeoutMs)
      : undefined;
  pool.addUnaryCall(controller);
  try {
    const client = pool.unaryClient() as unknown as Record<string, UnaryMethod>;
    const method = client[methodKey] as UnaryMethod;
    const options: CallOptions =
      forwardedHost === ''
        ? { signal: controller.signal }
        : { signal: controller.signal, metadata: Metadata({ [FORWARD_METADATA_KEY]: forwardedHost }) };
    const value = await method(request.value, options);
    return { $case: command, value } as TikvResponse;
  } catch (e) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw rpcErrorFrom(e, pool.address, command, true);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    pool.removeUnaryCall(controller);
  }
}
