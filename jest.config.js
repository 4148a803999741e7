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
  // Three workers on two cores: the e2e suites spend part of their time waiting (PostgreSQL, SMTP,
  // spawned processes, mail retries, cron ticks), and with two workers the CPUs sat idle 16-23% of
  // the run. A third fills those gaps: 243-305 s with two, 218-235 s with three on that machine.
  maxWorkers: 3,
};
