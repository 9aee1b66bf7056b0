// End-to-end suites: one target cluster per suite (see src/cluster-target.ts), generous timeouts
// because a testcontainers target boots real PD and TiKV processes.
const base = require('../jest.config.base.cjs')(__dirname, {
  testTimeout: 60_000,
  globalSetup: '<rootDir>/src/global-setup.cjs',
});
module.exports = {
  ...base,
  // The testcontainers adapter runs only where a Docker engine answers (and starts a whole
  // cluster only where PD and TiKV images exist), so its coverage would depend on the machine.
  // Its logic lives in container-cluster.ts and container-specs.ts, covered everywhere with a
  // fake runtime; test/container-cluster.test.ts runs the adapter itself when Docker answers.
  collectCoverageFrom: [...base.collectCoverageFrom, '!src/testcontainers-runtime.ts'],
};
