import { isRetryableError, isTiKVError } from './is-tikv-error.js';
import { PdUnreachableError } from './pd-unreachable-error.js';

describe('PdUnreachableError', () => {
  test('carries its code, the endpoints tried and the last cause', () => {
    const last = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const endpoints = ['http://127.0.0.1:1', 'http://127.0.0.1:2'];
    const e = new PdUnreachableError('no PD reachable', { endpoints, cause: last });
    endpoints.push('http://changed-later:3');
    expect(isTiKVError(e, 'PD_UNREACHABLE')).toBe(true);
    expect(e.name).toBe('PdUnreachableError');
    expect(e.endpoints).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    expect(Object.isFrozen(e.endpoints)).toBe(true);
    expect(e.cause).toBe(last);
    expect(isRetryableError(e)).toBe(true);
    expect('cause' in new PdUnreachableError('silent', { endpoints: [] })).toBe(false);
  });
});
