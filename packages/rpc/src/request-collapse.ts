import { type Clock, raceSignal, systemClock, withOperationScope } from '@tikv/common';
import type { SendOptions } from './interceptor.js';
import type { KvTransport } from './kv-transport.js';
import { READ_TIMEOUT_SHORT_MS } from './replica.js';
import type { ResponseFor, TikvRequest, TikvResponse } from './tikv-commands.js';

/** Options of a {@link CollapsingTransport}. */
export interface CollapsingTransportOptions {
  /** The clock the callers' timeouts run on. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /**
   * Timeout of the one call the collapsed requests share, in milliseconds; it does not follow any
   * caller's signal or timeout. @defaultValue 30_000 (client-go `ReadTimeoutShort`)
   */
  readonly sharedTimeoutMs?: number | undefined;
}

/**
 * The key under which concurrent requests are collapsed into one call, or undefined when the
 * request is never collapsed (client-go `reqCollapse`): a `ResolveLock` of a whole region (no
 * keys, no transaction list), keyed by region, start version and async-commit flag.
 *
 * @param request - the command
 * @returns the key, or undefined
 */
export function collapseKey(request: TikvRequest): string | undefined {
  if (request.$case !== 'ResolveLock') return undefined;
  const r = request.value;
  if (r.keys.length > 0 || r.txnInfos.length > 0) return undefined;
  return `${r.context?.regionId ?? 0n}-${r.startVersion}-${r.isAsync}`;
}

/**
 * A {@link KvTransport} that sends concurrent identical region-wide `ResolveLock` requests once
 * and hands every caller the same response (client-go `reqCollapse`): many readers meeting the
 * locks of one transaction in one region cost one resolve. Every other request goes straight to
 * the inner transport.
 *
 * The shared call runs with its own timeout (`sharedTimeoutMs`), not bound to any caller: a
 * caller whose signal aborts or whose `timeoutMs` passes stops waiting alone, and the others
 * keep the call.
 */
export class CollapsingTransport implements KvTransport {
  readonly #inflight = new Map<string, Promise<TikvResponse>>();
  readonly #clock: Clock;
  readonly #sharedTimeoutMs: number;

  /**
   * @param inner - the transport that talks to the stores
   * @param options - the clock and the shared call's timeout
   */
  constructor(
    private readonly inner: KvTransport,
    options: CollapsingTransportOptions = {},
  ) {
    this.#clock = options.clock ?? systemClock;
    this.#sharedTimeoutMs = options.sharedTimeoutMs ?? READ_TIMEOUT_SHORT_MS;
  }

  /** Requests collapsed calls are waiting on now. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * Sends a request; a region-wide `ResolveLock` joins an identical one in flight.
   * @throws what `inner.send` throws (every collapsed caller gets the shared call's error);
   *   `signal.reason` on abort; a `DeadlineExceededError` past `timeoutMs`
   */
  async send<R extends TikvRequest>(
    address: string,
    request: R,
    options?: SendOptions,
  ): Promise<ResponseFor<R>> {
    const key = collapseKey(request);
    if (key === undefined) return this.inner.send(address, request, options);
    let shared = this.#inflight.get(key);
    if (shared === undefined) {
      const call: Promise<TikvResponse> = this.inner.send(address, request, {
        timeoutMs: this.#sharedTimeoutMs,
        ...(options?.forwardedHost === undefined ? {} : { forwardedHost: options.forwardedHost }),
        ...(options?.interceptor === undefined ? {} : { interceptor: options.interceptor }),
      });
      shared = call;
      this.#inflight.set(key, call);
      const forget = (): void => {
        if (this.#inflight.get(key) === call) this.#inflight.delete(key);
      };
      call.then(forget, forget);
    }
    const wait = shared;
    return withOperationScope(
      { signal: options?.signal, timeoutMs: options?.timeoutMs },
      { clock: this.#clock },
      (scope) => raceSignal(wait, scope.signal),
    ) as Promise<ResponseFor<R>>;
  }

  /** Closes the connections to one store. */
  closeAddress(address: string): Promise<void> {
    return this.inner.closeAddress(address);
  }

  /** Closes the inner transport. */
  close(): Promise<void> {
    return this.inner.close();
  }
}
