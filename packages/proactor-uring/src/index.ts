import { BACKEND_SPECIFICATION_VERSION, KNOWN_BACKENDS, type Availability, type BackendDescriptor } from '@evloop/interface';
import { readFileSync } from 'node:fs';
import { loadNative } from './load-native.js';
import { UringProactor } from './uring-proactor.js';

export { UringProactor, type UringProactorOptions } from './uring-proactor.js';
export type { RingFeatures } from './load-native.js';

const known = KNOWN_BACKENDS.find((entry) => entry.name === 'uring')!;

const ENOSYS = 38;
const EPERM = 1;
const EACCES = 13;

/** What `kernel.io_uring_disabled` says, when the kernel has that switch (6.6+). */
function disabledSwitch(): string {
  try {
    const value = readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim();
    if (value === '2') return ' (kernel.io_uring_disabled = 2: io_uring is off for every process)';
    if (value === '1') return ' (kernel.io_uring_disabled = 1: only processes in kernel.io_uring_group may use it)';
  } catch {
    // No such switch: an older kernel.
  }
  return '';
}

function available(): Availability {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `io_uring exists only on Linux, not on ${process.platform}` };
  }
  let native;
  try {
    native = loadNative();
  } catch (error) {
    return { ok: false, reason: `the native addon could not be loaded (build it with \`pnpm native:build\` or reinstall): ${messageOf(error)}` };
  }
  // A real ring and a real no-op submission: seccomp profiles (Docker's
  // default among them) and kernel.io_uring_disabled fail one of these.
  if (native.unsupportedReason !== undefined) return { ok: false, reason: native.unsupportedReason };
  const failure = native.probeUsable();
  if (failure === null) return { ok: true };
  if (failure.errno === ENOSYS) {
    return { ok: false, reason: `io_uring is not available: ${failure.message} (Linux 5.6 or later is needed, and no seccomp filter may block io_uring_setup); use epoll instead` };
  }
  if (failure.errno === EPERM || failure.errno === EACCES) {
    return { ok: false, reason: `io_uring is not permitted here: ${failure.message}${disabledSwitch()}; use epoll instead` };
  }
  return { ok: false, reason: `io_uring could not run a no-op: ${failure.message}; use epoll instead` };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The io_uring backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = Object.freeze({
  specificationVersion: BACKEND_SPECIFICATION_VERSION,
  name: known.name,
  kind: known.kind,
  packageName: known.packageName,
  platforms: known.platforms,
  available,
  createProactor: () => new UringProactor(),
});
