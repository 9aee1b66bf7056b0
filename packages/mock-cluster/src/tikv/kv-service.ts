import { AsyncQueue } from '@tikv/common';
import { type errorpb, type kvrpcpb, tikvpb } from '@tikv/proto';
import type { InjectedError } from '../faults/fault-types.js';
import { abortableDelay } from '../server/delay.js';
import type { ServiceHandlers } from '../server/grpc-host.js';
import { GrpcStatus, type RpcContext, RpcError, unimplemented } from '../server/rpc-error.js';
import { AdminCommands, adminCommandEntries } from './admin-commands.js';
import { HealthFeedbackAttacher, HealthFeedbackSequence } from './health-feedback.js';
import { buildInjectedRegionError, injectedKeyError } from './injected-errors.js';
import type { KvDeps } from './kv-deps.js';
import { RawCommands } from './raw-commands.js';
import { TXN_BATCH_METHODS, txnCommandEntries } from './txn-responses.js';

type RequestCmd = NonNullable<tikvpb.BatchCommandsRequest_Request['cmd']>;
type ResponseCmd = NonNullable<tikvpb.BatchCommandsResponse_Response['cmd']>;
/** A complete response message of some command. */
type AnyResponse = object;

/** The part of a ts-proto response codec that completes a fault's `{ regionError }`. */
interface ResponseCodec {
  fromPartial(object: { regionError: errorpb.Error }): unknown;
}

/** What a store's KV service needs to know about the store serving it. */
export interface StoreRuntime {
  readonly storeId: bigint;
  /** Current injected latency of the store. */
  delayMs(): number;
  /** Current raftstore slow score the store reports in health feedback. */
  slowScore(): number;
  /** Aborted when the store stops or the cluster closes; cancels pending delays. */
  readonly lifetime: AbortSignal;
}

/** One command's handler: request in, response out (synchronously; delays are added around it). */
interface CommandEntry {
  /** The unary gRPC method name, used to match faults. */
  readonly method: string;
  readonly responseType: ResponseCodec;
  readonly run: (req: never) => AnyResponse;
}

function contextOf(req: unknown): kvrpcpb.Context | undefined {
  return (req as { context?: kvrpcpb.Context }).context;
}

/**
 * The `tikvpb.Tikv` service of one store. Each supported command has exactly one handler, used
 * both by its unary method and by BatchCommands; commands without a handler answer UNIMPLEMENTED.
 */
export class KvService {
  readonly #deps: KvDeps;
  readonly #store: StoreRuntime;
  readonly #commands: Map<string, CommandEntry>;
  readonly #feedback: HealthFeedbackSequence;

  constructor(deps: KvDeps, store: StoreRuntime) {
    this.#deps = deps;
    this.#store = store;
    this.#feedback = new HealthFeedbackSequence(store);
    const raw = new RawCommands(deps, store.storeId);
    const entries: [string, (req: never) => AnyResponse][] = [
      ['RawGet', (r: kvrpcpb.RawGetRequest) => raw.rawGet(r)],
      ['RawBatchGet', (r: kvrpcpb.RawBatchGetRequest) => raw.rawBatchGet(r)],
      ['RawPut', (r: kvrpcpb.RawPutRequest) => raw.rawPut(r)],
      ['RawBatchPut', (r: kvrpcpb.RawBatchPutRequest) => raw.rawBatchPut(r)],
      ['RawDelete', (r: kvrpcpb.RawDeleteRequest) => raw.rawDelete(r)],
      ['RawBatchDelete', (r: kvrpcpb.RawBatchDeleteRequest) => raw.rawBatchDelete(r)],
      ['RawScan', (r: kvrpcpb.RawScanRequest) => raw.rawScan(r)],
      ['RawBatchScan', (r: kvrpcpb.RawBatchScanRequest) => raw.rawBatchScan(r)],
      ['RawDeleteRange', (r: kvrpcpb.RawDeleteRangeRequest) => raw.rawDeleteRange(r)],
      ['RawGetKeyTTL', (r: kvrpcpb.RawGetKeyTTLRequest) => raw.rawGetKeyTtl(r)],
      ['RawCompareAndSwap', (r: kvrpcpb.RawCASRequest) => raw.rawCompareAndSwap(r)],
      ['RawChecksum', (r: kvrpcpb.RawChecksumRequest) => raw.rawChecksum(r)],
      ['GetHealthFeedback', () => ({ regionError: undefined, healthFeedback: this.#feedback.next() })],
    ];
    if (deps.txn !== undefined) entries.push(...txnCommandEntries(deps, deps.txn, store.storeId));
    entries.push(...adminCommandEntries(new AdminCommands(deps, store.storeId)));
    const responseTypes = new Map(
      Object.values(tikvpb.TikvDefinition.methods).map((m): [string, ResponseCodec] => [
        m.name,
        m.responseType as ResponseCodec,
      ]),
    );
    this.#commands = new Map(
      entries.map(([method, run]) => {
        const responseType = responseTypes.get(method);
        if (responseType === undefined) throw new Error(`no Tikv method ${method}`);
        return [method, { method, responseType, run }];
      }),
    );
  }

  /** Consults the fault registry; a region error becomes the response, a status is thrown. */
  #fault(entry: CommandEntry, req: unknown): AnyResponse | undefined {
    const { method } = entry;
    const ctx = contextOf(req);
    const injected: InjectedError | undefined = this.#deps.faults.take({
      method,
      storeId: this.#store.storeId,
      regionId: ctx?.regionId,
    });
    if (injected === undefined) return undefined;
    if (typeof injected === 'object' && 'grpcStatus' in injected) {
      throw new RpcError(injected.grpcStatus, injected.message ?? `injected fault on ${method}`);
    }
    if (typeof injected === 'object' && 'keyError' in injected)
      return injectedKeyError(entry.responseType, injected.keyError);
    const regionError = buildInjectedRegionError(injected, this.#deps, this.#store.storeId, ctx);
    return entry.responseType.fromPartial({ regionError }) as AnyResponse;
  }

  /**
   * Executes one command: faults first, then the store's delay, then the handler. Returns the
   * response synchronously when there is no delay, so BatchCommands pays no promise per request.
   */
  execute(method: string, req: unknown): AnyResponse | Promise<AnyResponse> {
    const entry = this.#commands.get(method);
    if (entry === undefined) {
      throw new RpcError(GrpcStatus.UNIMPLEMENTED, `${method} is not supported by the mock cluster`);
    }
    const faulted = this.#fault(entry, req);
    const delay = this.#store.delayMs();
    if (delay > 0) {
      return abortableDelay(delay, this.#store.lifetime).then(() => faulted ?? entry.run(req as never));
    }
    return faulted ?? entry.run(req as never);
  }

  /** Whether a command has a handler. */
  supports(method: string): boolean {
    return this.#commands.has(method);
  }

  /** Answers one BatchCommands request arm; `Empty` echoes after its delay. */
  #executeBatchItem(cmd: RequestCmd | undefined): ResponseCmd | Promise<ResponseCmd> {
    if (cmd === undefined) throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'batch request without a command');
    if (cmd.$case === 'Empty') {
      const { testId, delayTime } = cmd.value;
      const reply: ResponseCmd = { $case: 'Empty', value: { testId } };
      if (delayTime === 0n) return reply;
      return abortableDelay(Number(delayTime), this.#store.lifetime).then(() => reply);
    }
    const r = this.execute(TXN_BATCH_METHODS[cmd.$case] ?? cmd.$case, cmd.value);
    if (r instanceof Promise) return r.then((value) => ({ $case: cmd.$case, value }) as ResponseCmd);
    return { $case: cmd.$case, value: r } as ResponseCmd;
  }

  /**
   * The BatchCommands stream: every request of every incoming message runs independently and
   * completes in any order; completions are gathered into response messages that carry the
   * matching `request_ids`. A failing stream (a gRPC fault, an oversized message) fails only
   * the requests still in flight on it.
   */
  async *batchCommands(
    requests: AsyncIterable<tikvpb.BatchCommandsRequest>,
    context: RpcContext,
  ): AsyncIterable<tikvpb.BatchCommandsResponse> {
    const out = new AsyncQueue<tikvpb.BatchCommandsResponse>();
    const feedback = new HealthFeedbackAttacher(this.#feedback);
    const ids: bigint[] = [];
    const responses: tikvpb.BatchCommandsResponse_Response[] = [];
    let inflight = 0;
    let inputDone = false;
    let flushQueued = false;
    const flush = (): void => {
      flushQueued = false;
      if (ids.length > 0) {
        const batch = responses.splice(0);
        out.push({
          requestIds: ids.splice(0),
          responses: batch,
          transportLayerLoad: 0n,
          healthFeedback: feedback.attach(batch),
          tikvSendTimeNs: 0n,
        });
      }
      if (inputDone && inflight === 0) out.end();
    };
    const queueFlush = (): void => {
      if (flushQueued) return;
      flushQueued = true;
      queueMicrotask(flush);
    };
    const complete = (id: bigint, cmd: ResponseCmd): void => {
      inflight--;
      ids.push(id);
      responses.push({ cmd });
      queueFlush();
    };
    const pump = async (): Promise<void> => {
      for await (const msg of requests) {
        if (msg.requests.length > this.#deps.limits.maxBatchCommands) {
          throw new RpcError(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `batch of ${msg.requests.length} commands exceeds the limit of ${this.#deps.limits.maxBatchCommands}`,
          );
        }
        if (msg.requests.length !== msg.requestIds.length) {
          throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'requests and request_ids differ in length');
        }
        for (let i = 0; i < msg.requests.length; i++) {
          const id = msg.requestIds[i] as bigint;
          inflight++;
          const r = this.#executeBatchItem(msg.requests[i]?.cmd);
          if (r instanceof Promise)
            r.then(
              (cmd) => complete(id, cmd),
              (e: unknown) => out.fail(e),
            );
          else complete(id, r);
        }
      }
      inputDone = true;
      queueFlush();
    };
    pump().catch((e: unknown) => {
      if (context.signal.aborted) out.end();
      else out.fail(e);
    });
    yield* out;
  }
}

/** The gRPC metadata key naming the store a request is forwarded to (TiKV `forward_unary!`). */
export const FORWARD_METADATA_KEY = 'tikv-forwarded-host';

/**
 * Finds the KV service of the store at an address, for forwarding; undefined when no store
 * that is up listens there (the proxy then answers UNAVAILABLE, as TiKV's failed forward does).
 */
export type ForwardTarget = (address: string) => KvService | undefined;

function forwardedHostOf(ctx: RpcContext | undefined): string {
  const v = ctx?.metadata?.get(FORWARD_METADATA_KEY)[0];
  return typeof v === 'string' ? v : v === undefined ? '' : v.toString();
}

/**
 * Handlers for every `tikvpb.Tikv` method of one store; UNIMPLEMENTED where unsupported. A call
 * carrying `tikv-forwarded-host` is proxied to that store, the whole call (a BatchCommands stream
 * too), as TiKV's `forward_unary!` / `forward_duplex!` do.
 */
export function createTikvHandlers(service: KvService, forward?: ForwardTarget): ServiceHandlers {
  const impl: Record<string, unknown> = {};
  const route = (ctx: RpcContext | undefined): KvService => {
    const host = forwardedHostOf(ctx);
    if (host === '') return service;
    const target = forward?.(host);
    if (target === undefined)
      throw new RpcError(GrpcStatus.UNAVAILABLE, `failed to forward the request to ${host}`);
    return target;
  };
  for (const [key, def] of Object.entries(tikvpb.TikvDefinition.methods)) {
    if (key === 'batchCommands') {
      impl[key] = (requests: AsyncIterable<tikvpb.BatchCommandsRequest>, ctx: RpcContext) =>
        route(ctx).batchCommands(requests, ctx);
    } else if (!def.requestStream && !def.responseStream && service.supports(def.name)) {
      impl[key] = (req: unknown, ctx: RpcContext) => route(ctx).execute(def.name, req);
    } else {
      impl[key] = unimplemented(def.name, def.responseStream);
    }
  }
  return impl as ServiceHandlers;
}
