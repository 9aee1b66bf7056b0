import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockCluster } from '@tikv/mock-cluster';
import { generate } from 'selfsigned';
import { tikv } from './run-cli-helper.js';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files. */
async function writePki(dir: string) {
  const ca = await generate([{ name: 'commonName', value: 'cli test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true },
    ],
  });
  const signer = { key: ca.private, cert: ca.cert };
  const server = await generate([{ name: 'commonName', value: 'mock-cluster' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: signer,
    extensions: [
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      { name: 'extKeyUsage', serverAuth: true },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'client' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: signer,
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  });
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client-key.pem') };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, client.cert);
  writeFileSync(files.key, client.private);
  return { files, server: { caPem: ca.cert, certPem: server.cert, keyPem: server.private } };
}

describe('--ca, --cert, --key: mutual TLS', () => {
  let dir: string;
  let cluster: MockCluster;
  let files: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tikv-cli-tls-'));
    const pki = await writePki(dir);
    files = pki.files;
    cluster = await MockCluster.start({ stores: 1, tls: { ...pki.server, requireClientCert: true } });
  });

  afterAll(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('PD and the stores are reached over TLS with the client certificate', async () => {
    const tls = ['--pd', cluster.pdEndpoints[0]!, '--ca', files.ca, '--cert', files.cert, '--key', files.key];
    const stores = await tikv([...tls, '--json', 'stores']);
    expect(stores.stderr).toBe('');
    expect(JSON.parse(stores.stdout)).toHaveLength(1);
    expect(await tikv([...tls, 'raw', 'put', 'k', 'v'])).toEqual({ status: 0, stdout: 'OK\n', stderr: '' });
    expect((await tikv([...tls, 'raw', 'get', 'k'])).stdout).toBe('v\n');
  });
});
