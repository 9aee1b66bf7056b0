import { isTiKVError } from '@tikv/common';
import { normalizeUrl } from './pd-endpoint.js';

// The scheme handling ports PD's client TestSchemeFunction (tlsutil.AddrsToURLs); the refusals
// are ours: PD's client would retry a malformed address for its whole init budget.
describe('normalizeUrl', () => {
  test('adds the scheme of the TLS setting and drops a trailing slash (TestSchemeFunction)', () => {
    expect(normalizeUrl('127.0.0.1:2379', false)).toBe('http://127.0.0.1:2379');
    expect(normalizeUrl('127.0.0.1:2379', true)).toBe('https://127.0.0.1:2379');
    expect(normalizeUrl('http://127.0.0.1:2379/', true)).toBe('http://127.0.0.1:2379');
    expect(normalizeUrl(' https://a:1 ', false)).toBe('https://a:1');
    expect(normalizeUrl('HTTP://pd-0.pd.svc:2379', false)).toBe('http://pd-0.pd.svc:2379');
  });

  test('accepts IPv6 in brackets, with or without a scheme', () => {
    expect(normalizeUrl('[::1]:2379', false)).toBe('http://[::1]:2379');
    expect(normalizeUrl('https://[fe80::1]:2379', false)).toBe('https://[fe80::1]:2379');
    expect(normalizeUrl('http://[::ffff:127.0.0.1]:80', false)).toBe('http://[::ffff:127.0.0.1]:80');
  });

  test.each([
    ['', /empty/],
    ['   ', /empty/],
    ['not a host', /not host:port/],
    ['not a host:2379', /bad host "not a host"/],
    ['127.0.0.1', /no port/],
    ['127.0.0.1:', /bad port ""/],
    ['127.0.0.1:0', /bad port "0"/],
    ['127.0.0.1:65536', /bad port "65536"/],
    ['127.0.0.1:abc', /bad port "abc"/],
    ['http://127.0.0.1:2379/pd', /bad port "2379\/pd"/],
    ['grpc://127.0.0.1:2379', /unsupported scheme grpc/],
    ['::1:2379', /IPv6 address needs brackets/],
    ['[::1]', /no port/],
    ['[not-v6]:2379', /not an IPv6 address/],
    ['user@host:2379', /bad host/],
  ])('refuses %j with InvalidArgumentError', (endpoint, why) => {
    let err: unknown;
    try {
      normalizeUrl(endpoint, false);
    } catch (e) {
      err = e;
    }
    expect(isTiKVError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).name).toBe('InvalidArgumentError');
    expect((err as Error).message).toContain(JSON.stringify(endpoint));
    expect((err as Error).message).toMatch(why);
  });

  test('refuses a non-string', () => {
    expect(() => normalizeUrl(2379 as unknown as string, false)).toThrow(/must be a string, got number/);
  });
});
