import { ServerCredentials } from '@grpc/grpc-js';
import { pemBytes } from '@tikv/common';
import type { MockTlsOptions } from '../mock-cluster-options.js';

/** gRPC server credentials for the mock's TLS options (key material is never logged). */
export function serverCredentials(tls: MockTlsOptions): ServerCredentials {
  return ServerCredentials.createSsl(
    pemBytes(tls.caPem) ?? null,
    [{ private_key: pemBytes(tls.keyPem), cert_chain: pemBytes(tls.certPem) }],
    tls.requireClientCert ?? false,
  );
}
