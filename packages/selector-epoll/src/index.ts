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
import { loadNative } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'epoll')!;

/** The sentence evloop/platform.h gives where epoll does not exist, or undefined here. */
function platformReason(): string | undefined {
  if ((known.platforms as readonly string[]).includes(process.platform)) return undefined;
  return `epoll does not exist on ${process.platform}; it needs Linux or Android`;
}

/** Why a selector cannot be made here: the platform, the addon, or the kernel (a probe). */
function unusableReason(): string | undefined {
  const platform = platformReason();
  if (platform !== undefined) return platform;
  let native;
  try {
    native = loadNative();
  } catch (error) {
    return notLoadedReason(error);
  }
  if (native.unsupportedReason !== undefined) return native.unsupportedReason;
  try {
    native.probe();
  } catch (error) {
    return `cannot open an epoll instance: ${messageOf(toOSError(error))}`;
  }
  return undefined;
}

function notLoadedReason(error: unknown): string {
  return `the native addon could not be loaded (build it with \`pnpm native:build\` or reinstall): ${messageOf(error)}`;
}

function openBinding(): NativeSelectorBinding {
  const cannot = `${known.packageName} cannot create a selector`;
  const platform = platformReason();
  if (platform !== undefined) throw new RuntimeError(`${cannot}: ${platform}`);
  let native;
  try {
    native = loadNative();
  } catch (error) {
    throw new RuntimeError(`${cannot}: ${notLoadedReason(error)}`, { cause: error });
  }
  if (native.unsupportedReason !== undefined) throw new RuntimeError(`${cannot}: ${native.unsupportedReason}`);
  try {
    return new native.Selector();
  } catch (error) {
    throw toOSError(error);
  }
}

/**
 * Python's `selectors.EpollSelector`: level-triggered epoll, with `watch()`
 * waiting on the epoll fd through a libuv poll handle in Node's own loop.
 */
export class EpollSelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'epoll';

  constructor() {
    super(openBinding());
  }
}

function available(): Availability {
  try {
    const reason = unusableReason();
    return reason === undefined ? { ok: true } : { ok: false, reason };
  } catch (error) {
    return { ok: false, reason: `epoll probe failed: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The epoll backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = Object.freeze({
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: known.name,
  kind: known.kind,
  packageName: known.packageName,
  platforms: known.platforms,
  available,
  createSelector: () => new EpollSelector(),
});
