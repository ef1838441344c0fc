import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSelectorBinding } from '@evloop/interface';

/**
 * What `selector_poll.node` exports: the binding class and a probe, or, when
 * it was built where poll(2) does not exist, only why (evloop/platform.h).
 */
export type PollNative =
  | {
      /** A poll(2) registration set, waiting on a helper thread when watched. */
      Selector: new () => NativeSelectorBinding;
      /** Opens a pipe, waits on it with poll(2) and closes it; throws `{ errno, code, syscall }` when poll(2) does not work. */
      probe(): void;
      unsupportedReason?: undefined;
    }
  | { unsupportedReason: string };

// This file runs as src/load-native.ts under vitest and as dist/index.{js,cjs}
// once built: both are one folder below the package root, where
// node-gyp-build looks in build/ and prebuilds/.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let loaded: { native: PollNative } | { error: unknown } | undefined;

/** Loads the addon once; throws the load error (the same one on every call). */
export function loadNative(): PollNative {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      loaded = { native: nodeGypBuild(packageRoot) as PollNative };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}
