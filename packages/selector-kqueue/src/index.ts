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
import { loadNative, type KqueueNative } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'kqueue')!;

type Loaded = Extract<KqueueNative, { Selector: unknown }>;

/** The sentence evloop/platform.h gives where kqueue does not exist, or undefined here. */
function platformReason(): string | undefined {
  if ((known.platforms as readonly string[]).includes(process.platform)) return undefined;
  return `kqueue does not exist on ${process.platform}; it needs macOS or a BSD`;
}

/** The addon, or why a selector cannot be made here: the platform or the addon. */
function loadSupported(): Loaded | string {
  const platform = platformReason();
  if (platform !== undefined) return platform;
  let native: KqueueNative;
  try {
    native = loadNative();
  } catch (error) {
    return `the native addon could not be loaded (build it with \`pnpm native:build\` or reinstall): ${messageOf(error)}`;
  }
  return native.unsupportedReason ?? (native as Loaded);
}

function openBinding(): NativeSelectorBinding {
  const native = loadSupported();
  if (typeof native === 'string') throw new RuntimeError(`${known.packageName} cannot create a selector: ${native}`);
  try {
    return new native.Selector();
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
    const native = loadSupported();
    if (typeof native === 'string') return { ok: false, reason: native };
    try {
      native.probe();
    } catch (error) {
      return { ok: false, reason: `cannot open a kqueue: ${messageOf(toOSError(error))}` };
    }
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `kqueue probe failed: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
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
