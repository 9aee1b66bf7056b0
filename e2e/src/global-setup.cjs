// With TIKV_E2E_TESTCONTAINERS=1, checks once that a container runtime answers. When none does,
// the suites fall back to the embedded cluster and say so, instead of failing on every suite.
module.exports = async function globalSetup() {
  const wanted =
    process.env.TIKV_E2E_TESTCONTAINERS === '1' || process.env.TIKV_E2E_TESTCONTAINERS === 'true';
  if (!wanted || (process.env.TIKV_PD_ENDPOINTS ?? '').trim() !== '') return;
  try {
    const { getContainerRuntimeClient } = require('testcontainers');
    await getContainerRuntimeClient();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    console.warn(
      `\n[e2e] TIKV_E2E_TESTCONTAINERS=1 but no container runtime is reachable (${reason}); ` +
        'running the suites against the embedded mock cluster instead.\n',
    );
    process.env.TIKV_E2E_TESTCONTAINERS = '';
  }
};
