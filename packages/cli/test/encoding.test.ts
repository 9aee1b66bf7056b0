import { InvalidArgumentError } from '@tikv/common';
import {
  decodeInput,
  Encoding,
  encodeOutput,
  errorLine,
  escapeBytes,
  formatMicros,
  LatencyHistogram,
} from '../src/index.js';

const bytes = (...b: number[]) => new Uint8Array(b);

describe('encodings of keys and values', () => {
  test('UTF-8 input is taken as it is; hex and base64 are decoded', () => {
    expect(decodeInput('héllo', Encoding.UTF8, 'key')).toEqual(new TextEncoder().encode('héllo'));
    expect(decodeInput('00ff10', Encoding.HEX, 'key')).toEqual(bytes(0, 255, 16));
    expect(decodeInput('0xABCD', Encoding.HEX, 'key')).toEqual(bytes(0xab, 0xcd));
    expect(decodeInput('AP8Q', Encoding.BASE64, 'key')).toEqual(bytes(0, 255, 16));
    expect(decodeInput('', Encoding.HEX, 'key')).toEqual(bytes());
  });

  test('bad hex or base64 is an InvalidArgumentError naming the argument', () => {
    expect(() => decodeInput('abc', Encoding.HEX, 'key')).toThrow(InvalidArgumentError);
    expect(() => decodeInput('zz', Encoding.HEX, 'value')).toThrow(/value must be hexadecimal/);
    expect(() => decodeInput('a$==', Encoding.BASE64, 'key')).toThrow(/key must be base64/);
    expect(() => decodeInput('abc', Encoding.BASE64, 'key')).toThrow(InvalidArgumentError);
  });

  test('binary output is escaped readably and unambiguously', () => {
    expect(escapeBytes(new TextEncoder().encode('plain text'))).toBe('plain text');
    expect(escapeBytes(new TextEncoder().encode('日本 é'))).toBe('日本 é');
    expect(escapeBytes(bytes(0x61, 0x00, 0x5c, 0x0a, 0x09, 0x0d, 0x7f))).toBe('a\\x00\\\\\\n\\t\\r\\x7f');
    // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong form.
    expect(escapeBytes(bytes(0x80, 0xe6, 0x97, 0xc0, 0xaf))).toBe('\\x80\\xe6\\x97\\xc0\\xaf');
    // A valid but invisible character (zero-width space) is escaped byte by byte.
    expect(escapeBytes(bytes(0xe2, 0x80, 0x8b))).toBe('\\xe2\\x80\\x8b');
  });

  test('hex and base64 output', () => {
    expect(encodeOutput(bytes(0, 255), Encoding.HEX)).toBe('00ff');
    expect(encodeOutput(bytes(0, 255, 16), Encoding.BASE64)).toBe('AP8Q');
    expect(encodeOutput(bytes(0x41), Encoding.UTF8)).toBe('A');
  });
});

describe('LatencyHistogram', () => {
  test('empty', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({
      count: 0,
      minUs: 0,
      meanUs: 0,
      p50Us: 0,
      p90Us: 0,
      p99Us: 0,
      p999Us: 0,
      maxUs: 0,
    });
  });

  test('small values are exact', () => {
    const h = new LatencyHistogram();
    for (let v = 1; v <= 100; v++) h.record(v);
    expect(h.count).toBe(100);
    expect(h.summary()).toMatchObject({
      minUs: 1,
      meanUs: 51,
      p50Us: 50,
      p90Us: 90,
      p99Us: 99,
      p999Us: 100,
      maxUs: 100,
    });
  });

  test('large values are within 1/64 and never above the maximum', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 1000 + i * 997);
    for (const v of values) h.record(v);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = values[Math.ceil((p / 100) * values.length) - 1]!;
      const got = h.percentile(p);
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got - exact).toBeLessThanOrEqual(exact / 64);
    }
    expect(h.percentile(100)).toBe(values[values.length - 1]);
    h.record(-5);
    expect(h.summary().minUs).toBe(0);
  });

  test('formatMicros', () => {
    expect(formatMicros(850)).toBe('850µs');
    expect(formatMicros(1500)).toBe('1.50ms');
    expect(formatMicros(12_345)).toBe('12.3ms');
    expect(formatMicros(1_200_000)).toBe('1.20s');
  });
});

test('errorLine: the TiKVError code, INTERNAL otherwise, one line', () => {
  expect(errorLine(new InvalidArgumentError('bad\n  input'))).toBe('error INVALID_ARGUMENT: bad input');
  expect(errorLine(new Error('boom'))).toBe('error INTERNAL: boom');
  expect(errorLine('text')).toBe('error INTERNAL: text');
});
