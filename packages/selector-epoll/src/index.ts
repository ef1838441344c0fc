import {
  BACKEND_SPECIFICATION_VERSION,
  KNOWN_BACKENDS,
  NativeSelector,
  RuntimeError,
  toOSError,
  type Availability,
  type BackendDescriptor,
  type NativeSelectorBinding,
} from '@evloop/interface';
import { loadNative, type EpollNative } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'epoll')!;

type Loaded = Extract<EpollNative, { Selector: unknown }>;

/** The sentence evloop/platform.h gives where epoll does not exist, or undefined here. */
function platformReason(): string | undefined {
  if ((known.platforms as readonly string[]).includes(process.platform)) return undefined;
  return `epoll does not exist on ${process.platform}; it needs Linux or Android`;
}

/** The addon, or why a selector cannot be made here: the platform or the addon. */
function loadSupported(): Loaded | string {
  const platform = platformReason();
  if (platform !== undefined) return platform;
  let native: EpollNative;
  try {
    native = loadNative();
  } catch (error) {
    return `the native addon could not be loaded (build it with \`pnpm native:build\` or reinstall): ${messageOf(error)}`;
  }
  return native.unsupportedReason ?? (native as Loaded);
}

function openBinding(helperThread: boolean): NativeSelectorBinding {
  const native = loadSupported();
  if (typeof native === 'string') throw new RuntimeError(`${known.packageName} cannot create a selector: ${native}`);
  try {
    return new native.Selector({ helperThread });
  } catch (error) {
    throw toOSError(error);
  }
}

/**
 * True in runtimes whose libuv poll handles cannot watch the epoll fd: Bun
 * (its `uv_poll_init` panics) and Deno (its emulation never reports the
 * epoll fd readable). There the idle wait runs on a helper thread.
 */
export function runtimeNeedsHelperThread(): boolean {
  return typeof process.versions.bun === 'string' || (globalThis as { Deno?: unknown }).Deno !== undefined;
}

/** Options of `new EpollSelector()`. */
export interface EpollSelectorOptions {
  /**
   * Wait for the epoll fd on a helper thread instead of through a libuv
   * poll handle when the loop is idle. Defaults to `runtimeNeedsHelperThread()`.
   */
  helperThread?: boolean;
}

/**
 * Python's `selectors.EpollSelector`: level-triggered epoll, with `watch()`
 * waiting on the epoll fd through a libuv poll handle in Node's own loop (or
 * on a helper thread, see `EpollSelectorOptions`).
 */
export class EpollSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'epoll';

  constructor(options: EpollSelectorOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const { helperThread = runtimeNeedsHelperThread() } = options;
    if (typeof helperThread !== 'boolean') throw new TypeError(`options.helperThread must be a boolean, got ${typeof helperThread}`);
    // epoll keeps a registration for as long as its file is open: reopen
    // lets the selector rebuild the set when a closed fd's duplicate keeps one.
    super(openBinding(helperThread), { reopen: () => openBinding(helperThread), priority: true });
  }
}

function available(): Availability {
  try {
    const native = loadSupported();
    if (typeof native === 'string') return { ok: false, reason: native };
    try {
      native.probe();
    } catch (error) {
      return { ok: false, reason: `cannot open an epoll instance: ${messageOf(toOSError(error))}` };
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `epoll probe failed: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The epoll backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = Object.freeze({
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: known.name,
  kind: known.kind,
  packageName: known.packageName,
  platforms: known.platforms,
  available,
  createSelector: () => new EpollSelector(),
});
