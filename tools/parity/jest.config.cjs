// The parity scripts' own tests (plain CommonJS over the .mjs scripts, no sources to cover).
module.exports = require('../../jest.config.base.cjs')(__dirname, {
  testMatch: ['<rootDir>/test/**/*.test.cjs'],
  collectCoverageFrom: [],
  coverageThreshold: undefined,
});
