import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSelectorBinding } from '@evloop/interface';

/** What `build/Release/selector_select.node` exports. */
export type SelectNative =
  | {
      Selector: new () => NativeSelectorBinding;
      /** Opens a pipe, selects on it and closes it; throws `{ errno, syscall }` when select(2) does not work. */
      probe(): void;
      /** The compile-time FD_SETSIZE: fds at or above it are refused by `add`. */
      FD_SETSIZE: number;
      unsupportedReason?: undefined;
    }
  | {
      /** The addon was built on a platform where select is not written yet (Windows): why it cannot work. */
      unsupportedReason: string;
    };

let loaded: { native: SelectNative } | { error: unknown } | undefined;

/**
 * Loads the addon once, from the package root (one directory above both
 * `src/` and `dist/`). A load failure is remembered and thrown again, so
 * `available()` can report it and the constructor can throw it.
 */
export function loadNative(): SelectNative {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      const root = join(dirname(fileURLToPath(import.meta.url)), '..');
      loaded = { native: nodeGypBuild(root) as SelectNative };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}
