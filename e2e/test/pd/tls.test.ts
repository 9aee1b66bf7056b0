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
// Mutual TLS end to end: PdClient and RawClient against an embedded cluster whose PD members and
// stores require client certificates. Skipped against an external cluster.
import { isTiKVError } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '@tikv/pd';
import { RawClient } from '@tikv/raw';
import { makeTestPki, type TestPki } from '../../src/test-pki.js';

const embedded =
  process.env.TIKV_PD_ENDPOINTS === undefined && process.env.TIKV_E2E_TESTCONTAINERS === undefined;
const maybe = embedded ? describe : describe.skip;

maybe('mutual TLS through PdClient and RawClient', () => {
  let pki: TestPki;
  let cluster: MockCluster;
  beforeAll(async () => {
    pki = await makeTestPki();
    cluster = await MockCluster.start({
      stores: 2,
      regions: 2,
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
    await cluster?.close();
  });

  test('PdClient with a client certificate: TSO, regions and stores', async () => {
    const pd = await PdClient.connect({
      endpoints: cluster.pdEndpoints,
      tls: { caPem: pki.caPem, certPem: pki.clientCertPem, keyPem: pki.clientKeyPem },
    });
    try {
      const t1 = await pd.getTimestamp();
      const t2 = await pd.getTimestamp();
      expect(t2).toBeGreaterThan(t1);
      const region = await pd.getRegion(new TextEncoder().encode('z'));
      expect(region).toBeDefined();
      expect((await pd.getAllStores()).map((s) => s.address).sort()).toEqual(
        cluster
          .stores()
          .map((s) => s.address)
          .sort(),
      );
    } finally {
      await pd.close();
    }
  });

  test('RawClient with a client certificate reads and writes across regions', async () => {
    const raw = await RawClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      tls: { caPem: pki.caPem, certPem: pki.clientCertPem, keyPem: pki.clientKeyPem },
    });
    try {
      const keys = ['\x10tls', '\xa0tls'].map((k) => Buffer.from(k, 'latin1'));
      await raw.batchPut(keys.map((key, i) => ({ key, value: Buffer.from(`v${i}`) })));
      expect((await raw.batchGet(keys)).map((v) => v?.toString())).toEqual(['v0', 'v1']);
      expect(await raw.scan(Buffer.from([0x00]), Buffer.from([0xff]))).toHaveLength(2);
    } finally {
      await raw.close();
    }
  });

  test('a client without a certificate is refused', async () => {
    const failure = (p: Promise<unknown>): Promise<unknown> =>
      p.then(
        () => 'connected',
        (e: unknown) => e,
      );
    const pd = await failure(
      PdClient.connect({ endpoints: cluster.pdEndpoints, tls: { caPem: pki.caPem } }, { timeoutMs: 3_000 }),
    );
    expect(isTiKVError(pd)).toBe(true);
    const raw = await failure(
      RawClient.connect(
        { pdEndpoints: cluster.pdEndpoints, tls: { caPem: pki.caPem } },
        { timeoutMs: 3_000 },
      ),
    );
    expect(isTiKVError(raw)).toBe(true);
  });

  test('serverNameOverride reaches PD: a name the certificate does not carry is refused', async () => {
    const tls = {
      caPem: pki.caPem,
      certPem: pki.clientCertPem,
      keyPem: pki.clientKeyPem,
      serverNameOverride: 'not-the-server.example',
    };
    const pd = await PdClient.connect({ endpoints: cluster.pdEndpoints, tls }, { timeoutMs: 3_000 }).then(
      () => 'connected',
      (e: unknown) => e,
    );
    expect(isTiKVError(pd)).toBe(true);
    // The same options without the override connect: the override is what PD refused.
    const { serverNameOverride: _, ...plain } = tls;
    const ok = await PdClient.connect({ endpoints: cluster.pdEndpoints, tls: plain });
    await ok.close();
  });
});
