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
import { loadNative, type PollNative } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'poll')!;

type Loaded = Extract<PollNative, { Selector: unknown }>;

/** The sentence evloop/platform.h gives where poll(2) does not exist, or undefined here. */
function platformReason(): string | undefined {
  if ((known.platforms as readonly string[]).includes(process.platform)) return undefined;
  return `poll(2) does not exist on ${process.platform}; it needs a POSIX system`;
}

/** The addon, or why a selector cannot be made here: the platform or the addon. */
function loadSupported(): Loaded | string {
  const platform = platformReason();
  if (platform !== undefined) return platform;
  let native: PollNative;
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

function available(): Availability {
  try {
    const native = loadSupported();
    if (typeof native === 'string') return { ok: false, reason: native };
    try {
      native.probe();
    } catch (error) {
      return { ok: false, reason: `poll(2) does not work here: ${messageOf(toOSError(error))}` };
    }
    return { ok: true, notes: 'idle waits run on a helper thread (poll has no pollable kernel object)' };
  } catch (error) {
    return { ok: false, reason: `poll probe failed: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The poll backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = Object.freeze({
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: known.name,
  kind: known.kind,
  packageName: known.packageName,
  platforms: known.platforms,
  available,
  createSelector: () => new PollSelector(),
});
