/**
 * What a scenario sees of one target: its keys, named timestamps, the calls it makes and what
 * it observes. Every answer is recorded under a label; the two targets' records are compared
 * label by label after both ran the scenario.
 */
import type { kvrpcpb, tikvpb } from '@tikv/proto';
import { ClientError, Status } from 'nice-grpc';
import { type Route, type Target, V2_TXN_PREFIX } from './target.js';

type AnyUnary = (req: never, options?: never) => Promise<unknown>;
/** The unary methods of `tikvpb.Tikv`. */
export type UnaryMethod = {
  [K in keyof tikvpb.TikvClient]: tikvpb.TikvClient[K] extends AnyUnary ? K : never;
}[keyof tikvpb.TikvClient];
/** The request a unary method takes. */
export type RequestOf<M extends UnaryMethod> = Parameters<tikvpb.TikvClient[M]>[0];
/** The response a unary method answers. */
export type ResponseOf<M extends UnaryMethod> = Awaited<ReturnType<tikvpb.TikvClient[M]>>;

/** Options of one call. */
export interface CallOptions {
  /** The key whose region the request goes to; by default the request's first key. */
  readonly routeKey?: Uint8Array;
  /** Context fields that override the routed ones (a stale epoch, an isolation level, ...). */
  readonly context?: kvrpcpb.DeepPartial<kvrpcpb.Context>;
  /** Record the answer under the label; false for set-up calls whose answer is not compared. */
  readonly record?: boolean;
  /** The call's deadline. @defaultValue 60 000 */
  readonly timeoutMs?: number;
}

/** One recorded answer or observation. */
export interface Step {
  readonly label: string;
  readonly value: unknown;
}

/** A gRPC failure of a call; it ends the scenario on that target. */
export class CallFailed extends Error {
  override name = 'CallFailed';
}

const enc = new TextEncoder();
const DEFAULT_CALL_TIMEOUT_MS = 60_000;

function firstKeyOf(req: unknown): Uint8Array | undefined {
  if (typeof req !== 'object' || req === null) return undefined;
  const r = req as Record<string, unknown>;
  for (const f of ['key', 'primaryKey', 'primaryLock', 'startKey']) {
    const v = r[f];
    if (v instanceof Uint8Array && v.length > 0) return v;
  }
  for (const f of ['keys', 'mutations', 'splitKeys']) {
    const v = r[f];
    if (!Array.isArray(v) || v.length === 0) continue;
    const first: unknown = v[0];
    if (first instanceof Uint8Array) return first;
    const k = (first as { key?: unknown }).key;
    if (k instanceof Uint8Array) return k;
  }
  return undefined;
}

/** One scenario on one target. */
export class Session {
  readonly target: Target;
  /** Every key of the scenario starts with this (with the API V2 prefix in V2). */
  readonly keyPrefix: Uint8Array;
  readonly steps: Step[] = [];
  /** Timestamps by name, in the order they were named. */
  readonly timestamps = new Map<string, bigint>();
  #failure: string | undefined;

  constructor(target: Target, runPrefix: string, scenario: string) {
    this.target = target;
    const own = enc.encode(`${runPrefix}/${scenario}/`);
    this.keyPrefix = target.mode === 'v2' ? new Uint8Array([...V2_TXN_PREFIX, ...own]) : new Uint8Array(own);
  }

  /** The scenario's key `name`. */
  key(name: string): Uint8Array {
    return new Uint8Array([...this.keyPrefix, ...enc.encode(name)]);
  }

  /**
   * A fresh TSO timestamp, named for the report. One more is fetched and dropped after it: PD
   * hands out consecutive timestamps, and a server-computed `ts + 1` (a min_commit_ts) must
   * not be the next named one on one side only.
   */
  async ts(name: string): Promise<bigint> {
    const ts = await this.target.tso();
    this.name(name, ts);
    await this.target.tso();
    return ts;
  }

  /**
   * A TSO timestamp whose physical part is at least `ms` after `base`'s: for TTL expiry. The
   * clock has to really pass it: TiKV raises max_ts to the current_ts a request carries, and a
   * max_ts ahead of PD's TSO is fatal there (its default `max-ts.action-on-invalid-update` panics).
   */
  async tsAfter(name: string, base: bigint, ms: number): Promise<bigint> {
    const want = (base >> 18n) + BigInt(ms);
    for (;;) {
      const ts = await this.target.tso();
      if (ts >> 18n >= want) return this.name(name, ts);
      // Waits for physical time to pass, not for an event.
      await new Promise((r) => setTimeout(r, Math.min(20, Number(want - (ts >> 18n)))));
    }
  }

  /** Names a timestamp the scenario derived (so answers that carry it show the name). */
  name(name: string, ts: bigint): bigint {
    if (this.timestamps.has(name)) throw new Error(`timestamp ${name} named twice`);
    this.timestamps.set(name, ts);
    return ts;
  }

  /** Where a request for `key` goes now. */
  route(key: Uint8Array): Promise<Route> {
    return this.target.route(key);
  }

  /** Sends one request with a routed `Context`, records the answer under `label`, returns it. */
  async call<M extends UnaryMethod>(
    label: string,
    method: M,
    req: RequestOf<M>,
    options: CallOptions = {},
  ): Promise<ResponseOf<M>> {
    const key = options.routeKey ?? firstKeyOf(req) ?? this.keyPrefix;
    const { kv, context } = await this.route(key);
    const request = { ...(req as object), context: { ...context, ...options.context } };
    const fn = kv[method] as (r: unknown, o: { signal: AbortSignal }) => Promise<ResponseOf<M>>;
    try {
      const resp = await fn.call(kv, request, {
        signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS),
      });
      if (options.record !== false) this.record(label, resp);
      return resp;
    } catch (e) {
      const what = e instanceof ClientError ? `gRPC ${Status[e.code]}: ${e.details}` : `failed: ${String(e)}`;
      this.record(label, { callFailed: e instanceof ClientError ? Status[e.code] : 'error' });
      throw new CallFailed(`${label} (${method}) ${what}`);
    }
  }

  /** Records an observation (a relationship, a derived value) under `label`. */
  record(label: string, value: unknown): void {
    if (this.steps.some((s) => s.label === label)) throw new Error(`label ${label} recorded twice`);
    this.steps.push({ label, value });
  }

  /** Records why the scenario stopped early on this target. */
  fail(reason: string): void {
    this.#failure = reason;
  }

  /** Why the scenario stopped early, if it did. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Waits until at least `n` pessimistic lock requests wait on this scenario's keys. */
  async waitForWaiters(n: number, timeoutMs = 30_000): Promise<kvrpcpb.GetLockWaitInfoResponse> {
    const deadline = Date.now() + timeoutMs;
    const own = (e: { key: Uint8Array }) =>
      e.key.length >= this.keyPrefix.length && this.keyPrefix.every((b, i) => e.key[i] === b);
    for (;;) {
      const info = await this.call('GetLockWaitInfo', 'getLockWaitInfo', {}, { record: false });
      const entries = info.entries.filter(own);
      if (entries.length >= n) return { ...info, entries };
      if (Date.now() > deadline) throw new Error(`no ${n} lock waiters after ${timeoutMs} ms`);
      // Polls the server's wait table: the waiter registers on the server, not here.
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
