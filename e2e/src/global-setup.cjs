// Checks once whether a container runtime answers (without one, testcontainers rejects in
// milliseconds) and which of the container target's images are present locally, and tells the
// test files through the environment:
//   TIKV_E2E_CONTAINER_RUNTIME=1 when a runtime answers ('' otherwise);
//   TIKV_E2E_LOCAL_IMAGES: the images among TIKV_E2E_PD_IMAGE / TIKV_E2E_TIKV_IMAGE (or their
//   defaults) present locally, comma-separated.
// With TIKV_E2E_TESTCONTAINERS=1 and no runtime, the suites fall back to the embedded cluster
// and say so, instead of failing on every suite.
module.exports = async function globalSetup() {
  const external = (process.env.TIKV_PD_ENDPOINTS ?? '').trim() !== '';
  const wanted =
    process.env.TIKV_E2E_TESTCONTAINERS === '1' || process.env.TIKV_E2E_TESTCONTAINERS === 'true';
  process.env.TIKV_E2E_CONTAINER_RUNTIME = '';
  process.env.TIKV_E2E_LOCAL_IMAGES = '';
  if (external) return;
  const { getContainerRuntimeClient, ImageName } = require('testcontainers');
  let client;
  try {
    client = await getContainerRuntimeClient();
  } catch (err) {
    if (wanted) {
      const reason = err instanceof Error ? err.message : String(err);
      console.warn(
        `\n[e2e] TIKV_E2E_TESTCONTAINERS=1 but no container runtime is reachable (${reason}); ` +
          'running the suites against the embedded mock cluster instead.\n',
      );
      process.env.TIKV_E2E_TESTCONTAINERS = '';
    }
    return;
  }
  process.env.TIKV_E2E_CONTAINER_RUNTIME = '1';
  // The defaults are container-specs.ts's DEFAULT_PD_IMAGE / DEFAULT_TIKV_IMAGE.
  const images = [
    (process.env.TIKV_E2E_PD_IMAGE ?? '').trim() || 'pingcap/pd:latest',
    (process.env.TIKV_E2E_TIKV_IMAGE ?? '').trim() || 'pingcap/tikv:latest',
  ];
  const present = [];
  for (const image of new Set(images)) {
    if (await client.image.exists(ImageName.fromString(image)).catch(() => false)) present.push(image);
  }
  process.env.TIKV_E2E_LOCAL_IMAGES = present.join(',');
};
