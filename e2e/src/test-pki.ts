import { generate } from 'selfsigned';

/** A test PKI: a CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA. */
export interface TestPki {
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

/** Generates a {@link TestPki} (EC P-256 keys, SHA-256 signatures; about a second). */
export async function makeTestPki(): Promise<TestPki> {
  const common = { keyType: 'ec', algorithm: 'sha256' } as const;
  const ca = await generate([{ name: 'commonName', value: 'e2e test CA' }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true },
    ],
  });
  const signer = { key: ca.private, cert: ca.cert };
  const server = await generate([{ name: 'commonName', value: 'e2e server' }], {
    ...common,
    ca: signer,
    extensions: [
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      { name: 'extKeyUsage', serverAuth: true },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'e2e client' }], {
    ...common,
    ca: signer,
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  });
  return {
    caPem: ca.cert,
    serverCertPem: server.cert,
    serverKeyPem: server.private,
    clientCertPem: client.cert,
    clientKeyPem: client.private,
  };
}
