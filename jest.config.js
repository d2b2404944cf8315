// @ts-check
/** Shared by every suite; the suites differ only in which folder they run (see package.json scripts). */
/** @type {import('jest').Config} */
const base = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      { jsc: { target: 'es2023', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
    ],
  },
  // Sources import './x.js' (Node's ESM-style specifiers); under jest they resolve to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 30_000,
};

const suite = process.env.TEST_SUITE ?? 'integration';

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch:
    suite === 'integration' ? ['<rootDir>/test/*.test.ts'] : [`<rootDir>/test/${suite}/**/*.test.ts`],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
