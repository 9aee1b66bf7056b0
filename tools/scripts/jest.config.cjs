// The repository scripts' own tests (plain CommonJS, no sources to cover).
module.exports = require('../../jest.config.base.cjs')(__dirname, {
  testMatch: ['<rootDir>/test/**/*.test.cjs'],
  collectCoverageFrom: [],
  coverageThreshold: undefined,
});
