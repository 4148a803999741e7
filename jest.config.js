/** One jest run for unit (src/**\/*.spec.ts) and end-to-end (test/**\/*.e2e-spec.ts) tests. */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: 'tsconfig.json',
        // The same OpenAPI metadata the build adds, so /docs-json is complete in tests too.
        astTransformers: { before: ['<rootDir>/test/support/swagger-plugin.js'] },
      },
    ],
  },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
