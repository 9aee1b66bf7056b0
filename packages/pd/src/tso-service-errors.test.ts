import { PdError, RpcError } from '@tikv/common';
import { tsopb } from '@tikv/proto';
import { calleeIdOf, errorFromTsoHeader, isCalleeMismatch, isTsoLeaderChange } from './tso-service-errors.js';

describe('TSO microservice errors', () => {
  test('header errors map to retryable PdErrors; another cluster is an error; OK is none', () => {
    const h = (type: tsopb.ErrorType, clusterId = 7n) =>
      tsopb.ResponseHeader.fromPartial({ clusterId, error: { type, message: 'm' } });
    expect(errorFromTsoHeader(undefined, 7n)).toBeUndefined();
    expect(errorFromTsoHeader(h(tsopb.ErrorType.OK), 7n)).toBeUndefined();
    const e = errorFromTsoHeader(h(tsopb.ErrorType.INVALID_VALUE), 7n);
    expect(e).toBeInstanceOf(PdError);
    expect(e?.pdErrorType).toBe('INVALID_VALUE');
    expect(e?.retryable).toBe(true);
    expect(errorFromTsoHeader(h(tsopb.ErrorType.CLUSTER_MISMATCHED), 7n)?.pdErrorType).toBe('UNKNOWN');
    expect(errorFromTsoHeader(h(tsopb.ErrorType.NOT_BOOTSTRAPPED), 7n)?.pdErrorType).toBe('NOT_BOOTSTRAPPED');
    expect(errorFromTsoHeader(tsopb.ResponseHeader.fromPartial({ clusterId: 8n }), 7n)?.message).toContain(
      'cluster id mismatch',
    );
  });

  test('leader changes and callee mismatches are read from the messages of the error and its causes (PD IsLeaderChange)', () => {
    const wrap = (m: string) =>
      new RpcError('TSO stream failed', {
        address: 'a',
        requestSent: true,
        retryable: true,
        cause: new Error(m),
      });
    for (const m of [
      'no leader',
      'requested pd is not leader of cluster',
      'keyspace group 1 is not served',
      'x is not primary',
    ])
      expect(isTsoLeaderChange(wrap(m))).toBe(true);
    expect(isTsoLeaderChange(wrap('connection reset'))).toBe(false);
    expect(isTsoLeaderChange('not primary')).toBe(true);
    expect(isCalleeMismatch(wrap('mismatch callee id, need a but got b'))).toBe(true);
    expect(isCalleeMismatch(undefined)).toBe(false);
  });

  test('the callee id is the host:port of the URL (PD GetCalleeID)', () => {
    expect(calleeIdOf('http://127.0.0.1:3379')).toBe('127.0.0.1:3379');
    expect(calleeIdOf('https://tso-0.svc:2379')).toBe('tso-0.svc:2379');
    expect(calleeIdOf('127.0.0.1:3379')).toBe('127.0.0.1:3379');
    expect(calleeIdOf('tso:3379')).toBe('tso:3379');
    expect(calleeIdOf('not a url')).toBe('');
  });
});
