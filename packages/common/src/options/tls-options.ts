/**
 * TLS material for the connections to PD and TiKV, PEM encoded: one type for every client
 * package (PD client, transport, raw and transactional clients). Never logged.
 */
export interface TlsOptions {
  /**
   * CA certificate(s) that sign the servers' certificates.
   * @defaultValue Node's bundled root certificates
   */
  readonly caPem?: Uint8Array | string | undefined;
  /** This client's certificate chain, for mutual TLS (with `keyPem`). */
  readonly certPem?: Uint8Array | string | undefined;
  /** This client's private key, for mutual TLS (with `certPem`). */
  readonly keyPem?: Uint8Array | string | undefined;
  /**
   * Host name to check the servers' certificates against instead of the host of the address
   * dialled (a certificate issued for a name when the endpoints are IP addresses).
   * @defaultValue the address's host
   */
  readonly serverNameOverride?: string | undefined;
}

/**
 * PEM material as a `Buffer` (what grpc-js takes): a string as UTF-8, bytes copied.
 *
 * @param pem - a PEM string or its bytes
 * @returns the bytes, or undefined when none were given
 */
export function pemBytes(pem: Uint8Array | string): Buffer;
export function pemBytes(pem: Uint8Array | string | undefined): Buffer | undefined;
export function pemBytes(pem: Uint8Array | string | undefined): Buffer | undefined {
  if (pem === undefined) return undefined;
  return typeof pem === 'string' ? Buffer.from(pem, 'utf8') : Buffer.from(pem);
}
