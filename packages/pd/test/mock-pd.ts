// A describe block's mock cluster and the PdClient connected to it.
import { MockCluster, type MockClusterOptions } from '@tikv/mock-cluster';
import { PdClient } from '../src/pd-client.js';

/**
 * Starts a mock cluster and connects a PdClient to its PD before the tests of the enclosing
 * describe block (`beforeAll`), hands both to `ready`, and closes them after the tests.
 *
 * @param options - the mock cluster's options
 * @param ready - receives the cluster and the client once both are up
 */
export function useMockPd(
  options: MockClusterOptions,
  ready: (cluster: MockCluster, client: PdClient) => void,
): void {
  let cluster: MockCluster | undefined;
  let client: PdClient | undefined;
  beforeAll(async () => {
    cluster = await MockCluster.start(options);
    client = await PdClient.connect({ endpoints: cluster.pdEndpoints });
    ready(cluster, client);
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.close();
  });
}
