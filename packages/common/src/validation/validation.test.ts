import { InvalidArgumentError } from '../errors/client-errors.js';
import { isTiKVError } from '../errors/is-tikv-error.js';
import { EntryTooLargeError, KeyTooLargeError } from '../errors/size-errors.js';
import {
  checkArray,
  checkBytes,
  checkObject,
  checkOptionalBoolean,
  checkOptionalBytes,
  checkOptionalNonNegativeInteger,
  checkOptionalString,
  checkOptionsObject,
  checkRequestOptions,
} from './argument-checks.js';
import { describeValue } from './describe-value.js';
import {
  checkBoundKey,
  checkForwardRange,
  checkKey,
  checkKeys,
  checkPairs,
  checkReverseRange,
  checkValue,
  uniqueKeys,
} from './key-checks.js';
import { MAX_ENTRY_SIZE_BYTES, MAX_KEY_SIZE_BYTES } from './tikv-limits.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Asserts that `fn` throws an InvalidArgumentError with exactly this message. */
function expectInvalid(fn: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect(isTiKVError(thrown, 'INVALID_ARGUMENT')).toBe(true);
  expect((thrown as Error).message).toBe(message);
  expect((thrown as InvalidArgumentError).retryable).toBe(false);
}

describe('describeValue', () => {
  test.each([
    [undefined, 'undefined'],
    [null, 'null'],
    [5, 'number 5'],
    [Number.NaN, 'number NaN'],
    [-1, 'number -1'],
    [true, 'boolean true'],
    [5n, 'bigint 5n'],
    ['secret key', 'string of length 10'],
    [[1, 2, 3], 'array of length 3'],
    [new Uint8Array(4), 'Uint8Array of 4 bytes'],
    [new Uint16Array(2), 'Uint16Array of 4 bytes'],
    [{}, 'object'],
    [Object.create(null), 'object'],
    [new AbortController(), 'AbortController object'],
    [Symbol('s'), 'symbol'],
    [function named() {}, 'function named'],
    [() => {}, 'function'],
  ])('%p is described as %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });
});

describe('argument checks', () => {
  test('checkBytes takes bytes as they are and strings as UTF-8', () => {
    const u = b('k');
    expect(checkBytes(u, 'key')).toBe(u);
    expect(checkBytes('é', 'key')).toEqual(Uint8Array.of(0xc3, 0xa9));
    expect(checkBytes(Buffer.from('x'), 'key')).toEqual(b('x'));
    expectInvalid(() => checkBytes(5, 'key'), 'key must be a Uint8Array or a string, got number 5');
    expectInvalid(() => checkBytes(null, 'key'), 'key must be a Uint8Array or a string, got null');
    expectInvalid(() => checkBytes(undefined, 'key'), 'key must be a Uint8Array or a string, got undefined');
    expectInvalid(
      () => checkBytes([1], 'key'),
      'key must be a Uint8Array or a string, got array of length 1',
    );
  });

  test('checkOptionalBytes allows undefined but never takes null for absent', () => {
    expect(checkOptionalBytes(undefined, 'expected')).toBeUndefined();
    expect(checkOptionalBytes('', 'expected')).toEqual(new Uint8Array(0));
    expectInvalid(
      () => checkOptionalBytes(5, 'expected'),
      'expected must be a Uint8Array, string or undefined, got number 5',
    );
    expectInvalid(
      () => checkOptionalBytes(null, 'expected'),
      'expected must be a Uint8Array, string or undefined, got null',
    );
  });

  test('checkArray refuses strings and array-likes', () => {
    const a = [1];
    expect(checkArray(a, 'keys')).toBe(a);
    expectInvalid(() => checkArray('ab', 'keys'), 'keys must be an array, got string of length 2');
    expectInvalid(() => checkArray(null, 'pairs'), 'pairs must be an array, got null');
    expectInvalid(() => checkArray(new Set([1]), 'keys'), 'keys must be an array, got Set object');
  });

  test('checkObject and checkOptionsObject', () => {
    const o = {};
    expect(checkObject(o, 'x')).toBe(o);
    expectInvalid(() => checkObject(null, 'pairs[0]'), 'pairs[0] must be an object, got null');
    expectInvalid(() => checkObject([], 'x'), 'x must be an object, got array of length 0');
    expect(checkOptionsObject(undefined)).toBeUndefined();
    expect(checkOptionsObject(o)).toBe(o);
    expectInvalid(
      () => checkOptionsObject(null as unknown as object),
      'options must be an object or undefined, got null',
    );
    expectInvalid(
      () => checkOptionsObject(1000 as unknown as object, 'call'),
      'call must be an object or undefined, got number 1000',
    );
  });

  test('optional scalars', () => {
    expect(checkOptionalBoolean(undefined, 'o.keyOnly')).toBeUndefined();
    expect(checkOptionalBoolean(false, 'o.keyOnly')).toBe(false);
    expectInvalid(
      () => checkOptionalBoolean('yes', 'o.keyOnly'),
      'o.keyOnly must be a boolean or undefined, got string of length 3',
    );
    expect(checkOptionalString('default', 'cf')).toBe('default');
    expectInvalid(() => checkOptionalString(1, 'cf'), 'cf must be a string or undefined, got number 1');
    expect(checkOptionalNonNegativeInteger(0, 'limit')).toBe(0);
    expect(checkOptionalNonNegativeInteger(undefined, 'limit')).toBeUndefined();
    for (const [bad, text] of [
      [-1, 'number -1'],
      [1.5, 'number 1.5'],
      [Number.NaN, 'number NaN'],
      [Number.POSITIVE_INFINITY, 'number Infinity'],
      ['3', 'string of length 1'],
      [3n, 'bigint 3n'],
    ] as const) {
      expectInvalid(
        () => checkOptionalNonNegativeInteger(bad, 'limit'),
        `limit must be a non-negative integer, got ${text}`,
      );
    }
  });
});

describe('checkRequestOptions', () => {
  test('accepts undefined, an empty object, a real signal and finite timeouts', () => {
    expect(checkRequestOptions(undefined)).toBeUndefined();
    const o = { signal: new AbortController().signal, timeoutMs: 0 };
    expect(checkRequestOptions(o)).toBe(o);
    expect(checkRequestOptions({ timeoutMs: 1.5 })).toEqual({ timeoutMs: 1.5 });
    expect(checkRequestOptions({ signal: AbortSignal.abort() })).toBeDefined();
  });

  test('names the bad field and what it held', () => {
    expectInvalid(
      () => checkRequestOptions({ signal: {} as AbortSignal }),
      'options.signal must be an AbortSignal or undefined, got object',
    );
    expectInvalid(
      () => checkRequestOptions({ signal: new AbortController() as unknown as AbortSignal }),
      'options.signal must be an AbortSignal or undefined, got AbortController object',
    );
    expectInvalid(
      () => checkRequestOptions({ timeoutMs: -1 }),
      'options.timeoutMs must be a finite number >= 0 or undefined, got number -1',
    );
    expectInvalid(
      () => checkRequestOptions({ timeoutMs: Number.NaN }),
      'options.timeoutMs must be a finite number >= 0 or undefined, got number NaN',
    );
    expectInvalid(
      () => checkRequestOptions({ timeoutMs: Number.POSITIVE_INFINITY }),
      'options.timeoutMs must be a finite number >= 0 or undefined, got number Infinity',
    );
    expectInvalid(
      () => checkRequestOptions({ timeoutMs: '100' as unknown as number }, 'call'),
      'call.timeoutMs must be a finite number >= 0 or undefined, got string of length 3',
    );
    expectInvalid(
      () => checkRequestOptions(null as unknown as undefined),
      'options must be an object or undefined, got null',
    );
  });
});

describe('key checks', () => {
  test('checkKey: non-empty, within max-key-size', () => {
    expect(checkKey('k')).toEqual(b('k'));
    expectInvalid(() => checkKey(''), 'key must not be empty');
    expectInvalid(() => checkKey(5), 'key must be a Uint8Array or a string, got number 5');
    expect(() => checkKey(new Uint8Array(MAX_KEY_SIZE_BYTES))).not.toThrow();
    expect(() => checkKey(new Uint8Array(MAX_KEY_SIZE_BYTES + 1))).toThrow(KeyTooLargeError);
    expect(() => checkKey(new Uint8Array(MAX_KEY_SIZE_BYTES + 1))).toThrow(
      expect.objectContaining({ code: 'KEY_TOO_LARGE', sizeBytes: MAX_KEY_SIZE_BYTES + 1 }),
    );
  });

  test('checkBoundKey allows an empty bound', () => {
    expect(checkBoundKey('', 'endKey')).toEqual(new Uint8Array(0));
    expectInvalid(
      () => checkBoundKey(undefined, 'endKey'),
      'endKey must be a Uint8Array or a string, got undefined',
    );
    expect(() => checkBoundKey(new Uint8Array(MAX_KEY_SIZE_BYTES + 1), 'startKey')).toThrow(KeyTooLargeError);
  });

  test('checkValue counts the key and value against raft-entry-max-size', () => {
    const k = b('kk');
    expect(checkValue(k, '')).toEqual(new Uint8Array(0));
    expect(() => checkValue(k, new Uint8Array(MAX_ENTRY_SIZE_BYTES - 2))).not.toThrow();
    expect(() => checkValue(k, new Uint8Array(MAX_ENTRY_SIZE_BYTES - 1))).toThrow(
      expect.objectContaining({ code: 'ENTRY_TOO_LARGE', sizeBytes: MAX_ENTRY_SIZE_BYTES + 1 }),
    );
    expect(() => checkValue(k, new Uint8Array(MAX_ENTRY_SIZE_BYTES))).toThrow(EntryTooLargeError);
    expectInvalid(() => checkValue(k, null, 'next'), 'next must be a Uint8Array or a string, got null');
  });

  test('checkKeys names the element', () => {
    expect(checkKeys(['a', b('b')])).toEqual([b('a'), b('b')]);
    expectInvalid(() => checkKeys('ab'), 'keys must be an array, got string of length 2');
    expectInvalid(() => checkKeys(['a', 7]), 'keys[1] must be a Uint8Array or a string, got number 7');
    expectInvalid(() => checkKeys(['a', '']), 'keys[1] must not be empty');
  });

  test('checkPairs names the pair and field', () => {
    expect(checkPairs([{ key: 'a', value: '' }])).toEqual([{ key: b('a'), value: new Uint8Array(0) }]);
    expectInvalid(() => checkPairs(null), 'pairs must be an array, got null');
    expectInvalid(() => checkPairs([null]), 'pairs[0] must be an object, got null');
    expectInvalid(
      () => checkPairs([{ key: 'a', value: 'b' }, { key: 'c' }]),
      'pairs[1].value must be a Uint8Array or a string, got undefined',
    );
    expectInvalid(
      () => checkPairs([{ key: 1, value: 'b' }]),
      'pairs[0].key must be a Uint8Array or a string, got number 1',
    );
  });

  test('range order', () => {
    expect(() => checkForwardRange(b('a'), b('b'))).not.toThrow();
    expect(() => checkForwardRange(b('b'), new Uint8Array(0))).not.toThrow();
    expectInvalid(() => checkForwardRange(b('b'), b('a')), 'startKey must not be greater than endKey');
    expect(() => checkReverseRange(b('b'), b('a'))).not.toThrow();
    expectInvalid(
      () => checkReverseRange(b('a'), b('b')),
      'reverse scan: startKey (upper bound) must not be less than endKey',
    );
  });

  test('uniqueKeys keeps the first of each key, in order, and the input when nothing repeats', () => {
    const keys = [b('a'), b('b')];
    expect(uniqueKeys(keys)).toBe(keys);
    expect(uniqueKeys([b('b'), b('a'), b('b'), b('c'), b('a')])).toEqual([b('b'), b('a'), b('c')]);
    expect(uniqueKeys([])).toEqual([]);
  });
});
