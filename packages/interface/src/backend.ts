import type { BaseSelector } from './selector.js';
import type { Proactor } from './proactor.js';
import type { SysModule } from './sys.js';

/**
 * The version of the backend contract a descriptor implements. The core
 * refuses a backend whose major version it does not know, with a message
 * naming both versions.
 */
export const BACKEND_SPECIFICATION_VERSION = 'v1' as const;

/**
 * Every backend evloop knows, in no particular order; preference is per
 * platform in core-policy. `mechanism` and `needs` make the one sentence for
 * "not on this platform" (`notOnThisPlatform`), as the addon's
 * `evloop/platform.h` says it.
 */
export const KNOWN_BACKENDS = [
  { name: 'epoll', kind: 'selector', packageName: '@evloop/selector-epoll', platforms: ['linux', 'android'], mechanism: 'epoll', needs: 'Linux or Android' },
  { name: 'kqueue', kind: 'selector', packageName: '@evloop/selector-kqueue', platforms: ['darwin', 'freebsd', 'openbsd', 'netbsd'], mechanism: 'kqueue', needs: 'macOS or a BSD' },
  { name: 'poll', kind: 'selector', packageName: '@evloop/selector-poll', platforms: ['linux', 'android', 'darwin', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix'], mechanism: 'poll(2)', needs: 'a POSIX system' },
  { name: 'select', kind: 'selector', packageName: '@evloop/selector-select', platforms: ['linux', 'android', 'darwin', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'win32'], mechanism: 'select(2)', needs: 'a POSIX system or Windows' },
  { name: 'iocp', kind: 'proactor', packageName: '@evloop/proactor-iocp', platforms: ['win32'], mechanism: 'I/O completion ports', needs: 'Windows' },
  { name: 'uring', kind: 'proactor', packageName: '@evloop/proactor-uring', platforms: ['linux'], mechanism: 'io_uring', needs: 'Linux 5.6 or later' },
] as const;

export type KnownBackend = (typeof KNOWN_BACKENDS)[number];
/** The name of a backend evloop knows. */
export type BackendName = KnownBackend['name'];

/**
 * What `available()` found. When usable, `notes` are shown by `listBackends()`
 * and evloop-doctor, and `passedOver` says why the default policy should take
 * a later backend of the platform's order while one of those is usable (this
 * one is still used when asked for, and when no later one is usable): for
 * io_uring, a runtime or kernel where it was not measured faster than epoll.
 */
export type Availability = { ok: true; notes?: string; passedOver?: string } | { ok: false; reason: string };

/**
 * What each backend package exports as `backend`.
 *
 * - `available()` never throws; it opens and closes the real kernel object
 *   (and for io_uring submits a no-op) so that a seccomp filter or a missing
 *   kernel feature is found here, not at the first `select`.
 * - A selector backend has `createSelector`; a proactor backend `createProactor`.
 */
export interface BackendDescriptor {
  readonly specificationVersion: typeof BACKEND_SPECIFICATION_VERSION;
  readonly name: BackendName | (string & {});
  readonly kind: 'selector' | 'proactor';
  readonly packageName: string;
  readonly platforms: readonly NodeJS.Platform[];
  available(): Availability;
  createSelector?(): BaseSelector;
  createProactor?(): Proactor;
  /**
   * `@evloop/sys` as this backend's package resolves it (its optional
   * dependency), loaded on first read; undefined when it is not installed.
   * The loop makes its sockets with it, so an app needs only the backend.
   * Any other load failure is thrown.
   */
  readonly sys?: SysModule | undefined;
}
