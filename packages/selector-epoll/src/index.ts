import { NativeSelector, nativeBackend, sysLoader, toOSError, type BackendDescriptor, type NativeSelectorBinding } from '@evloop/interface';
import { loadNative, type EpollNative } from './load-native.js';

const native = nativeBackend<Extract<EpollNative, { Selector: unknown }>>({
  name: 'epoll',
  load: loadNative,
  probe: (addon) => addon.probe(),
  sys: sysLoader(import.meta.url),
});

function openBinding(helperThread: boolean): NativeSelectorBinding {
  const addon = native.require();
  try {
    return new addon.Selector({ helperThread });
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

/** The epoll backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = native.descriptor({ createSelector: () => new EpollSelector() });
