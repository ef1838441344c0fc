import type { Address } from './loop.js';

/** A socket address as `@evloop/sys` spells it: `[host, port]`, `[host, port, flowinfo, scopeId]`, or a Unix path. */
export type SocketAddress = Address;

/**
 * What the loop needs of a socket: the shape of `@evloop/sys`'s `Socket`.
 * `A` is what `getsockname()`/`getpeername()` give: a server's or a
 * transport's socket knows its family (`InetAddress` for TCP and UDP, a path
 * for Unix); a socket of any family may give null (an address family evloop
 * cannot spell).
 */
export interface SocketLike<A extends SocketAddress | null = SocketAddress | null> {
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
  /** `recvInto(buffer.subarray(offset))` without the view; absent from an older `@evloop/sys`. */
  recvIntoAt?(buffer: Uint8Array, offset: number): number;
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
  getsockname(): A;
  getpeername(): A;
}

/**
 * The part of `@evloop/sys` the loop uses: what a backend descriptor's
 * `sys` gives (see `BackendDescriptor.sys`).
 */
export interface SysModule {
  Socket: new (family?: number, type?: number, proto?: number) => SocketLike;
  constants: Record<string, number | undefined>;
  pipe(options?: { blocking?: boolean }): [number, number];
  close(fd: number): void;
  /**
   * sendfile(2): up to `count` bytes (0: to the end) of the file `inFd` from
   * `offset` to the stream socket `outFd`; the bytes sent, BlockingIOError
   * when a non-blocking socket takes nothing now. Absent from an older
   * `@evloop/sys`; NotImplementedError on Windows. The selector loops send
   * files with it.
   */
  sendfile?(outFd: number, inFd: number, offset: number, count: number): number;
}
