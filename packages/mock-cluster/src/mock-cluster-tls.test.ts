/**
 * @leakCheckAllow client-sockets
 *
 * A client refused for want of a certificate leaks its TCP socket, in @grpc/grpc-js 1.14.7 itself:
 * under TLS 1.3 the server refuses after the client's side of the handshake is done, the HTTP/2
 * session then fails, and `Http2SubchannelConnector.connect` returns `this.createSession(...)`
 * without awaiting it inside the try whose catch destroys the TCP connection. One socket per
 * connection attempt stays open, even after the channel is closed. Drop this pragma once grpc-js
 * awaits that call.
 */
import { ChannelCredentials } from '@grpc/grpc-js';
import { pdpb, tikvpb } from '@tikv/proto';
import { type Channel, createChannel, createClient } from 'nice-grpc';
import { generate } from 'selfsigned';
import { ctxFor } from '../test/test-helpers.js';
import { MockCluster } from './index.js';
import { resolveMockClusterOptions } from './mock-cluster-options.js';

interface TestPki {
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA. */
async function makePki(): Promise<TestPki> {
  const ca = await generate([{ name: 'commonName', value: 'mock-cluster test CA' }], {
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
  return {
    caPem: ca.cert,
    serverCertPem: server.cert,
    serverKeyPem: server.private,
    clientCertPem: client.cert,
    clientKeyPem: client.private,
  };
}

describe('MockCluster over TLS', () => {
  let pki: TestPki;
  let cluster: MockCluster;
  const channels: Channel[] = [];
  const channel = (address: string, credentials: ChannelCredentials): Channel => {
    const ch = createChannel(address, credentials);
    channels.push(ch);
    return ch;
  };
  beforeAll(async () => {
    pki = await makePki();
    cluster = await MockCluster.start({
      stores: 1,
      pdMembers: 2,
      tls: {
        caPem: pki.caPem,
        certPem: pki.serverCertPem,
        keyPem: pki.serverKeyPem,
        requireClientCert: true,
      },
    });
  });
  afterAll(async () => {
    for (const ch of channels) ch.close();
    await cluster?.close();
  });
  const mutual = (): ChannelCredentials =>
    ChannelCredentials.createSsl(
      Buffer.from(pki.caPem),
      Buffer.from(pki.clientKeyPem),
      Buffer.from(pki.clientCertPem),
    );

  it('serves PD and TiKV to a client with a certificate; PD advertises https URLs, endpoints stay host:port', async () => {
    const pdAddress = cluster.pdEndpoints[0] as string;
    expect(pdAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const pd = createClient(pdpb.PDDefinition, channel(pdAddress, mutual()));
    const members = await pd.getMembers({});
    expect(members.leader?.clientUrls).toEqual([`https://${pdAddress}`]);
    expect(cluster.pdMembers()[1]?.clientUrl).toBe(`https://${cluster.pdEndpoints[1]}`);
    const store = cluster.stores()[0];
    expect(store?.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const kv = createClient(tikvpb.TikvDefinition, channel(store?.address ?? '', mutual()));
    const context = ctxFor(cluster.regionByKey('a'));
    await kv.rawPut({ context, key: Buffer.from('a'), value: Buffer.from('tls') });
    const got = await kv.rawGet({ context, key: Buffer.from('a') });
    expect(Buffer.from(got.value).toString()).toBe('tls');
  });

  it('refuses a client without a certificate, and a plaintext client', async () => {
    const serverOnly = ChannelCredentials.createSsl(Buffer.from(pki.caPem));
    const pd = createClient(pdpb.PDDefinition, channel(cluster.pdEndpoints[0] as string, serverOnly));
    await expect(pd.getMembers({}, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({
      code: 14,
    });
    const plain = createClient(
      pdpb.PDDefinition,
      channel(cluster.pdEndpoints[0] as string, ChannelCredentials.createInsecure()),
    );
    await expect(plain.getMembers({}, { signal: AbortSignal.timeout(5000) })).rejects.toMatchObject({
      code: 14,
    });
  });

  it('needs a CA to check client certificates against', () => {
    expect(() =>
      resolveMockClusterOptions({ tls: { certPem: 'c', keyPem: 'k', requireClientCert: true } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/caPem/) }));
  });
});
