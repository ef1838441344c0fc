import { createRequire } from 'node:module';
import { RuntimeError, type BackendDescriptor, type SocketAddress, type SocketLike, type SysModule } from '@evloop/interface';

export type { SocketAddress, SocketLike, SysModule };

/** What `connectReadPipe`/`connectWritePipe` take: an fd, or an object with `fileno()` (and maybe `close()`). */
export type PipeLike = number | { fileno(): number; close?(): void };

let loaded: SysModule | undefined;
/** Backends of the loops made so far that may bring `@evloop/sys` (`backend.sys`), earliest first. */
const offered: BackendDescriptor[] = [];

/**
 * A loop on `backend` was made: its `sys` (the backend package's optional
 * dependency on `@evloop/sys`) is where sockets come from, unless
 * `setSysModule` chose a module. Read only when the first socket is made.
 */
export function offerBackendSys(backend: BackendDescriptor | undefined): void {
  if (loaded !== undefined || backend === undefined || offered.includes(backend)) return;
  offered.push(backend);
}

/**
 * `@evloop/sys`, loaded on first use, from (in this order) `setSysModule`,
 * the `sys` of a loop's backend descriptor (each backend package declares
 * `@evloop/sys` as an optional dependency), or this package's own optional
 * peer dependency on it. Nothing else is searched.
 */
export function sysModule(): SysModule {
  if (loaded !== undefined) return loaded;
  const tried: string[] = [];
  for (const backend of offered) {
    const sys = backend.sys;
    if (sys !== undefined) {
      loaded = sys;
      return sys;
    }
    tried.push(`${backend.packageName} does not bring it (its optional dependency is not installed)`);
  }
  try {
    loaded = createRequire(import.meta.url)('@evloop/sys') as SysModule;
    return loaded;
  } catch (error) {
    const record = error as { code?: unknown; message?: unknown };
    if (record?.code !== 'MODULE_NOT_FOUND' || typeof record.message !== 'string' || !record.message.includes("'@evloop/sys'")) throw error;
    tried.push('@evloop/core-policy does not find it (an optional peer dependency)');
  }
  throw new RuntimeError(
    `networking needs @evloop/sys: ${tried.join('; ')}. Install it beside @evloop/core-policy: npm install @evloop/sys`,
  );
}

/** Use this `@evloop/sys` (or a compatible module) instead of loading one; for tests and bundlers. */
export function setSysModule(module: SysModule): void {
  loaded = module;
}

/** A numeric constant of `@evloop/sys`, or undefined where this platform lacks it. */
export function sysConstant(name: string): number | undefined {
  return sysModule().constants[name];
}
