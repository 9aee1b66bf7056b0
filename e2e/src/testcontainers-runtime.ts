/**
 * The container runtime of the e2e container target, on testcontainers. It needs a Docker
 * engine, so jest's coverage leaves this file out (see jest.config.cjs); the launcher's logic is
 * in container-cluster.ts, unit-tested with a fake runtime, and test/container-cluster.test.ts
 * runs this adapter against Docker when an engine answers.
 */
import {
  GenericContainer,
  getContainerRuntimeClient,
  ImageName,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';
import type { ContainerRuntime, StartedResource } from './container-cluster.js';
import type { ContainerSpec } from './container-specs.js';

/**
 * A container that remembers its id once created: testcontainers stops and removes a container
 * that fails its wait strategy, but not one that exits before its ports are bound (it then
 * times out and rejects with the container left behind), so the adapter removes it itself.
 */
class TrackedContainer extends GenericContainer {
  createdId: string | undefined;
  protected override async containerCreated(containerId: string): Promise<void> {
    this.createdId = containerId;
  }
}

/** Removes a container that failed to start, if it is still there. */
async function removeFailed(containerId: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  const container = client.container.getById(containerId);
  const exists = await client.container.inspect(container).then(
    () => true,
    () => false,
  );
  if (exists) await client.container.remove(container, { removeVolumes: true });
}

/** A started network, keeping the testcontainers object containers join. */
class TestcontainersNetwork implements StartedResource {
  constructor(readonly network: StartedNetwork) {}
  get id(): string {
    return this.network.getId();
  }
  async stop(): Promise<void> {
    await this.network.stop();
  }
}

/** The testcontainers runtime: Docker through its API socket. */
export const testcontainersRuntime: ContainerRuntime = {
  async connect() {
    await getContainerRuntimeClient();
  },
  async ensureImage(image: string) {
    const client = await getContainerRuntimeClient();
    const name = ImageName.fromString(image);
    if (!(await client.image.exists(name))) await client.image.pull(name);
  },
  async startNetwork(name: string) {
    return new TestcontainersNetwork(await new Network({ nextUuid: () => name }).start());
  },
  async startContainer(spec: ContainerSpec, network: StartedResource) {
    if (!(network instanceof TestcontainersNetwork)) throw new TypeError('not a testcontainers network');
    const container = new TrackedContainer(spec.image)
      .withNetwork(network.network)
      .withNetworkAliases(spec.networkAlias)
      .withExposedPorts({ container: spec.port, host: spec.port })
      .withCommand([...spec.command])
      .withLabels({ ...spec.labels })
      .withWaitStrategy(Wait.forLogMessage(spec.readyLog))
      .withStartupTimeout(spec.startupTimeoutMs);
    let started: StartedTestContainer;
    try {
      started = await container.start();
    } catch (e) {
      const id = container.createdId;
      if (id !== undefined) await removeFailed(id).catch(() => {});
      throw e;
    }
    return {
      id: started.getId(),
      stop: async () => {
        await started.stop();
      },
    };
  },
};
