import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * One I/O completion port. Every operation takes a positive int32 token and
 * the socket handle (the "fd" `@evloop/sys` gives on Windows); buffers are
 * `(buffer, offset, length)` spans the caller keeps alive until the
 * completion is harvested. Every started operation completes exactly once
 * through `harvest`, including one that failed at once. Errors are thrown as
 * `{ errno, syscall, winerror }`.
 */
export interface NativePort {
  recv(token: number, handle: number, buffer: Uint8Array, offset: number, length: number, flags: number): void;
  send(token: number, handle: number, buffer: Uint8Array, offset: number, length: number, flags: number): void;
  recvfrom(token: number, handle: number, buffer: Uint8Array, offset: number, length: number, flags: number): void;
  sendto(token: number, handle: number, buffer: Uint8Array, offset: number, length: number, flags: number, family: number, host: string, port: number, flowinfo: number, scopeId: number): void;
  /** AcceptEx into a new overlapped socket; the result is that socket, non-blocking. */
  accept(token: number, handle: number): void;
  /** ConnectEx (binding an unbound socket to the wildcard address first). */
  connect(token: number, handle: number, family: number, host: string, port: number, flowinfo: number, scopeId: number): void;
  /**
   * IOCTL_AFD_POLL of base socket `base` (from `baseSocket`; -1 completes
   * with -EBADF) for `events` (EVENT_READ | EVENT_WRITE); the result is the
   * ready mask, or -EBADF when the socket is closed under it.
   */
  pollAdd(token: number, base: number, events: number): void;
  /**
   * TransmitFile of `count` (> 0) bytes of the file behind node:fs fd `fd`
   * from `offset`; throws EBADF (syscall uv_get_osfhandle) when `fd` is not open.
   */
  sendfile(token: number, handle: number, fd: number, offset: number, count: number): void;
  /** Overlapped ReadFile on a HANDLE; position -1 for none (a pipe). */
  read(token: number, handle: number, buffer: Uint8Array, offset: number, length: number, position: number): void;
  /** Overlapped WriteFile on a HANDLE; position -1 for none (a pipe). */
  write(token: number, handle: number, buffer: Uint8Array, offset: number, length: number, position: number): void;
  /** CancelIoEx; false when the token is not in flight. */
  cancel(token: number): boolean;
  /** GetQueuedCompletionStatusEx: writes (token, result, 0) triplets into `out`, waiting up to `timeoutMs` (-1 forever) for the first. */
  harvest(out: Int32Array, timeoutMs: number): number;
  /** The sender (recvfrom) or peer (accept) of completion `index` of the last harvest. */
  address(index: number): [string, number] | [string, number, number, number] | null;
  watch(onReady: () => void): void;
  unwatch(): void;
  close(): void;
}

/**
 * What `proactor_iocp.node` exports, or, when it was built where IOCP does
 * not exist, only why (evloop/platform.h).
 */
export type IocpNativeModule = IocpNative | { unsupportedReason: string; Port?: undefined };

export interface IocpNative {
  unsupportedReason?: undefined;
  Port: new () => NativePort;
  /** null when a port can be made and a packet goes through it, else `{ errno, syscall, message }`. */
  probeUsable(): { errno: number; syscall: string; message: string } | null;
  socketFamily(handle: number): number;
  closeSocket(handle: number): void;
  /** The base socket AFD polls for `handle` (SIO_BASE_HANDLE), -1 when it is not open; throws ENOTSOCK for an open handle that is no socket. */
  baseSocket(handle: number): number;
  /** Whether the host executable exports libuv's uv_get_osfhandle (node.exe does), which sendfile needs. */
  fileHandles: boolean;
  AF_INET: number;
  AF_INET6: number;
}

// src/load-native.ts under vitest, dist/index.{js,cjs} once built: both one
// folder below the package root, where node-gyp-build looks.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let loaded: { native: IocpNativeModule } | { error: unknown } | undefined;

/** Loads the addon once; throws the load error (the same one on every call). */
export function loadNative(): IocpNativeModule {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      loaded = { native: nodeGypBuild(packageRoot) as IocpNativeModule };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}
