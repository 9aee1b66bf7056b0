import { ServerCredentials } from '@grpc/grpc-js';
import type { MockTlsOptions } from '../mock-cluster-options.js';

function pem(v: Uint8Array | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
}

/** gRPC server credentials for the mock's TLS options (key material is never logged). */
export function serverCredentials(tls: MockTlsOptions): ServerCredentials {
  return ServerCredentials.createSsl(
    tls.caPem === undefined ? null : pem(tls.caPem),
    [{ private_key: pem(tls.keyPem), cert_chain: pem(tls.certPem) }],
    tls.requireClientCert ?? false,
  );
}
