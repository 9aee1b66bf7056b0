import { isRetryableError, isTiKVError } from './is-tikv-error.js';
import { TxnTooLargeError } from './size-errors.js';
import { TiKVError } from './tikv-error.js';

describe('TxnTooLargeError', () => {
  test('carries the size it would have reached and the limit, with code TXN_TOO_LARGE, not retryable', () => {
    const e = new TxnTooLargeError(1001, 1000);
    expect(e).toBeInstanceOf(TiKVError);
    expect(e.name).toBe('TxnTooLargeError');
    expect(isTiKVError(e, 'TXN_TOO_LARGE')).toBe(true);
    expect(isRetryableError(e)).toBe(false);
    expect(e.sizeBytes).toBe(1001);
    expect(e.limitBytes).toBe(1000);
    expect(e.message).toBe('transaction of 1001 bytes exceeds the limit of 1000 bytes');
  });
});
