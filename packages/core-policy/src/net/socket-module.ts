import { createRequire } from 'node:module';
import path from 'node:path';
import { RuntimeError } from '@evloop/interface';

/** A socket address as `@evloop/sys` spells it: `[host, port]`, `[host, port, flowinfo, scopeId]`, or a Unix path. */
export type SocketAddress = [string, number] | [string, number, number, number] | string;

/**
 * What the loop needs of a socket: the shape of `@evloop/sys`'s `Socket`.
 * Declared here so that core-policy loads `@evloop/sys` (an optional peer)
 * only when the first socket is made.
 */
export interface SocketLike {
  readonly family: number;
  readonly type: number;
  readonly proto: number;
  fileno(): number;
  close(): void;
  detach(): number;
  bind(address: unknown): void;
  listen(backlog?: number): void;
  accept(options?: { blocking?: boolean }): [SocketLike, SocketAddress | null];
  connect(address: unknown): void;
  recv(bufsize: number, flags?: number): Buffer;
  recvInto(buffer: Uint8Array, nbytes?: number, flags?: number): number;
  recvfrom(bufsize: number, flags?: number): [Buffer, SocketAddress | null];
  recvfromInto(buffer: Uint8Array, nbytes?: number, flags?: number): [number, SocketAddress | null];
  send(data: Uint8Array, flags?: number): number;
  sendto(data: Uint8Array, address: unknown): number;
  sendmsg?(buffers: Iterable<Uint8Array>, ancdata?: Iterable<unknown>, flags?: number, address?: unknown): number;
  shutdown(how: number): void;
  setBlocking(flag: boolean): void;
  getBlocking(): boolean;
  setsockopt(level: number, optname: number, value: number | boolean | Uint8Array): void;
  getsockopt(level: number, optname: number): number;
  getsockname(): SocketAddress | null;
  getpeername(): SocketAddress | null;
}

/** What `connectReadPipe`/`connectWritePipe` take: an fd, or an object with `fileno()` (and maybe `close()`). */
export type PipeLike = number | { fileno(): number; close?(): void };

/** The part of `@evloop/sys` the loop uses. */
export interface SysModule {
  Socket: new (family?: number, type?: number, proto?: number) => SocketLike;
  constants: Record<string, number | undefined>;
  pipe(options?: { blocking?: boolean }): [number, number];
  close(fd: number): void;
}

let loaded: SysModule | undefined;

/**
 * `@evloop/sys`, loaded on first use. It is an optional peer dependency of
 * this package, declared so: found as core-policy resolves it (where npm
 * and yarn put it when a backend package brings it, or where the app's own
 * dependency on it is linked), or as the app would (its working directory
 * and main script's directory). Nothing looks inside backend packages for
 * it. With pnpm, add `@evloop/sys` to the app's dependencies.
 */
export function sysModule(): SysModule {
  if (loaded !== undefined) return loaded;
  const bases = [import.meta.url, path.join(process.cwd(), 'evloop-sys.js')];
  if (process.argv[1]) bases.push(path.join(path.dirname(path.resolve(process.argv[1])), 'evloop-sys.js'));
  let lastError: unknown;
  for (const base of bases) {
    try {
      loaded = createRequire(base)('@evloop/sys') as SysModule;
      return loaded;
    } catch (error) {
      const record = error as { code?: unknown; message?: unknown };
      if (record?.code !== 'MODULE_NOT_FOUND' || typeof record.message !== 'string' || !record.message.includes("'@evloop/sys'")) throw error;
      lastError = error;
    }
  }
  throw new RuntimeError(
    `networking needs @evloop/sys, an optional peer dependency of @evloop/core-policy (every backend package brings it with npm); install it beside @evloop/core-policy: npm install @evloop/sys (${String((lastError as Error | undefined)?.message ?? '')})`,
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
