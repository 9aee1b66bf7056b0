import { isIPv6 } from 'node:net';
import { InvalidArgumentError } from '@tikv/common';

/** A DNS name or IPv4 address: dot-separated labels of letters, digits, `-` and `_`. */
const HOST_NAME =
  /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
const FORMS = 'host:port, http://host:port, https://host:port or [ipv6]:port';

function invalid(endpoint: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `invalid PD endpoint ${JSON.stringify(endpoint)}: ${why} (expected ${FORMS})`,
  );
}

/**
 * Checks a PD endpoint and returns its URL, as PD's client turns addresses into URLs: a bare
 * `host:port` gets `https://` when TLS is on and `http://` otherwise, and a trailing slash is
 * dropped. Accepts `host:port`, `http://host:port`, `https://host:port` and IPv6 as
 * `[::1]:port`; anything else (an empty string, spaces in the host, no or a bad port, another
 * scheme, a path) is refused here rather than retried against the network.
 *
 * @param endpoint - the endpoint as the caller gave it
 * @param tls - whether TLS is on (the scheme of a bare `host:port`)
 * @returns `scheme://host:port`
 * @throws InvalidArgumentError naming the endpoint and what is wrong with it
 */
export function normalizeUrl(endpoint: string, tls: boolean): string {
  if (typeof endpoint !== 'string') {
    throw new InvalidArgumentError(`PD endpoint must be a string, got ${typeof endpoint}`);
  }
  const trimmed = endpoint.trim();
  if (trimmed === '') throw invalid(endpoint, 'empty');
  let scheme = tls ? 'https' : 'http';
  let rest = trimmed;
  const m = SCHEME.exec(trimmed);
  if (m !== null) {
    scheme = m[1]!.toLowerCase();
    rest = m[2]!;
    if (scheme !== 'http' && scheme !== 'https') throw invalid(endpoint, `unsupported scheme ${m[1]}`);
  }
  rest = rest.replace(/\/+$/, '');
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    host = close < 0 ? '' : rest.slice(1, close);
    if (!isIPv6(host)) throw invalid(endpoint, 'not an IPv6 address in brackets');
    if (rest[close + 1] !== ':') throw invalid(endpoint, 'no port');
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw invalid(endpoint, HOST_NAME.test(rest) ? 'no port' : 'not host:port');
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (!HOST_NAME.test(host)) {
      throw invalid(
        endpoint,
        isIPv6(host) ? 'an IPv6 address needs brackets' : `bad host ${JSON.stringify(host)}`,
      );
    }
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65_535)) throw invalid(endpoint, `bad port ${JSON.stringify(portText)}`);
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
