import { DeadlineExceededError, isTiKVError, PdError } from '@tikv/common';
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
    const grpc = new ClientError('/pdpb.PD/GetStore', Status.UNKNOWN, 'scatter failed');
    expect(toPdCallError(grpc, 'GetStore', caller.signal)).toMatchObject({
      code: 'RPC_ERROR',
      retryable: false,
    });
    const unavailable = new ClientError('/pdpb.PD/GetStore', Status.UNAVAILABLE, 'not leader');
    expect(toPdCallError(unavailable, 'GetStore')).toMatchObject({
      retryable: true,
      message: 'GetStore: UNAVAILABLE not leader',
    });
    const deadline = new DeadlineExceededError('deadline of 5ms exceeded', { timeoutMs: 5 });
    attempt.abort(deadline);
    const timedOut = toPdCallError(deadline, 'GetStore', caller.signal, {
      signal: attempt.signal,
      timeoutMs: 5,
    });
    expect(timedOut).toMatchObject({
      code: 'RPC_ERROR',
      retryable: true,
      message: 'GetStore: no answer within 5 ms',
    });
    expect((timedOut as Error).cause).toBe(deadline);
    const stop = new Error('user stop');
    caller.abort(stop);
    expect(toPdCallError(deadline, 'GetStore', caller.signal, { signal: attempt.signal, timeoutMs: 5 })).toBe(
      stop,
    );
  });

  test('isStoreNotFound reads the message PD gives an unknown store id, and only that', () => {
    expect(isStoreNotFound(new PdError('UNKNOWN', 'invalid store ID 9, not found'))).toBe(true);
    expect(isStoreNotFound(new PdError('UNKNOWN', 'something else'))).toBe(false);
    expect(isStoreNotFound(new PdError('INVALID_VALUE', 'invalid store ID 9, not found'))).toBe(false);
    expect(isStoreNotFound(new Error('invalid store ID 9, not found'))).toBe(false);
    expect(isTiKVError(new PdError('UNKNOWN', 'x'))).toBe(true);
  });
});
