import { createRequire } from 'node:module';
import path from 'node:path';
import {
  BACKEND_SPECIFICATION_VERSION,
  KNOWN_BACKENDS,
  RuntimeError,
  type Availability,
  type BackendDescriptor,
  type BackendName,
} from '@evloop/interface';

/**
 * Backends to try, best first, per platform. The Linux order follows the
 * measurements in docs/backends.md: io_uring first, where it runs as it was
 * measured faster than epoll (in Node, waiting in the ring, with
 * DEFER_TASKRUN); elsewhere its `available()` says `passedOver` and epoll
 * is taken. On Windows the proactor comes first, as asyncio's default since
 * 3.8, then select (sockets only, at most 512).
 */
export const BACKEND_PREFERENCE: Partial<Record<NodeJS.Platform, readonly BackendName[]>> = {
  linux: ['uring', 'epoll', 'poll', 'select'],
  android: ['epoll', 'poll', 'select'],
  darwin: ['kqueue', 'poll', 'select'],
  freebsd: ['kqueue', 'poll', 'select'],
  openbsd: ['kqueue', 'poll', 'select'],
  netbsd: ['kqueue', 'poll', 'select'],
  sunos: ['poll', 'select'],
  aix: ['poll', 'select'],
  win32: ['iocp', 'select'],
};

/**
 * The package the "nothing usable is installed" error suggests, where it is
 * not the first of the order: on Linux epoll, which runs in every container
 * (io_uring, first in the order, is blocked by many seccomp profiles).
 */
const INSTALL_SUGGESTION: Partial<Record<NodeJS.Platform, BackendName>> = { linux: 'epoll' };

export interface BackendReport {
  name: string;
  kind: 'selector' | 'proactor';
  packageName: string;
  /** Position in this platform's preference order, or null when not a candidate here. */
  preference: number | null;
  installed: boolean;
  available: boolean;
  /** Why it is not installed or not available; notes when available. */
  reason: string;
  /**
   * Usable, but the default policy takes a later backend of the order while
   * one is usable (`Availability.passedOver`; `reason` says why).
   */
  passedOver?: true;
  /** The version found, when installed. */
  version?: string;
}

const localRequire = createRequire(import.meta.url);

/** Where a user's app lives: the working directory and the main script's directory. */
function appDirectories(): string[] {
  const directories = [process.cwd()];
  const main = process.argv[1];
  if (main) directories.push(path.dirname(path.resolve(main)));
  return directories;
}

function isNotFound(error: unknown, packageName: string): boolean {
  const record = error as { code?: unknown; message?: unknown };
  return record?.code === 'MODULE_NOT_FOUND' && typeof record.message === 'string' && record.message.includes(`'${packageName}'`);
}

/**
 * Find a package as this package would, then as the app would (a require
 * made in the app's directories, so a pnpm app that depends on the backend
 * but not through core-policy is found too).
 */
export function resolvePackage(packageName: string): string | null {
  const resolvers = [localRequire, ...appDirectories().map((directory) => createRequire(path.join(directory, 'evloop-discovery.js')))];
  for (const resolver of resolvers) {
    try {
      return resolver.resolve(packageName);
    } catch (error) {
      if (!isNotFound(error, packageName)) throw error;
    }
  }
  return null;
}

type Loaded =
  | { ok: true; descriptor: BackendDescriptor; version?: string }
  | { ok: false; installed: boolean; reason: string; loadError?: unknown };

const cache = new Map<string, Loaded>();

/**
 * Load a backend package by name at run time. Only "module not found" for
 * the package itself means "not installed"; a package that is there but
 * fails to load is reported with its error (and `resolveBackend` throws it).
 */
export function loadBackend(packageName: string): Loaded {
  const cached = cache.get(packageName);
  if (cached !== undefined) return cached;
  let loaded: Loaded;
  try {
    loaded = loadUncached(packageName);
  } catch (error) {
    loaded = {
      ok: false,
      installed: true,
      reason: `${packageName} is installed but failed to load: ${(error as Error)?.message ?? String(error)}`,
      loadError: error,
    };
  }
  cache.set(packageName, loaded);
  return loaded;
}

function loadUncached(packageName: string): Loaded {
  const resolved = resolvePackage(packageName);
  if (resolved === null) return { ok: false, installed: false, reason: `${packageName} is not installed` };
  const module = localRequire(resolved) as { backend?: BackendDescriptor };
  const descriptor = module.backend;
  if (descriptor === undefined || typeof descriptor.available !== 'function') {
    throw new TypeError(`${packageName} does not export a backend descriptor`);
  }
  if (descriptor.specificationVersion !== BACKEND_SPECIFICATION_VERSION) {
    return {
      ok: false,
      installed: true,
      reason: `${packageName} implements backend specification ${String(descriptor.specificationVersion)}, this core needs ${BACKEND_SPECIFICATION_VERSION}`,
    };
  }
  let version: string | undefined;
  try {
    const manifest = localRequire(path.join(packageRoot(resolved, packageName), 'package.json')) as { version?: string };
    version = manifest.version;
  } catch {
    version = undefined;
  }
  return version === undefined ? { ok: true, descriptor } : { ok: true, descriptor, version };
}

function packageRoot(resolvedEntry: string, packageName: string): string {
  let directory = path.dirname(resolvedEntry);
  for (;;) {
    if (path.basename(directory) === packageName.split('/').pop()) return directory;
    const parent = path.dirname(directory);
    if (parent === directory) return path.dirname(resolvedEntry);
    directory = parent;
  }
}

/** Every backend evloop knows, installed or not, usable or not, and why. */
export function listBackends(platform: NodeJS.Platform = process.platform): BackendReport[] {
  const order = BACKEND_PREFERENCE[platform] ?? [];
  const reports = KNOWN_BACKENDS.map((known): BackendReport => {
    const rank = order.indexOf(known.name);
    const base = { name: known.name, kind: known.kind, packageName: known.packageName, preference: rank === -1 ? null : rank };
    const loaded = loadBackend(known.packageName);
    if (!loaded.ok) return { ...base, installed: loaded.installed, available: false, reason: loaded.reason };
    const availability = safeAvailable(loaded.descriptor);
    const report: BackendReport = availability.ok
      ? { ...base, installed: true, available: true, reason: availability.notes ?? '' }
      : { ...base, installed: true, available: false, reason: availability.reason };
    if (loaded.version !== undefined) report.version = loaded.version;
    if (report.available && rank === -1) {
      // Usable, but left out of this platform's order: it runs when asked
      // for by name.
      const notes = report.reason === '' ? '' : `; ${report.reason}`;
      report.reason = `usable, but not in the default order on ${platform}: used when asked for (EVLOOP_BACKEND=${known.name})${notes}`;
    } else if (availability.ok && availability.passedOver !== undefined && rank !== -1) {
      const notes = report.reason === '' ? '' : `; ${report.reason}`;
      report.reason = `usable, but passed over by default while a later backend is usable: ${availability.passedOver}; used when asked for (EVLOOP_BACKEND=${known.name})${notes}`;
      report.passedOver = true;
    }
    return report;
  });
  return reports.sort((a, b) => (a.preference ?? 99) - (b.preference ?? 99));
}

function safeAvailable(descriptor: BackendDescriptor): Availability {
  try {
    return descriptor.available();
  } catch (error) {
    return { ok: false, reason: `available() threw: ${(error as Error)?.message ?? String(error)}` };
  }
}

function describeRejections(reports: BackendReport[]): string {
  return reports.map((report) => `  ${report.name} (${report.packageName}): ${report.available ? 'available' : report.reason}`).join('\n');
}

/**
 * The backend to use: the one asked for (`requested`, else `EVLOOP_BACKEND`),
 * which must be installed and usable, or the best usable one in this
 * platform's preference order. Never falls back silently.
 */
export function resolveBackend(requested?: string | null): BackendDescriptor {
  const platform = process.platform;
  const wanted = requested ?? (process.env.EVLOOP_BACKEND || null);
  if (wanted !== null) {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === wanted || entry.packageName === wanted);
    if (known === undefined) {
      throw new RangeError(`Unknown evloop backend ${JSON.stringify(wanted)}; known backends: ${KNOWN_BACKENDS.map((entry) => entry.name).join(', ')}`);
    }
    const reports = listBackends(platform);
    const report = reports.find((entry) => entry.name === known.name)!;
    const loaded = loadBackend(known.packageName);
    if (!loaded.ok || !report.available) {
      throw new RuntimeError(
        `The evloop backend ${JSON.stringify(wanted)} was asked for but cannot be used: ${report.reason}` +
          (report.installed ? '' : ` (install it with: npm install ${known.packageName})`) +
          `\nEvery backend on ${platform}:\n${describeRejections(reports)}`,
      );
    }
    // Either kind: loopForBackend builds the loop of its kind.
    return loaded.descriptor;
  }
  const order = BACKEND_PREFERENCE[platform] ?? [];
  // The first usable one that is not passed over; else the first passed over.
  let passedOver: BackendDescriptor | null = null;
  for (const name of order) {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === name)!;
    const loaded = loadBackend(known.packageName);
    // An installed backend that is broken is an error, not a reason to fall back.
    if (!loaded.ok && loaded.loadError !== undefined) throw loaded.loadError;
    if (!loaded.ok) continue;
    const availability = safeAvailable(loaded.descriptor);
    if (!availability.ok) continue;
    if (availability.passedOver === undefined) return loaded.descriptor;
    passedOver ??= loaded.descriptor;
  }
  if (passedOver !== null) return passedOver;
  const suggested = INSTALL_SUGGESTION[platform] ?? order[0];
  const best = suggested === undefined ? null : KNOWN_BACKENDS.find((entry) => entry.name === suggested)!.packageName;
  throw new RuntimeError(
    `No usable evloop backend is installed for ${platform}.` +
      (best ? ` Install one, for example: npm install ${best}` : ' No backend supports this platform yet.') +
      `\nEvery backend on ${platform}:\n${describeRejections(listBackends(platform))}`,
  );
}
