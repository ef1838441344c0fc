import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BACKEND_SPECIFICATION_VERSION,
  KNOWN_BACKENDS,
  type Availability,
  type BackendDescriptor,
  type BackendName,
  type KnownBackend,
} from './backend.js';
import { RuntimeError, toOSError } from './errors.js';
import type { BaseSelector } from './selector.js';
import type { Proactor } from './proactor.js';
import type { SysModule } from './sys.js';

/**
 * The one way every evloop package says that its mechanism does not exist
 * here, word for word what `evloop/platform.h` (`ExportUnsupported`) makes a
 * native module say: "kqueue does not exist on linux; it needs macOS or a BSD".
 */
export function notOnThisPlatform(mechanism: string, needs: string, platform: string = process.platform): string {
  return `${mechanism} does not exist on ${platform}; it needs ${needs}`;
}

/** What an addon built where its mechanism does not exist exports instead (evloop/platform.h). */
export interface UnsupportedAddon {
  unsupportedReason: string;
}

/**
 * A function that loads a package's addon once, with `node-gyp-build`, from
 * the package root: one folder above `moduleUrl` (the caller's
 * `import.meta.url`: src/load-native.ts under vitest, dist/index.{js,cjs}
 * once built). `node-gyp-build` is resolved from the calling package, which
 * declares it. A failed load is remembered, and every call throws that error.
 */
export function addonLoader<T>(moduleUrl: string | URL): () => T {
  const packageRoot = join(dirname(fileURLToPath(moduleUrl)), '..');
  let loaded: { native: T } | { error: unknown } | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        const nodeGypBuild = createRequire(moduleUrl)('node-gyp-build') as (root: string) => unknown;
        loaded = { native: nodeGypBuild(packageRoot) as T };
      } catch (error) {
        loaded = { error };
      }
    }
    if ('error' in loaded) throw loaded.error;
    return loaded.native;
  };
}

/**
 * A function that loads `@evloop/sys` as the calling package resolves it
 * (`moduleUrl` is its `import.meta.url`): a backend's declared optional
 * dependency. Returns undefined when it is not installed; any other load
 * failure (an addon that does not load here) is thrown.
 */
export function sysLoader(moduleUrl: string | URL): () => SysModule | undefined {
  let loaded: { sys: SysModule | undefined } | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        loaded = { sys: createRequire(moduleUrl)('@evloop/sys') as SysModule };
      } catch (error) {
        const record = error as { code?: unknown; message?: unknown };
        if (record?.code !== 'MODULE_NOT_FOUND' || typeof record.message !== 'string' || !record.message.includes("'@evloop/sys'")) throw error;
        loaded = { sys: undefined };
      }
    }
    return loaded.sys;
  };
}

export interface NativeBackendOptions<N extends object> {
  /** The backend, as `KNOWN_BACKENDS` names it: its package, platforms, mechanism and what it needs come from there. */
  name: BackendName;
  /** Loads the addon (the package's `loadNative`, usually `addonLoader(import.meta.url)`); may throw. */
  load: () => N | UnsupportedAddon;
  /**
   * Checks for real that the mechanism works (opens and closes its kernel
   * object). Throwing `{ errno, syscall }` (or any error) means it does not:
   * `available()` then says "<mechanism> does not work here: <error>".
   * Returning an `Availability` says so directly; nothing means usable.
   */
  probe: (native: N) => Availability | void;
  /** Loads `@evloop/sys` for `backend.sys` (`sysLoader(import.meta.url)`). */
  sys?: () => SysModule | undefined;
}

/** The shared JavaScript side of a native backend package, from `nativeBackend()`. */
export interface NativeBackend<N extends object> {
  readonly known: KnownBackend;
  /** Why this backend cannot work here (the platform, or the addon), or the loaded addon. Never throws. */
  loadSupported(): N | string;
  /** The loaded addon, or a `RuntimeError` ("<package> cannot create a selector: <why>"). */
  require(): N;
  /** `available()` of the descriptor: never throws; probes for real. */
  available(): Availability;
  /** The backend descriptor of this package, frozen, with `sys` read on demand. */
  descriptor(factories: { createSelector: () => BaseSelector } | { createProactor: () => Proactor }): BackendDescriptor;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Load, platform check, probe and descriptor of a native backend, written
 * once for every backend package so that each says "not on this platform",
 * "the addon could not be loaded" and "does not work here" the same way.
 */
export function nativeBackend<N extends object>(options: NativeBackendOptions<N>): NativeBackend<N> {
  const known = KNOWN_BACKENDS.find((entry) => entry.name === options.name);
  if (known === undefined) throw new RangeError(`options.name must be a backend evloop knows, got ${JSON.stringify(options.name)}`);
  const { load, probe, sys } = options;

  const loadSupported = (): N | string => {
    if (!(known.platforms as readonly string[]).includes(process.platform)) return notOnThisPlatform(known.mechanism, known.needs);
    let native: N | UnsupportedAddon;
    try {
      native = load();
    } catch (error) {
      return `the native addon could not be loaded (build it with \`pnpm native:build\` or reinstall): ${messageOf(error)}`;
    }
    if (typeof (native as Partial<UnsupportedAddon>).unsupportedReason === 'string') return (native as UnsupportedAddon).unsupportedReason;
    return native as N;
  };

  const requireNative = (): N => {
    const native = loadSupported();
    if (typeof native === 'string') throw new RuntimeError(`${known.packageName} cannot create a ${known.kind}: ${native}`);
    return native;
  };

  const available = (): Availability => {
    try {
      const native = loadSupported();
      if (typeof native === 'string') return { ok: false, reason: native };
      try {
        return probe(native) ?? { ok: true };
      } catch (error) {
        return { ok: false, reason: `${known.mechanism} does not work here: ${messageOf(toOSError(error))}` };
      }
    } catch (error) {
      return { ok: false, reason: `${known.mechanism} probe failed: ${messageOf(error)}` };
    }
  };

  const descriptor = (factories: { createSelector: () => BaseSelector } | { createProactor: () => Proactor }): BackendDescriptor => {
    const kindFactory = known.kind === 'selector' ? 'createSelector' : 'createProactor';
    if (typeof (factories as Record<string, unknown>)[kindFactory] !== 'function') {
      throw new TypeError(`the ${known.name} backend is a ${known.kind} backend: factories.${kindFactory} must be a function`);
    }
    const base = {
      specificationVersion: BACKEND_SPECIFICATION_VERSION,
      name: known.name,
      kind: known.kind,
      packageName: known.packageName,
      platforms: known.platforms,
      available,
      ...factories,
    };
    const loadSys = sys;
    return Object.freeze(
      loadSys === undefined
        ? base
        : Object.defineProperty(base, 'sys', { enumerable: false, get: (): SysModule | undefined => loadSys() }),
    ) as BackendDescriptor;
  };

  return { known, loadSupported, require: requireNative, available, descriptor };
}
