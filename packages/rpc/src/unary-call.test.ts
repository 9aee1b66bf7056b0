import { type Client, status as GrpcStatus, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { DeadlineExceededError, isTiKVError, ManualClock, RpcError } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { FORWARD_METADATA_KEY } from './grpc-batch-stream.js';
import { MessageTooLargeError } from './rpc-error.js';
import type { TikvRequest } from './tikv-commands.js';
import { type PendingUnaryCall, sendEncodedUnary, sendUnary, type UnaryCallPool } from './unary-call.js';

type Callback = (error: ServiceError | null, value?: unknown) => void;

/** One gRPC call the fake client was asked to make, answered by the test. */
interface FakeCall {
  readonly path: string;
  readonly request: Buffer;
  readonly metadata: Metadata;
  readonly callback: Callback;
  cancelled: number;
  decode(bytes: Buffer): unknown;
}

/** A store's connections whose unary client records calls instead of sending them. */
class FakePool implements UnaryCallPool {
  readonly address = '127.0.0.1:20160';
  readonly calls: FakeCall[] = [];
  readonly inFlight = new Set<PendingUnaryCall>();

  constructor(readonly clock: ManualClock) {}

  unaryClient(): Pick<Client, 'makeUnaryRequest'> {
    const make = (
      path: string,
      _serialize: (v: Buffer) => Buffer,
      deserialize: (b: Buffer) => unknown,
      request: Buffer,
      metadata: Metadata,
      _options: object,
      callback: Callback,
    ) => {
      const call: FakeCall = { path, request, metadata, callback, cancelled: 0, decode: deserialize };
      this.calls.push(call);
      // grpc-js answers a cancelled call with CANCELLED, later, like this.
      return {
        cancel: () => {
          call.cancelled++;
          queueMicrotask(() => callback(status(GrpcStatus.CANCELLED, 'Cancelled on client')));
        },
      };
    };
    return { makeUnaryRequest: make } as unknown as Pick<Client, 'makeUnaryRequest'>;
  }

  addUnaryCall(call: PendingUnaryCall): void {
    this.inFlight.add(call);
  }

  removeUnaryCall(call: PendingUnaryCall): void {
    this.inFlight.delete(call);
  }
}

function status(code: GrpcStatus, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: {} as Metadata }) as ServiceError;
}

const request: TikvRequest = {
  $case: 'RawGetKeyTTL',
  value: kvrpcpb.RawGetKeyTTLRequest.fromPartial({ key: Buffer.from('k') }),
};

function setup() {
  const clock = new ManualClock();
  const pool = new FakePool(clock);
  return { clock, pool };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('unary calls', () => {
  test('answers with the response arm of the command, decoded by its method', async () => {
    const { pool } = setup();
    const p = sendUnary(pool, request, { forwardedHost: '127.0.0.1:20161' });
    const call = pool.calls[0] as FakeCall;
    expect(call.path).toBe('/tikvpb.Tikv/RawGetKeyTTL');
    expect(kvrpcpb.RawGetKeyTTLRequest.decode(call.request).key).toEqual(new Uint8Array(Buffer.from('k')));
    expect(call.metadata.get(FORWARD_METADATA_KEY)).toEqual(['127.0.0.1:20161']);
    expect(pool.inFlight.size).toBe(1);
    const bytes = Buffer.from(
      kvrpcpb.RawGetKeyTTLResponse.encode(kvrpcpb.RawGetKeyTTLResponse.fromPartial({ ttl: 9n })).finish(),
    );
    call.callback(null, call.decode(bytes));
    const r = await p;
    expect(r.$case).toBe('RawGetKeyTTL');
    expect((r.value as kvrpcpb.RawGetKeyTTLResponse).ttl).toBe(9n);
    expect(pool.inFlight.size).toBe(0);
    expect(call.cancelled).toBe(0);
  });

  test("its timeout runs on the transport's clock: the call is cancelled and its late answer ignored", async () => {
    const { clock, pool } = setup();
    const p = sendUnary(pool, request, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(clock.pendingForegroundSleeps).toBe(1);
    clock.advance(999);
    await settle();
    expect(pool.calls[0]?.cancelled).toBe(0);
    clock.advance(1);
    const err = await p;
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err).toMatchObject({ timeoutMs: 1000, message: 'RawGetKeyTTL request timed out after 1000ms' });
    expect(pool.calls[0]?.cancelled).toBe(1);
    expect(pool.inFlight.size).toBe(0);
    expect(clock.pendingSleeps).toBe(0);
    await settle(); // the CANCELLED answer arrives and changes nothing
  });

  test('an answer before the timeout clears the timer', async () => {
    const { clock, pool } = setup();
    const p = sendUnary(pool, request, { timeoutMs: 1000 });
    pool.calls[0]?.callback(null, kvrpcpb.RawGetKeyTTLResponse.fromPartial({}));
    await p;
    expect(clock.pendingSleeps).toBe(0);
  });

  test('no timeout (undefined, NaN or negative) sets no timer', async () => {
    const { clock, pool } = setup();
    const ps = [undefined, Number.NaN, -1].map((timeoutMs) => sendUnary(pool, request, { timeoutMs }));
    expect(clock.pendingSleeps).toBe(0);
    for (const c of pool.calls) c.callback(null, kvrpcpb.RawGetKeyTTLResponse.fromPartial({}));
    await Promise.all(ps);
  });

  test("the caller's abort rejects with its reason unchanged and cancels the call", async () => {
    const { clock, pool } = setup();
    const ac = new AbortController();
    const p = sendUnary(pool, request, { signal: ac.signal, timeoutMs: 1000 }).catch((e: unknown) => e);
    const reason = new Error('caller gave up');
    ac.abort(reason);
    expect(await p).toBe(reason);
    expect(pool.calls[0]?.cancelled).toBe(1);
    expect(pool.inFlight.size).toBe(0);
    expect(clock.pendingSleeps).toBe(0);
  });

  test('an already aborted signal sends nothing', async () => {
    const { pool } = setup();
    const ac = new AbortController();
    ac.abort('stop');
    await expect(sendUnary(pool, request, { signal: ac.signal })).rejects.toBe('stop');
    await expect(
      sendEncodedUnary(pool, 'RawGetKeyTTL', new Uint8Array(0), { signal: ac.signal }),
    ).rejects.toBe('stop');
    expect(pool.calls).toHaveLength(0);
  });

  test('the pool closing rejects the call with its error and cancels it', async () => {
    const { pool } = setup();
    const p = sendUnary(pool, request, {}).catch((e: unknown) => e);
    const closed = new Error('pool closed');
    for (const c of [...pool.inFlight]) c.reject(closed);
    expect(await p).toBe(closed);
    expect(pool.calls[0]?.cancelled).toBe(1);
    expect(pool.inFlight.size).toBe(0);
  });

  test('a gRPC failure is an RpcError with its status; RESOURCE_EXHAUSTED is MessageTooLargeError', async () => {
    const { pool } = setup();
    const down = sendUnary(pool, request, {}).catch((e: unknown) => e);
    pool.calls[0]?.callback(status(GrpcStatus.UNAVAILABLE, 'connection refused'));
    const err = await down;
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({
      address: pool.address,
      command: 'RawGetKeyTTL',
      grpcCode: GrpcStatus.UNAVAILABLE,
      requestSent: true,
      retryable: true,
    });
    const big = sendEncodedUnary(pool, 'RawGetKeyTTL', new Uint8Array(7), {}).catch((e: unknown) => e);
    pool.calls[1]?.callback(status(GrpcStatus.RESOURCE_EXHAUSTED, 'message larger than max'));
    const tooLarge = await big;
    expect(tooLarge).toBeInstanceOf(MessageTooLargeError);
    expect(tooLarge).toMatchObject({ requestBytes: 7, requestSent: true, retryable: false });
    expect(pool.inFlight.size).toBe(0);
  });

  test('a command without a unary method, or that cannot be encoded, is refused before sending', async () => {
    const { pool } = setup();
    const empty = { $case: 'Empty', value: { testId: 1n, delayTime: 0n } } as unknown as TikvRequest;
    expect(isTiKVError(await sendUnary(pool, empty, {}).catch((e: unknown) => e), 'NOT_SUPPORTED')).toBe(
      true,
    );
    const bad = {
      $case: 'RawGetKeyTTL',
      value: { ...kvrpcpb.RawGetKeyTTLRequest.fromPartial({}), key: 5 },
    } as unknown as TikvRequest;
    expect(isTiKVError(await sendUnary(pool, bad, {}).catch((e: unknown) => e), 'INVALID_ARGUMENT')).toBe(
      true,
    );
    expect(pool.calls).toHaveLength(0);
  });
});
