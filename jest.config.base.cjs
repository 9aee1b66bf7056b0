// Shared jest settings: @swc/jest compiles TypeScript (ESM sources) to CommonJS for jest;
// `.js` suffixes in relative imports map back to the .ts sources.
/** @param {string} dir the package directory */
module.exports = function jestConfig(dir, overrides = {}) {
  return {
    rootDir: dir,
    testEnvironment: 'node',
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
    ...overrides,
  };
};
