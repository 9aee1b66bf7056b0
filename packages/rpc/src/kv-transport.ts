import type { SendOptions } from './interceptor.js';
import type { ResponseFor, TikvRequest } from './tikv-commands.js';

/**
 * Sends one TiKV command to one store address: what the region request sender needs from the
 * transport. {@link RpcClient} implements it; a test can pass any object of this shape.
 */
export interface KvTransport {
  /**
   * Sends a command and resolves with the response arm of the same `$case`. Region errors and
   * key errors come back inside the response; only transport failures reject.
   *
   * @param address - the store's `host:port`
   * @param request - the command, e.g. `{ $case: 'RawGet', value: kvrpcpb.RawGetRequest }`
   * @param options - `signal` (rejects with `signal.reason`), `timeoutMs` (this request only;
   *   rejects with a `DeadlineExceededError`), `forwardedHost`, a per-request `interceptor`
   * @throws RpcError (code `RPC_ERROR`, usually retryable) when the store cannot be reached or
   *   the stream carrying the request breaks
   * @throws ClientClosedError after `close()`
   */
  send<R extends TikvRequest>(address: string, request: R, options?: SendOptions): Promise<ResponseFor<R>>;
  /**
   * Closes the connections to one store; the next request reconnects (client-go `CloseAddr`).
   * Requests outstanding on them fail with a retryable `RpcError`.
   */
  closeAddress(address: string): Promise<void>;
  /** Fails every outstanding request with `ClientClosedError` and closes every connection. */
  close(): Promise<void>;
}
