import {
  BACKEND_SPECIFICATION_VERSION,
  KNOWN_BACKENDS,
  NativeSelector,
  RuntimeError,
  toOSError,
  type Availability,
  type BackendDescriptor,
} from '@evloop/interface';
import { loadNative, type SelectNative } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'select')!;

type Loaded = Extract<SelectNative, { Selector: unknown }>;

/** The sentence evloop/platform.h gives where select(2) does not exist, or undefined here. */
function platformReason(): string | undefined {
  if ((known.platforms as readonly string[]).includes(process.platform)) return undefined;
  return `select(2) does not exist on ${process.platform}; it needs a POSIX system`;
}

/** The addon, or why a selector cannot be made here: the platform or the addon. */
function loadSupported(): Loaded | string {
  const platform = platformReason();
  if (platform !== undefined) return platform;
  let native: SelectNative;
  try {
    native = loadNative();
  } catch (error) {
    return `the native addon could not be loaded (build it with \`pnpm native:build\` or reinstall): ${messageOf(error)}`;
  }
  return native.unsupportedReason ?? (native as Loaded);
}

function loadOrThrow(): Loaded {
  const native = loadSupported();
  if (typeof native === 'string') throw new RuntimeError(`${known.packageName} cannot create a selector: ${native}`);
  return native;
}

/**
 * A selector on select(2), as Python's `selectors.SelectSelector`:
 * level-triggered, for fds below `FD_SETSIZE` only. `register` of a larger
 * fd throws `RangeError` (naming the fd and `FD_SETSIZE`) before any fd_set is
 * touched. With no kernel object to watch, `watch()` waits on a helper thread
 * (see the package README).
 */
export class SelectSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'select';

  /** The compile-time limit: fds must be below it. */
  static get FD_SETSIZE(): number {
    return loadOrThrow().FD_SETSIZE;
  }

  constructor() {
    // exceptfds for EVENT_PRIORITY on POSIX; Winsock's select is not wired for it.
    super(new (loadOrThrow().Selector)(), { priority: process.platform !== 'win32', checksIdentity: true });
  }
}

function available(): Availability {
  try {
    const native = loadSupported();
    if (typeof native === 'string') return { ok: false, reason: native };
    try {
      native.probe();
    } catch (error) {
      return { ok: false, reason: `select(2) does not work here: ${messageOf(toOSError(error))}` };
    }
    return {
      ok: true,
      notes: `fds >= FD_SETSIZE (${native.FD_SETSIZE}) are refused with RangeError; idle waits run on a helper thread (select has no pollable kernel object)`,
    };
  } catch (error) {
    return { ok: false, reason: `select probe failed: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The select backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = Object.freeze({
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: known.name,
  kind: known.kind,
  packageName: known.packageName,
  platforms: known.platforms,
  available,
  createSelector: () => new SelectSelector(),
});
