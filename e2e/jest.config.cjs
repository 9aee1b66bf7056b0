// End-to-end suites: one target cluster per suite (see src/cluster-target.ts), generous timeouts
// because a testcontainers target boots real PD and TiKV processes.
module.exports = require('../jest.config.base.cjs')(__dirname, {
  testTimeout: 60_000,
  globalSetup: '<rootDir>/src/global-setup.cjs',
});
