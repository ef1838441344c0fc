import { BACKEND_SPECIFICATION_VERSION, KNOWN_BACKENDS, NativeSelector, toOSError } from '@evloop/interface';
import type { Availability, BackendDescriptor } from '@evloop/interface';
import { loadNative } from './load-native.js';

const PACKAGE_NAME = '@evloop/selector-poll';
const PLATFORMS = KNOWN_BACKENDS.find((known) => known.name === 'poll')!.platforms;

/**
 * A selector on poll(2), as Python's `selectors.PollSelector`: any fd number,
 * level-triggered. With no kernel object to watch, `watch()` waits on a
 * helper thread (see the package README).
 */
export class PollSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'poll';

  constructor() {
    super(new (loadNative().Selector)());
  }
}

function available(): Availability {
  if (!(PLATFORMS as readonly string[]).includes(process.platform)) {
    return { ok: false, reason: `poll(2) is not available on ${process.platform}; this backend supports ${PLATFORMS.join(', ')}` };
  }
  try {
    loadNative().probe();
  } catch (error) {
    const typed = toOSError(error);
    const message = typed instanceof Error ? typed.message : String(typed);
    return { ok: false, reason: `${PACKAGE_NAME} cannot be used: ${message}` };
  }
  return { ok: true, notes: 'idle waits run on a helper thread (poll has no pollable kernel object)' };
}

/** The `BackendDescriptor` discovery reads. */
export const backend: BackendDescriptor = {
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: 'poll',
  kind: 'selector',
  packageName: PACKAGE_NAME,
  platforms: PLATFORMS,
  available,
  createSelector: () => new PollSelector(),
};
