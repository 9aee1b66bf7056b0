// The examples run as child processes from their build: nothing to measure coverage of here.
module.exports = require('../jest.config.base.cjs')(__dirname, { coverageThreshold: undefined });
