import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * Tests run against each package's TypeScript source, so a change is tested
 * without a rebuild; the apps and the install test exercise the built output.
 */
export const sharedConfig = defineConfig({
  resolve: {
    alias: [
      { find: /^@evloop\/(interface|core-policy|sys|conformance|selector-[a-z]+|proactor-[a-z]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    include: ['test/**/*.test.ts'],
    // The JSON report lets .ci/run print one 'N passed, N failed' line for the whole run.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
  },
});
