import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

const ALIASED = /^@evloop\/(interface|core-policy|sys|conformance|selector-[a-z]+|proactor-[a-z]+)$/;

function manifestAt(directory: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function namesIn(manifest: Record<string, unknown>, fields: string[]): string[] {
  return fields.flatMap((field) => Object.keys((manifest[field] as Record<string, string> | undefined) ?? {}));
}

/**
 * The @evloop packages the package under test declares (any kind of
 * dependency), what those bring in turn (their dependencies, peer and
 * optional ones), and itself: only these are aliased, so a test that
 * imports a package nothing declares fails here as it would after a real
 * install, instead of reaching into the workspace.
 */
function declaredEvloopPackages(): string[] {
  const own = manifestAt(process.cwd()) ?? {};
  const found = new Set<string>();
  const queue = [String(own.name), ...namesIn(own, ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'])];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (!ALIASED.test(name) || found.has(name)) continue;
    found.add(name);
    const manifest = manifestAt(path.join(packages, name.slice('@evloop/'.length)));
    if (manifest !== undefined) queue.push(...namesIn(manifest, ['dependencies', 'peerDependencies', 'optionalDependencies']));
  }
  return [...found].map((name) => name.slice('@evloop/'.length));
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
