import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSelectorBinding } from '@evloop/interface';

/** What `build/Release/selector_poll.node` exports. */
export type PollNative =
  | {
      Selector: new () => NativeSelectorBinding;
      /** Opens a pipe, polls it and closes it; throws `{ errno, syscall }` when poll(2) does not work. */
      probe(): void;
      unsupportedReason?: undefined;
    }
  | {
      /** The addon was built on a platform without poll(2) (Windows): why it cannot work. */
      unsupportedReason: string;
    };

let loaded: { native: PollNative } | { error: unknown } | undefined;

/**
 * Loads the addon once, from the package root (one directory above both
 * `src/` and `dist/`). A load failure is remembered and thrown again, so
 * `available()` can report it and the constructor can throw it.
 */
export function loadNative(): PollNative {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      const root = join(dirname(fileURLToPath(import.meta.url)), '..');
      loaded = { native: nodeGypBuild(root) as PollNative };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}
