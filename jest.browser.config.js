/**
 * Browser tests (`npm run test:browser`): the real app driven through Debian's Chromium with
 * playwright-core. Kept out of `npm test` (jest.config.js matches only *.spec.ts under src and
 * *.e2e-spec.ts under test) so that one needs nothing but Node.
 */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/browser/**/*.spec.ts'],
  testTimeout: 120000,
  maxWorkers: 1,
};
