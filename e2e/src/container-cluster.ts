/**
 * PD and TiKV in containers, started with testcontainers. The containers publish fixed host ports
 * on 127.0.0.1 and advertise those addresses, so the client on the host reaches both PD and the
 * store directly. Images and ports come from the environment:
 * `TIKV_E2E_PD_IMAGE` (default `pingcap/pd:latest`), `TIKV_E2E_TIKV_IMAGE` (`pingcap/tikv:latest`),
 * `TIKV_E2E_PD_PORT` (12379), `TIKV_E2E_TIKV_PORT` (20160).
 */
import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';

/** A running container cluster. */
export interface ContainerCluster {
  readonly pdEndpoints: string[];
  stop(): Promise<void>;
}

/** Starts one PD and one TiKV container. Rejects fast when no container runtime is reachable. */
export async function startContainerCluster(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ContainerCluster> {
  const pdPort = Number(env.TIKV_E2E_PD_PORT ?? 12379);
  const tikvPort = Number(env.TIKV_E2E_TIKV_PORT ?? 20160);
  const started: (StartedTestContainer | StartedNetwork)[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop();
  };
  try {
    const network = await new Network().start();
    started.push(network);
    const pd = await new GenericContainer(env.TIKV_E2E_PD_IMAGE ?? 'pingcap/pd:latest')
      .withNetwork(network)
      .withNetworkAliases('pd')
      .withExposedPorts({ container: pdPort, host: pdPort })
      .withCommand([
        '--name=pd',
        `--client-urls=http://0.0.0.0:${pdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${pdPort}`,
        '--peer-urls=http://0.0.0.0:2380',
        '--advertise-peer-urls=http://pd:2380',
        '--initial-cluster=pd=http://pd:2380',
      ])
      .withWaitStrategy(Wait.forLogMessage(/PD leader|campaign leader ok|server is ready/i))
      .start();
    started.push(pd);
    const tikv = await new GenericContainer(env.TIKV_E2E_TIKV_IMAGE ?? 'pingcap/tikv:latest')
      .withNetwork(network)
      .withNetworkAliases('tikv')
      .withExposedPorts({ container: tikvPort, host: tikvPort })
      .withCommand([
        `--addr=0.0.0.0:${tikvPort}`,
        `--advertise-addr=127.0.0.1:${tikvPort}`,
        `--pd=pd:${pdPort}`,
        '--data-dir=/tmp/tikv',
      ])
      .withWaitStrategy(Wait.forLogMessage(/TiKV is ready to serve|tikv-server is ready/i))
      .start();
    started.push(tikv);
    return { pdEndpoints: [`127.0.0.1:${pdPort}`], stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
