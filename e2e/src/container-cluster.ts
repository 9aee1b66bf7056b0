/**
 * Starts the container target (see container-specs.ts for what runs): checks both images are
 * available before starting anything, then the network, PD and TiKV in that order; when a step
 * fails, stops what started (last first) and rejects with a {@link ContainerClusterError}
 * naming the container and image. The container runtime is injected: testcontainers by
 * default, a fake in the unit tests of this sequencing.
 */
import {
  type ContainerClusterSpec,
  type ContainerRole,
  type ContainerSpec,
  containerClusterSpec,
} from './container-specs.js';

/** Something the runtime started. */
export interface StartedResource {
  readonly id: string;
  stop(): Promise<void>;
}

/** What the launcher needs from a container runtime. */
export interface ContainerRuntime {
  /** Resolves when a container runtime answers; rejects at once with its error when none does. */
  connect(): Promise<void>;
  /** Resolves when the image is available locally (pulling it when it is not). */
  ensureImage(image: string): Promise<void>;
  /** Creates the cluster's network. */
  startNetwork(name: string): Promise<StartedResource>;
  /** Starts a container on the network and resolves once its ready line was logged. */
  startContainer(spec: ContainerSpec, network: StartedResource): Promise<StartedResource>;
}

/** Which step of starting the container cluster failed. */
export type ContainerClusterStep = 'image' | 'network' | ContainerRole;

/** Starting the container cluster failed; `cause` is the runtime's error. */
export class ContainerClusterError extends Error {
  override name = 'ContainerClusterError';

  /**
   * @param step - the step that failed
   * @param image - the image involved (for `image`, `pd` and `tikv`)
   * @param cause - the runtime's error
   */
  constructor(
    readonly step: ContainerClusterStep,
    readonly image: string | undefined,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      step === 'image'
        ? `image "${image}" is not available locally and could not be pulled (${why}); ` +
            'build or load it, or name another with TIKV_E2E_PD_IMAGE / TIKV_E2E_TIKV_IMAGE'
        : step === 'network'
          ? `creating the e2e container network failed: ${why}`
          : `starting the ${step} container from image "${image}" failed: ${why}`,
      { cause },
    );
  }
}

/** A running container cluster. */
export interface ContainerCluster {
  readonly spec: ContainerClusterSpec;
  readonly pdEndpoints: readonly string[];
  /** Stops TiKV, PD and the network, in that order. */
  stop(): Promise<void>;
}

/** Options of {@link startContainerCluster}. */
export interface StartContainerClusterOptions {
  /** The runtime. @defaultValue testcontainers (needs a Docker engine) */
  readonly runtime?: ContainerRuntime;
  /** Names the run (labels and network name). @defaultValue a random id */
  readonly runId?: string;
}

async function stopAll(started: StartedResource[]): Promise<void> {
  for (const s of started.splice(0).reverse()) await s.stop();
}

/**
 * Starts one PD and one TiKV container.
 *
 * @param env - the environment to read the images and ports from
 * @param options - the runtime and the run id
 * @throws ContainerClusterError naming the step, container and image that failed (nothing it
 *   started is left running); the runtime's own error when no container runtime answers
 */
export async function startContainerCluster(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: StartContainerClusterOptions = {},
): Promise<ContainerCluster> {
  const spec = containerClusterSpec(env, options.runId);
  const runtime = options.runtime ?? (await import('./testcontainers-runtime.js')).testcontainersRuntime;
  await runtime.connect();
  for (const image of new Set([spec.pd.image, spec.tikv.image])) {
    await runtime.ensureImage(image).catch((e: unknown) => {
      throw new ContainerClusterError('image', image, e);
    });
  }
  const started: StartedResource[] = [];
  let step: ContainerClusterStep = 'network';
  let image: string | undefined;
  try {
    const network = await runtime.startNetwork(spec.networkName);
    started.push(network);
    for (const c of [spec.pd, spec.tikv]) {
      step = c.role;
      image = c.image;
      started.push(await runtime.startContainer(c, network));
    }
  } catch (e) {
    await stopAll(started).catch(() => {});
    throw new ContainerClusterError(step, image, e);
  }
  return { spec, pdEndpoints: spec.pdEndpoints, stop: () => stopAll(started) };
}
