// Shared jest settings: @swc/jest compiles TypeScript (ESM sources) to CommonJS for jest;
// `.js` suffixes in relative imports map back to the .ts sources. Every test file runs in the
// leak-checking environment (jest.leak-check-environment.cjs): a file that leaves open handles
// behind fails.
/** @param {string} dir the package directory */
module.exports = function jestConfig(dir, overrides = {}) {
  return {
    rootDir: dir,
    testEnvironment: require.resolve('./jest.leak-check-environment.cjs'),
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    transform: {
      '^.+\\.(t|j)s$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'commonjs' },
        },
      ],
    },
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    collectCoverageFrom: ['src/**/*.ts', '!src/**/*.test.ts', '!src/**/*.d.ts'],
    coverageReporters: ['text-summary', 'json-summary'],
    coverageThreshold: { global: { lines: 80 } },
    // Suites run real servers on loopback: on a loaded two-core machine 5 s is not enough for some.
    testTimeout: 30_000,
    ...overrides,
  };
};
