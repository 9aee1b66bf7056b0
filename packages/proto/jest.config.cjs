// The generated code is exercised through round-trip tests; coverage is measured on the
// hand-written index only (ts-proto emits helpers for every message that no test could sensibly reach).
module.exports = require('../../jest.config.base.cjs')(__dirname, {
  collectCoverageFrom: ['src/index.ts'],
});
