import { BACKEND_SPECIFICATION_VERSION, KNOWN_BACKENDS, NativeSelector, NotImplementedError, toOSError } from '@evloop/interface';
import type { Availability, BackendDescriptor, NativeSelectorBinding } from '@evloop/interface';
import { loadNative } from './load-native.js';

const PACKAGE_NAME = '@evloop/selector-select';
const PLATFORMS = KNOWN_BACKENDS.find((known) => known.name === 'select')!.platforms;

function loadSupported() {
  const native = loadNative();
  if (native.unsupportedReason !== undefined) {
    throw new NotImplementedError(`${PACKAGE_NAME}: ${native.unsupportedReason}`);
  }
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
    return loadSupported().FD_SETSIZE;
  }

  constructor() {
    const native = loadSupported();
    super(new native.Selector() as NativeSelectorBinding);
  }
}

function available(): Availability {
  if (!(PLATFORMS as readonly string[]).includes(process.platform)) {
    return { ok: false, reason: `select(2) is not available on ${process.platform}; ${PACKAGE_NAME} supports ${PLATFORMS.join(', ')}` };
  }
  let limit: number;
  try {
    const native = loadNative();
    if (native.unsupportedReason !== undefined) return { ok: false, reason: `${PACKAGE_NAME}: ${native.unsupportedReason}` };
    native.probe();
    limit = native.FD_SETSIZE;
  } catch (error) {
    return { ok: false, reason: `${PACKAGE_NAME} cannot be used: ${describeError(error)}` };
  }
  return {
    ok: true,
    notes: `fds >= FD_SETSIZE (${limit}) are refused with RangeError; idle waits run on a helper thread (select has no pollable kernel object)`,
  };
}

function describeError(error: unknown): string {
  const typed = toOSError(error);
  return typed instanceof Error ? typed.message : String(typed);
}

/** The `BackendDescriptor` discovery reads. */
export const backend: BackendDescriptor = {
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: 'select',
  kind: 'selector',
  packageName: PACKAGE_NAME,
  platforms: PLATFORMS,
  available,
  createSelector: () => new SelectSelector(),
};
