import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

/**
 * The @evloop packages the package under test declares (any kind of
 * dependency), and itself: only these are aliased, so a test that imports a
 * package its manifest does not declare fails here as it would after a real
 * install, instead of reaching into the workspace.
 */
function declaredEvloopPackages(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(process.cwd(), 'package.json'), 'utf8')) as Record<string, unknown>;
  const names = new Set<string>([String(manifest.name)]);
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const name of Object.keys((manifest[field] as Record<string, string> | undefined) ?? {})) names.add(name);
  }
  return [...names].filter((name) => /^@evloop\/(interface|core-policy|sys|conformance|selector-[a-z]+|proactor-[a-z]+)$/.test(name)).map((name) => name.slice('@evloop/'.length));
}

const aliased = declaredEvloopPackages();

/**
 * Tests run against each declared package's TypeScript source, so a change
 * is tested without a rebuild; the apps and the install test exercise the
 * built output.
 */
export const sharedConfig = defineConfig({
  resolve: {
    alias: aliased.length === 0 ? [] : [{ find: new RegExp(`^@evloop/(${aliased.join('|')})$`), replacement: `${packages}$1/src/index.ts` }],
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
