import { nativeBackend, sysLoader, type Availability, type BackendDescriptor } from '@evloop/interface';
import { readFileSync } from 'node:fs';
import { loadNative, runtimeNeedsHelperThread, type UringNative } from './load-native.js';
import { UringProactor } from './uring-proactor.js';

export { UringProactor, type UringProactorOptions } from './uring-proactor.js';
export { runtimeNeedsHelperThread, type RingFeatures } from './load-native.js';

const ENOSYS = 38;
/** available()'s notes where the kernel signals a DEFER_TASKRUN ring's eventfd late and the runtime waits on it. */
const LATE_EVENTFD_NOTE =
  'rings run without DEFER_TASKRUN in this runtime: its idle wait is on the ring\'s eventfd (a helper thread), and this kernel signals that eventfd late for deferred completion work, which would hold every idle wake-up back (14-20 ms on one 6.18 kernel)';
/** available()'s notes in Node where an idle loop waits in the ring (RingFeatures.idleWaitInRing). */
const IDLE_WAIT_NOTE =
  "an idle loop waits in the ring itself (one io_uring_enter), and that wait is added to libuv's idle time, so performance.eventLoopUtilization() reads as for libuv's own wait (libuv 1.45+, checked against libuv's own figures before the first wait is counted); new UringProactor({ idleWaitInRing: false }) waits in libuv instead";
/**
 * Why the default policy takes epoll first where uring runs otherwise than
 * it was measured faster than epoll (docs/backends.md, "io_uring beside
 * epoll"): in Node, waiting in the ring with DEFER_TASKRUN.
 */
const PASSED_OVER_HELPER =
  'under Bun and Deno an idle uring loop waits on a helper thread, where it has not been measured faster than epoll';
const PASSED_OVER_NO_WAIT =
  "this kernel cannot hold the loop's idle wait in the ring (Linux 5.11+), where uring was measured faster than epoll";
const PASSED_OVER_NO_DEFER =
  'this kernel has no IORING_SETUP_DEFER_TASKRUN (Linux 6.1+), with which uring was measured faster than epoll';
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

/**
 * A real ring and a real no-op submission: seccomp profiles (Docker's
 * default among them) and kernel.io_uring_disabled fail one of these.
 */
function probe(native: UringNative): Availability {
  const failure = native.probeUsable();
  if (failure === null) {
    // How a default ring waits here, for the doctor's notes: in Node in the
    // ring (5.11+, as RingFeatures.idleWaitInRing says); elsewhere on the
    // eventfd, without DEFER_TASKRUN where that is signalled late.
    if (runtimeNeedsHelperThread()) {
      const helper = { ok: true, passedOver: PASSED_OVER_HELPER } as const;
      return native.eventFdSignalsAtOnce(true) === false ? { ...helper, notes: LATE_EVENTFD_NOTE } : helper;
    }
    if (!native.waitsInRing()) return { ok: true, passedOver: PASSED_OVER_NO_WAIT };
    // null: the kernel has no DEFER_TASKRUN (6.1+).
    if (native.eventFdSignalsAtOnce(true) === null) return { ok: true, notes: IDLE_WAIT_NOTE, passedOver: PASSED_OVER_NO_DEFER };
    return { ok: true, notes: IDLE_WAIT_NOTE };
  }
  if (failure.errno === ENOSYS) {
    return { ok: false, reason: `io_uring is not available: ${failure.message} (Linux 5.6 or later is needed, and no seccomp filter may block io_uring_setup); use epoll instead` };
  }
  if (failure.errno === EPERM || failure.errno === EACCES) {
    return { ok: false, reason: `io_uring is not permitted here: ${failure.message}${disabledSwitch()}; use epoll instead` };
  }
  return { ok: false, reason: `io_uring could not run a no-op: ${failure.message}; use epoll instead` };
}

const native = nativeBackend<UringNative>({ name: 'uring', load: loadNative, probe, sys: sysLoader(import.meta.url) });

/** The io_uring backend descriptor that evloop's backend discovery loads. */
export const backend: BackendDescriptor = native.descriptor({ createProactor: () => new UringProactor() });
