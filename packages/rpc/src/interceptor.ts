import type { RequestOptions } from '@tikv/common';
import type { TikvRequest, TikvResponse } from './tikv-commands.js';

/** Options of one {@link KvTransport.send} call. */
export interface SendOptions extends RequestOptions {
  /**
   * Another store's address that the target store forwards this request to (client-go request
   * forwarding, `tikv-forwarded-host` metadata). Omitted: the target store serves it.
   */
  readonly forwardedHost?: string | undefined;
  /** An interceptor for this request only, run inside the client's interceptors. */
  readonly interceptor?: RpcInterceptor | undefined;
}

/**
 * One step of a request's path to a store: the function an interceptor wraps (client-go
 * `RPCInterceptorFunc`). It may change the address, the request or the options, call `next`
 * any number of times, or answer without calling it.
 */
export type RpcCall = (address: string, request: TikvRequest, options: SendOptions) => Promise<TikvResponse>;

/** Code around every request (client-go `interceptor.RPCInterceptor`). */
export interface RpcInterceptor {
  /** Identifies the interceptor; a chain keeps one interceptor per name (the last linked). */
  readonly name: string;
  /**
   * Returns the call that runs in place of `next`.
   * @param next - the rest of the chain
   */
  wrap(next: RpcCall): RpcCall;
}

/**
 * Makes an interceptor from a name and a wrapping function (client-go `NewRPCInterceptor`).
 *
 * @example
 * ```ts
 * const log = rpcInterceptor('log', (next) => async (address, request, options) => {
 *   const started = performance.now();
 *   try { return await next(address, request, options); }
 *   finally { logger.debug('rpc', { address, command: request.$case, ms: performance.now() - started }); }
 * });
 * ```
 * @param name - the interceptor's name
 * @param wrap - builds the call that runs in place of `next`
 * @returns the interceptor
 */
export function rpcInterceptor(name: string, wrap: (next: RpcCall) => RpcCall): RpcInterceptor {
  return Object.freeze({ name, wrap });
}

/** An ordered chain of interceptors, itself an interceptor (client-go `RPCInterceptorChain`). */
export class RpcInterceptorChain implements RpcInterceptor {
  readonly name = 'interceptor-chain';
  readonly #chain: RpcInterceptor[] = [];

  /** How many interceptors the chain holds. */
  get length(): number {
    return this.#chain.length;
  }

  /** The interceptors' names, outermost first. */
  names(): string[] {
    return this.#chain.map((i) => i.name);
  }

  /**
   * Appends an interceptor (a chain is flattened into its members). An interceptor with the
   * same name already in the chain is removed first, so the new one runs innermost.
   *
   * @param interceptor - the interceptor to add
   * @returns this chain
   */
  link(interceptor: RpcInterceptor): this {
    if (interceptor instanceof RpcInterceptorChain) {
      for (const member of interceptor.#chain) this.link(member);
      return this;
    }
    const same = this.#chain.findIndex((i) => i.name === interceptor.name);
    if (same >= 0) this.#chain.splice(same, 1);
    this.#chain.push(interceptor);
    return this;
  }

  /** Wraps `next` so the first linked interceptor runs outermost. */
  wrap(next: RpcCall): RpcCall {
    let call = next;
    for (let i = this.#chain.length - 1; i >= 0; i--) call = (this.#chain[i] as RpcInterceptor).wrap(call);
    return call;
  }
}

/**
 * Chains interceptors into a new chain, first outermost (client-go `ChainRPCInterceptors`).
 *
 * @param interceptors - the interceptors in order
 * @returns a new chain
 */
export function chainInterceptors(...interceptors: readonly RpcInterceptor[]): RpcInterceptorChain {
  const chain = new RpcInterceptorChain();
  for (const i of interceptors) chain.link(i);
  return chain;
}
