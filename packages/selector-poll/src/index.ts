import { NativeSelector, nativeBackend, sysLoader, toOSError, type BackendDescriptor, type NativeSelectorBinding } from '@evloop/interface';
import { loadNative, type PollNative } from './load-native.js';

const native = nativeBackend<Extract<PollNative, { Selector: unknown }>>({
  name: 'poll',
  load: loadNative,
  probe: (addon) => {
    addon.probe();
    return { ok: true, notes: 'idle waits run on a helper thread (poll has no pollable kernel object)' };
  },
  sys: sysLoader(import.meta.url),
});

function openBinding(): NativeSelectorBinding {
  const addon = native.require();
  try {
    return new addon.Selector();
  } catch (error) {
    throw toOSError(error);
  }
}

/**
 * A selector on poll(2), as Python's `selectors.PollSelector`: any fd number,
 * level-triggered. With no kernel object to watch, `watch()` waits on a
 * helper thread (see the package README).
 */
export class PollSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'poll';

  constructor() {
    super(openBinding(), { priority: true, checksIdentity: true });
  }
}

/** The poll backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = native.descriptor({ createSelector: () => new PollSelector() });
