import { BACKEND_SPECIFICATION_VERSION, KNOWN_BACKENDS, NativeSelector, NotImplementedError, toOSError } from '@evloop/interface';
import type { Availability, BackendDescriptor, NativeSelectorBinding } from '@evloop/interface';
import { loadNative } from './load-native.js';

const PACKAGE_NAME = '@evloop/selector-poll';
const PLATFORMS = KNOWN_BACKENDS.find((known) => known.name === 'poll')!.platforms;

function createBinding(): NativeSelectorBinding {
  const native = loadNative();
  if (native.unsupportedReason !== undefined) {
    throw new NotImplementedError(`${PACKAGE_NAME}: ${native.unsupportedReason}`);
  }
  return new native.Selector();
}

/**
 * A selector on poll(2), as Python's `selectors.PollSelector`: any fd number,
 * level-triggered. With no kernel object to watch, `watch()` waits on a
 * helper thread (see the package README).
 */
export class PollSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'poll';

  constructor() {
    super(createBinding());
  }
}

function available(): Availability {
  if (!(PLATFORMS as readonly string[]).includes(process.platform)) {
    return { ok: false, reason: `poll(2) is not available on ${process.platform}; ${PACKAGE_NAME} supports ${PLATFORMS.join(', ')}` };
  }
  try {
    const native = loadNative();
    if (native.unsupportedReason !== undefined) return { ok: false, reason: `${PACKAGE_NAME}: ${native.unsupportedReason}` };
    native.probe();
  } catch (error) {
    return { ok: false, reason: `${PACKAGE_NAME} cannot be used: ${describeError(error)}` };
  }
  return { ok: true, notes: 'idle waits run on a helper thread (poll has no pollable kernel object)' };
}

function describeError(error: unknown): string {
  const typed = toOSError(error);
  return typed instanceof Error ? typed.message : String(typed);
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
