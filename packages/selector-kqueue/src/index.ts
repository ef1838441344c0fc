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
import { isNotBuiltError, loadNative } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'kqueue')!;

/** Why this platform cannot have kqueue, or undefined where it can. */
function unsupportedReason(): string | undefined {
  if ((known.platforms as readonly string[]).includes(process.platform)) return undefined;
  return `kqueue exists only on macOS and the BSDs (${known.platforms.join(', ')}), not on ${process.platform}`;
}

function notBuiltMessage(error: unknown): string {
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return `the native module of ${known.packageName} is not built (${detail}); build it with node-gyp (the package's native:build script)`;
}

function openBinding(): NativeSelectorBinding {
  const unsupported = unsupportedReason();
  if (unsupported !== undefined) {
    throw new RuntimeError(`${known.packageName} cannot create a selector: ${unsupported}`);
  }
  let Kqueue: new () => NativeSelectorBinding;
  try {
    ({ Kqueue } = loadNative());
  } catch (error) {
    if (isNotBuiltError(error)) throw new RuntimeError(notBuiltMessage(error), { cause: error });
    throw error;
  }
  try {
    return new Kqueue();
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

function available(): Availability {
  try {
    const unsupported = unsupportedReason();
    if (unsupported !== undefined) return { ok: false, reason: unsupported };
    try {
      loadNative();
    } catch (error) {
      if (isNotBuiltError(error)) return { ok: false, reason: notBuiltMessage(error) };
      return { ok: false, reason: `cannot load the native module: ${describeError(error)}` };
    }
    let binding: NativeSelectorBinding;
    try {
      binding = openBinding();
    } catch (error) {
      return { ok: false, reason: `cannot open a kqueue: ${describeError(error)}` };
    }
    binding.close();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `kqueue probe failed: ${describeError(error)}` };
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The kqueue backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = Object.freeze({
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: known.name,
  kind: known.kind,
  packageName: known.packageName,
  platforms: known.platforms,
  available,
  createSelector: () => new KqueueSelector(),
});
