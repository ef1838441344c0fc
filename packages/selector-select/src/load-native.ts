import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSelectorBinding } from '@evloop/interface';

/**
 * What `selector_select.node` exports: the binding class and a probe, or, when
 * it was built where select(2) does not exist, only why (evloop/platform.h).
 */
export type SelectNative =
  | {
      /** A select(2) registration set, waiting on a helper thread when watched. */
      Selector: new () => NativeSelectorBinding;
      /** Opens a pipe, waits on it with select(2) and closes it; throws `{ errno, code, syscall }` when select(2) does not work. */
      probe(): void;
      /** The compile-time FD_SETSIZE: fds at or above it are refused by `add`. */
      FD_SETSIZE: number;
      unsupportedReason?: undefined;
    }
  | { unsupportedReason: string };

// This file runs as src/load-native.ts under vitest and as dist/index.{js,cjs}
// once built: both are one folder below the package root, where
// node-gyp-build looks in build/ and prebuilds/.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let loaded: { native: SelectNative } | { error: unknown } | undefined;

/** Loads the addon once; throws the load error (the same one on every call). */
export function loadNative(): SelectNative {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      loaded = { native: nodeGypBuild(packageRoot) as SelectNative };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}
