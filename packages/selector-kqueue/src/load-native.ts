import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSelectorBinding } from '@evloop/interface';

/** What `selector_kqueue.node` exports. */
export interface KqueueNative {
  /** Opens a kqueue; throws `{ errno, syscall }` when it cannot. */
  Kqueue: new () => NativeSelectorBinding;
}

// src/load-native.ts under vitest and dist/index.{js,cjs} once built are both
// one folder below the package root, where node-gyp-build looks in build/
// and prebuilds/.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let loaded: { native: KqueueNative } | { error: unknown } | undefined;

/** Loads the addon once; throws the load error (the same one on every call). */
export function loadNative(): KqueueNative {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      loaded = { native: nodeGypBuild(packageRoot) as KqueueNative };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}

/**
 * True for node-gyp-build's "nothing built for this platform" error, the one
 * load failure that means "not built" rather than "built but broken".
 */
export function isNotBuiltError(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('No native build was found');
}
