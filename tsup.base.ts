import type { Options } from 'tsup';

/** Shared tsup settings: dual ESM + CJS with separate .d.ts / .d.cts. */
export function packageOptions(overrides: Options = {}): Options {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    shims: true,
    target: 'node20',
    platform: 'node',
    splitting: false,
    ...overrides,
  };
}
