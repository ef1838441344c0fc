import type { BaseSelector } from './selector.js';
import type { Proactor } from './proactor.js';

/**
 * The version of the backend contract a descriptor implements. The core
 * refuses a backend whose major version it does not know, with a message
 * naming both versions.
 */
export const BACKEND_SPECIFICATION_VERSION = 'v1' as const;

/** Every backend evloop knows, in no particular order; preference is per platform in core-policy. */
export const KNOWN_BACKENDS = [
  { name: 'epoll', kind: 'selector', packageName: '@evloop/selector-epoll', platforms: ['linux', 'android'] },
  { name: 'kqueue', kind: 'selector', packageName: '@evloop/selector-kqueue', platforms: ['darwin', 'freebsd', 'openbsd', 'netbsd'] },
  { name: 'poll', kind: 'selector', packageName: '@evloop/selector-poll', platforms: ['linux', 'android', 'darwin', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix'] },
  { name: 'select', kind: 'selector', packageName: '@evloop/selector-select', platforms: ['linux', 'android', 'darwin', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'win32'] },
  { name: 'iocp', kind: 'proactor', packageName: '@evloop/proactor-iocp', platforms: ['win32'] },
  { name: 'uring', kind: 'proactor', packageName: '@evloop/proactor-uring', platforms: ['linux'] },
] as const;

export type KnownBackend = (typeof KNOWN_BACKENDS)[number];
/** The name of a backend evloop knows. */
export type BackendName = KnownBackend['name'];

export type Availability = { ok: true; notes?: string } | { ok: false; reason: string };

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
}
