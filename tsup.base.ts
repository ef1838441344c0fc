import type { Options } from 'tsup';

/** Shared tsup settings: dual ESM + CJS with separate .d.ts / .d.cts. */
export function packageOptions(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    // Declarations import sibling packages by name, never inline their sources.
    dts: { compilerOptions: { paths: {} } },
    sourcemap: true,
    clean: true,
    shims: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    ...overrides,
  };
}
