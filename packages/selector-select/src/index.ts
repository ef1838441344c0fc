import { NativeSelector, nativeBackend, sysLoader, type BackendDescriptor } from '@evloop/interface';
import { loadNative, type SelectNative } from './load-native.js';

const native = nativeBackend<Extract<SelectNative, { Selector: unknown }>>({
  name: 'select',
  load: loadNative,
  probe: (addon) => {
    addon.probe();
    return {
      ok: true,
      notes: `fds >= FD_SETSIZE (${addon.FD_SETSIZE}) are refused with RangeError; idle waits run on a helper thread (select has no pollable kernel object)`,
    };
  },
  sys: sysLoader(import.meta.url),
});

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
    return native.require().FD_SETSIZE;
  }

  constructor() {
    // exceptfds for EVENT_PRIORITY on POSIX; Winsock's select is not wired for it.
    super(new (native.require().Selector)(), { priority: process.platform !== 'win32', checksIdentity: true });
  }
}

/** The select backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = native.descriptor({ createSelector: () => new SelectSelector() });
