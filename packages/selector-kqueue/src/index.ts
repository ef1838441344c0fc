import { NativeSelector, nativeBackend, sysLoader, toOSError, type BackendDescriptor, type NativeSelectorBinding } from '@evloop/interface';
import { loadNative, type KqueueNative } from './load-native.js';

const native = nativeBackend<Extract<KqueueNative, { Selector: unknown }>>({
  name: 'kqueue',
  load: loadNative,
  probe: (addon) => addon.probe(),
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
 * Python's `selectors.KqueueSelector`: level-triggered `EVFILT_READ` and
 * `EVFILT_WRITE` filters, with an fd's two filters merged into one ready
 * pair, and `watch()` waiting on the kqueue fd through a libuv poll handle
 * in Node's own loop.
 */
export class KqueueSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'kqueue';

  constructor() {
    super(openBinding());
  }
}

/** The kqueue backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = native.descriptor({ createSelector: () => new KqueueSelector() });
