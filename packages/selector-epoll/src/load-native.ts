import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSelectorBinding } from '@evloop/interface';

/**
 * What `selector_epoll.node` exports: the binding class and a probe, or, when
 * it was built where epoll does not exist, only why (evloop/platform.h).
 */
export type EpollNative =
  | {
      /**
       * Opens an epoll fd; throws `{ errno, code, syscall }` when it cannot.
       * With `helperThread`, `watch()` waits on a helper thread instead of a
       * libuv poll handle.
       */
      Selector: new (options?: { helperThread?: boolean }) => NativeSelectorBinding;
      /** Opens and closes an epoll fd; throws `{ errno, code, syscall }` when it cannot. */
      probe(): void;
      unsupportedReason?: undefined;
    }
  | { unsupportedReason: string };

// This file runs as src/load-native.ts under vitest and as dist/index.{js,cjs}
// once built: both are one folder below the package root, where
// node-gyp-build looks in build/ and prebuilds/.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let loaded: { native: EpollNative } | { error: unknown } | undefined;

/** Loads the addon once; throws the load error (the same one on every call). */
export function loadNative(): EpollNative {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      loaded = { native: nodeGypBuild(packageRoot) as EpollNative };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}
