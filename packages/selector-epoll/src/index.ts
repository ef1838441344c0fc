import {
  BACKEND_SPECIFICATION_VERSION,
  KNOWN_BACKENDS,
  NativeSelector,
  toOSError,
  type Availability,
  type BackendDescriptor,
  type NativeSelectorBinding,
} from '@evloop/interface';
import { loadNative } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'epoll')!;

function openBinding(): NativeSelectorBinding {
  const { Epoll } = loadNative();
  try {
    return new Epoll();
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
  if (!(known.platforms as readonly string[]).includes(process.platform)) {
    return { ok: false, reason: `epoll exists only on Linux and Android, not on ${process.platform}` };
  }
  try {
    loadNative();
  } catch (error) {
    return { ok: false, reason: `the native addon could not be loaded (build it with \`pnpm native:build\` or reinstall): ${messageOf(error)}` };
  }
  let binding: NativeSelectorBinding;
  try {
    binding = openBinding();
  } catch (error) {
    return { ok: false, reason: `cannot open an epoll instance: ${messageOf(error)}` };
  }
  try {
    binding.close();
  } catch {
    // Closing a fresh epoll fd cannot fail in a way that matters here.
  }
  return { ok: true };
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
