import { DeadlineExceededError, isTiKVError, PdError, RpcError } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { ClientError, Status } from 'nice-grpc';
import { cleanGrpcDetails, errorFromHeader, isStoreNotFound, toPdCallError } from './pd-errors.js';

describe('pd-errors', () => {
  test("cleanGrpcDetails drops grpc-js's connection boilerplate and nothing else", () => {
    expect(
      cleanGrpcDetails(
        'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ',
      ),
    ).toBe('no connection: connect ECONNREFUSED 127.0.0.1:1');
    expect(cleanGrpcDetails('Name resolution failed for target dns:pd.invalid:2379')).toBe(
      'Name resolution failed for target dns:pd.invalid:2379',
    );
    expect(cleanGrpcDetails('not leader')).toBe('not leader');
  });

  test('header errors: only NOT_BOOTSTRAPPED (and a response from another cluster) is retryable', () => {
    const h = (type: pdpb.ErrorType, message = 'm') => ({ clusterId: 7n, error: { type, message } });
    expect(errorFromHeader(h(pdpb.ErrorType.NOT_BOOTSTRAPPED), 7n)?.retryable).toBe(true);
    for (const t of [
      pdpb.ErrorType.UNKNOWN,
      pdpb.ErrorType.REGION_NOT_FOUND,
      pdpb.ErrorType.DATA_COMPACTED,
      pdpb.ErrorType.INVALID_VALUE,
      pdpb.ErrorType.ENTRY_NOT_FOUND,
    ]) {
      expect(errorFromHeader(h(t), 7n)?.retryable).toBe(false);
    }
    expect(errorFromHeader({ clusterId: 8n }, 7n)).toMatchObject({ pdErrorType: 'UNKNOWN', retryable: true });
    expect(errorFromHeader({ clusterId: 7n }, 7n)).toBeUndefined();
  });

  test('toPdCallError: caller abort unchanged, attempt timeout retryable, gRPC UNKNOWN final', () => {
    const caller = new AbortController();
    const attempt = new AbortController();
    const site = { what: 'GetStore', address: 'http://pd-1:2379' };
    const grpc = new ClientError('/pdpb.PD/GetStore', Status.UNKNOWN, 'scatter failed');
    const final = toPdCallError(grpc, { ...site, callerSignal: caller.signal });
    expect(final).toBeInstanceOf(RpcError);
    expect(final).toMatchObject({
      code: 'RPC_ERROR',
      retryable: false,
      address: 'http://pd-1:2379',
      command: 'GetStore',
      grpcCode: Status.UNKNOWN,
    });
    const unavailable = new ClientError('/pdpb.PD/GetStore', Status.UNAVAILABLE, 'not leader');
    const transient = toPdCallError(unavailable, site);
    expect(transient).toBeInstanceOf(RpcError);
    expect(transient).toMatchObject({ retryable: true, message: 'GetStore: UNAVAILABLE not leader' });
    const other = toPdCallError(new Error('socket hang up'), site);
    expect(other).toBeInstanceOf(RpcError);
    expect(other).toMatchObject({
      retryable: true,
      address: 'http://pd-1:2379',
      message: 'GetStore: socket hang up',
    });
    const deadline = new DeadlineExceededError('deadline of 5ms exceeded', { timeoutMs: 5 });
    attempt.abort(deadline);
    const timedOut = toPdCallError(deadline, {
      ...site,
      callerSignal: caller.signal,
      attempt: { signal: attempt.signal, timeoutMs: 5 },
    });
    expect(timedOut).toBeInstanceOf(RpcError);
    expect(timedOut).toMatchObject({
      code: 'RPC_ERROR',
      retryable: true,
      address: 'http://pd-1:2379',
      message: 'GetStore: no answer within 5 ms',
    });
    expect((timedOut as Error).cause).toBe(deadline);
    const typed = new PdError('UNKNOWN', 'refused');
    expect(toPdCallError(typed, site)).toBe(typed);
    const stop = new Error('user stop');
    caller.abort(stop);
    expect(
      toPdCallError(deadline, {
        ...site,
        callerSignal: caller.signal,
        attempt: { signal: attempt.signal, timeoutMs: 5 },
      }),
    ).toBe(stop);
  });

  test('isStoreNotFound reads the message PD gives an unknown store id, and only that', () => {
    expect(isStoreNotFound(new PdError('UNKNOWN', 'invalid store ID 9, not found'))).toBe(true);
    expect(isStoreNotFound(new PdError('UNKNOWN', 'something else'))).toBe(false);
    expect(isStoreNotFound(new PdError('INVALID_VALUE', 'invalid store ID 9, not found'))).toBe(false);
    expect(isStoreNotFound(new Error('invalid store ID 9, not found'))).toBe(false);
    expect(isTiKVError(new PdError('UNKNOWN', 'x'))).toBe(true);
  });
});
