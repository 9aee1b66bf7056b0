// The container target: what it runs (container-specs.ts), how it starts and cleans up
// (container-cluster.ts, with a fake runtime everywhere), and the testcontainers adapter against
// Docker when an engine answers. src/global-setup.cjs tells this file whether one does
// (TIKV_E2E_CONTAINER_RUNTIME) and which images are present (TIKV_E2E_LOCAL_IMAGES).
import { RawClient } from '@tikv/raw';
import { startTarget, TargetKind } from '../src/cluster-target.js';
import {
  ContainerClusterError,
  type ContainerRuntime,
  type StartedResource,
  startContainerCluster,
} from '../src/container-cluster.js';
import {
  type ContainerSpec,
  containerClusterSpec,
  DEFAULT_PD_IMAGE,
  DEFAULT_TIKV_IMAGE,
  RUN_LABEL,
} from '../src/container-specs.js';

describe('container specs', () => {
  test('defaults: PD on 12379 and TiKV on 20160, advertised on 127.0.0.1, TiKV finds PD as `pd`', () => {
    const spec = containerClusterSpec({}, 'run1');
    expect(spec.runId).toBe('run1');
    expect(spec.networkName).toBe('tikv-e2e-run1');
    expect(spec.pdEndpoints).toEqual(['127.0.0.1:12379']);
    expect(spec.pd).toMatchObject({
      role: 'pd',
      image: DEFAULT_PD_IMAGE,
      networkAlias: 'pd',
      port: 12379,
      startupTimeoutMs: 120_000,
      labels: { [RUN_LABEL]: 'run1' },
    });
    expect(spec.pd.command).toContain('--advertise-client-urls=http://127.0.0.1:12379');
    expect(spec.pd.command).toContain('--initial-cluster=pd=http://pd:2380');
    expect(spec.tikv).toMatchObject({
      role: 'tikv',
      image: DEFAULT_TIKV_IMAGE,
      networkAlias: 'tikv',
      port: 20160,
    });
    expect(spec.tikv.command).toEqual([
      '--addr=0.0.0.0:20160',
      '--advertise-addr=127.0.0.1:20160',
      '--pd=pd:12379',
      '--data-dir=/tmp/tikv',
    ]);
    expect(spec.pd.readyLog.test('["campaign leader ok"]')).toBe(true);
    expect(spec.tikv.readyLog.test('["TiKV is ready to serve"]')).toBe(true);
    expect(containerClusterSpec({}).runId).toMatch(/^[0-9a-z]+$/);
  });

  test('the environment names images, ports and the startup timeout; bad values are refused', () => {
    const spec = containerClusterSpec({
      TIKV_E2E_PD_IMAGE: ' local/pd:1 ',
      TIKV_E2E_TIKV_IMAGE: 'local/tikv:1',
      TIKV_E2E_PD_PORT: '2379',
      TIKV_E2E_TIKV_PORT: '20161',
      TIKV_E2E_STARTUP_TIMEOUT_MS: '5000',
    });
    expect([spec.pd.image, spec.tikv.image]).toEqual(['local/pd:1', 'local/tikv:1']);
    expect(spec.pdEndpoints).toEqual(['127.0.0.1:2379']);
    expect(spec.tikv.command).toContain('--pd=pd:2379');
    expect(spec.tikv.command).toContain('--advertise-addr=127.0.0.1:20161');
    expect(spec.pd.startupTimeoutMs).toBe(5000);
    expect(containerClusterSpec({ TIKV_E2E_PD_IMAGE: '  ' }).pd.image).toBe(DEFAULT_PD_IMAGE);
    expect(() => containerClusterSpec({ TIKV_E2E_PD_PORT: 'x' })).toThrow(/TIKV_E2E_PD_PORT/);
    expect(() => containerClusterSpec({ TIKV_E2E_TIKV_PORT: '70000' })).toThrow(RangeError);
    expect(() => containerClusterSpec({ TIKV_E2E_STARTUP_TIMEOUT_MS: '0' })).toThrow(/STARTUP_TIMEOUT/);
  });
});

/** A runtime that records what it is asked and fails where told. */
class FakeRuntime implements ContainerRuntime {
  readonly calls: string[] = [];
  readonly specs: ContainerSpec[] = [];
  fail: { at: string; error: Error } | undefined;
  stopError: Error | undefined;

  #step(what: string): void {
    this.calls.push(what);
    if (this.fail?.at === what) throw this.fail.error;
  }
  #resource(id: string): StartedResource {
    return {
      id,
      stop: async () => {
        this.calls.push(`stop ${id}`);
        if (this.stopError !== undefined) throw this.stopError;
      },
    };
  }
  async connect(): Promise<void> {
    this.#step('connect');
  }
  async ensureImage(image: string): Promise<void> {
    this.#step(`image ${image}`);
  }
  async startNetwork(name: string): Promise<StartedResource> {
    this.#step(`network ${name}`);
    return this.#resource(name);
  }
  async startContainer(spec: ContainerSpec, network: StartedResource): Promise<StartedResource> {
    this.#step(`${spec.role} on ${network.id}`);
    this.specs.push(spec);
    return this.#resource(spec.role);
  }
}

describe('container cluster launcher (fake runtime)', () => {
  const env = { TIKV_E2E_PD_IMAGE: 'img/pd', TIKV_E2E_TIKV_IMAGE: 'img/tikv' };

  test('checks both images before starting anything, then starts network, PD, TiKV; stops in reverse', async () => {
    const runtime = new FakeRuntime();
    const cluster = await startContainerCluster(env, { runtime, runId: 'r' });
    expect(runtime.calls).toEqual([
      'connect',
      'image img/pd',
      'image img/tikv',
      'network tikv-e2e-r',
      'pd on tikv-e2e-r',
      'tikv on tikv-e2e-r',
    ]);
    expect(runtime.specs.map((s) => s.image)).toEqual(['img/pd', 'img/tikv']);
    expect(cluster.pdEndpoints).toEqual(['127.0.0.1:12379']);
    expect(cluster.spec.runId).toBe('r');
    runtime.calls.length = 0;
    await cluster.stop();
    expect(runtime.calls).toEqual(['stop tikv', 'stop pd', 'stop tikv-e2e-r']);
    await cluster.stop();
    expect(runtime.calls).toHaveLength(3);
  });

  test('one image for both is checked once', async () => {
    const runtime = new FakeRuntime();
    await startContainerCluster(
      { TIKV_E2E_PD_IMAGE: 'same', TIKV_E2E_TIKV_IMAGE: 'same' },
      { runtime, runId: 'r' },
    );
    expect(runtime.calls.filter((c) => c.startsWith('image'))).toEqual(['image same']);
  });

  test('no container runtime: its own error, nothing else tried', async () => {
    const runtime = new FakeRuntime();
    const error = new Error('Could not find a working container runtime strategy');
    runtime.fail = { at: 'connect', error };
    await expect(startContainerCluster(env, { runtime })).rejects.toBe(error);
    expect(runtime.calls).toEqual(['connect']);
  });

  test('a missing image fails before anything starts, naming the image and the variables', async () => {
    const runtime = new FakeRuntime();
    const pull = new Error('pull access denied');
    runtime.fail = { at: 'image img/tikv', error: pull };
    const e = (await startContainerCluster(env, { runtime, runId: 'r' }).catch(
      (x: unknown) => x,
    )) as ContainerClusterError;
    expect(e).toBeInstanceOf(ContainerClusterError);
    expect(e).toMatchObject({ step: 'image', image: 'img/tikv', cause: pull });
    expect(e.message).toContain('"img/tikv"');
    expect(e.message).toContain('TIKV_E2E_TIKV_IMAGE');
    expect(runtime.calls).toEqual(['connect', 'image img/pd', 'image img/tikv']);
  });

  test.each([
    ['network tikv-e2e-r', 'network', undefined, []],
    ['pd on tikv-e2e-r', 'pd', 'img/pd', ['stop tikv-e2e-r']],
    ['tikv on tikv-e2e-r', 'tikv', 'img/tikv', ['stop pd', 'stop tikv-e2e-r']],
  ])(
    'a failure at "%s" stops what started, last first, and names the step',
    async (at, step, image, stops) => {
      const runtime = new FakeRuntime();
      const error = new Error('boom');
      runtime.fail = { at, error };
      const e = (await startContainerCluster(env, { runtime, runId: 'r' }).catch(
        (x: unknown) => x,
      )) as ContainerClusterError;
      expect(e).toBeInstanceOf(ContainerClusterError);
      expect(e).toMatchObject({ step, image, cause: error });
      expect(e.message).toContain('boom');
      if (image !== undefined) expect(e.message).toContain(`the ${step} container from image "${image}"`);
      expect(runtime.calls.slice(runtime.calls.indexOf(at) + 1)).toEqual(stops);
    },
  );

  test('a failing stop during cleanup does not hide the start error', async () => {
    const runtime = new FakeRuntime();
    runtime.fail = { at: 'tikv on tikv-e2e-r', error: new Error('tikv exited') };
    runtime.stopError = new Error('stop failed');
    const e = await startContainerCluster(env, { runtime, runId: 'r' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ step: 'tikv', message: expect.stringContaining('tikv exited') });
  });

  test('startTarget runs the launcher for TIKV_E2E_TESTCONTAINERS=1 and stops it on close', async () => {
    const runtime = new FakeRuntime();
    const target = await startTarget({
      env: { TIKV_E2E_TESTCONTAINERS: '1', TIKV_E2E_API_VERSION: '2', TIKV_E2E_PD_PORT: '2379' },
      containerRuntime: runtime,
    });
    expect(target).toMatchObject({ kind: TargetKind.Testcontainers, apiVersion: 'V2', mock: undefined });
    expect(target.pdEndpoints).toEqual(['127.0.0.1:2379']);
    await target.close();
    expect(runtime.calls.slice(-3)).toEqual([
      'stop tikv',
      'stop pd',
      expect.stringMatching(/^stop tikv-e2e-/),
    ]);
  });
});

const dockerAnswers = process.env.TIKV_E2E_CONTAINER_RUNTIME === '1';
const localImages = new Set((process.env.TIKV_E2E_LOCAL_IMAGES ?? '').split(',').filter((s) => s !== ''));
const pdImage = containerClusterSpec(process.env).pd.image;
const tikvImage = containerClusterSpec(process.env).tikv.image;

(dockerAnswers ? describe.skip : describe)('container target without a Docker engine', () => {
  test('fails fast with the runtime error, leaving nothing behind', async () => {
    await expect(startTarget({ env: { TIKV_E2E_TESTCONTAINERS: '1' } })).rejects.toThrow(
      /container runtime/i,
    );
  });
});

(dockerAnswers ? describe : describe.skip)('container target on Docker (needs a Docker engine)', () => {
  // What Ryuk would clean up after a crash, these tests check themselves; its image may not be
  // pullable where the engine runs (it is not, on the machines this project is built on).
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

  /** What a run left: its containers (running or not) and its network. */
  async function leftovers(runId: string): Promise<string[]> {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const docker = (await getContainerRuntimeClient()).container.dockerode;
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${RUN_LABEL}=${runId}`] },
    });
    const networks = await docker.listNetworks({ filters: { name: [`tikv-e2e-${runId}`] } });
    return [...containers.map((c) => `container ${c.Image}`), ...networks.map((n) => `network ${n.Name}`)];
  }

  test('an image that is absent and cannot be pulled fails clearly before anything starts', async () => {
    const runId = `absent${Date.now()}`;
    const e = await startContainerCluster(
      { TIKV_E2E_PD_IMAGE: 'tikv-e2e-absent/pd:none', TIKV_E2E_TIKV_IMAGE: 'tikv-e2e-absent/tikv:none' },
      { runId },
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ContainerClusterError);
    expect(e).toMatchObject({ step: 'image', image: 'tikv-e2e-absent/pd:none' });
    expect(await leftovers(runId)).toEqual([]);
  });

  (localImages.has(pdImage) ? test : test.skip)(
    `a TiKV container that exits before it is ready: PD and the network are stopped (PD image ${pdImage})`,
    async () => {
      const runId = `exits${Date.now()}`;
      // The PD image run with TiKV's arguments: pd-server refuses them and exits at once.
      const e = await startContainerCluster(
        { TIKV_E2E_PD_IMAGE: pdImage, TIKV_E2E_TIKV_IMAGE: pdImage, TIKV_E2E_STARTUP_TIMEOUT_MS: '30000' },
        { runId },
      ).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ContainerClusterError);
      expect(e).toMatchObject({ step: 'tikv', image: pdImage });
      expect(await leftovers(runId)).toEqual([]);
    },
  );

  (localImages.has(pdImage) ? test : test.skip)(
    `a container that exits at once, before its ports are bound, is removed too (image ${pdImage})`,
    async () => {
      // testcontainers itself removes a container that fails its wait strategy, but not one
      // that exits before Docker reports its ports (it times out after 10 s and rejects); which
      // of the two a container that exits at once meets is a race, and neither may leave it.
      const { testcontainersRuntime } = await import('../src/testcontainers-runtime.js');
      const spec = containerClusterSpec({ TIKV_E2E_PD_IMAGE: pdImage }, `early${Date.now()}`);
      const network = await testcontainersRuntime.startNetwork(spec.networkName);
      try {
        await expect(
          testcontainersRuntime.startContainer({ ...spec.pd, command: ['--version'] }, network),
        ).rejects.toThrow();
      } finally {
        await network.stop();
      }
      expect(await leftovers(spec.runId)).toEqual([]);
    },
  );

  (localImages.has(pdImage) && localImages.has(tikvImage) && pdImage !== tikvImage ? test : test.skip)(
    `PD and TiKV containers serve the raw client (images ${pdImage}, ${tikvImage})`,
    async () => {
      const runId = `full${Date.now()}`;
      const cluster = await startContainerCluster(process.env, { runId });
      try {
        const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints });
        try {
          await raw.put('e2e-container-key', 'v');
          expect(new TextDecoder().decode(await raw.get('e2e-container-key'))).toBe('v');
        } finally {
          await raw.close();
        }
      } finally {
        await cluster.stop();
      }
      expect(await leftovers(runId)).toEqual([]);
    },
    300_000,
  );
});
