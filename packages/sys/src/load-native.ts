import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntimeError } from '@evloop/interface';

/** An address as the addon returns it: `[host, port]`, `[host, port, flowinfo, scopeId]`, Unix path bytes, null, or an unknown family's number. */
export type NativeAddress = [string, number] | [string, number, number, number] | Buffer | null | number;

/** An address as the addon takes it: family, then host (or Unix path bytes), port, flowinfo, scopeId. */
export type NativeAddressArgs = [family: number, hostOrPath: string | Uint8Array, port: number, flowinfo: number, scopeId: number];

/**
 * The addon's surface. Buffers are passed as (buffer, offset, length);
 * argument errors are TypeError/RangeError. OS failures: the data-path calls
 * (read, write, sendfile, send, recv, sendto, recvfrom, sendmsg, recvmsg, accept,
 * connect) return `-errno` instead of a result, since EAGAIN is routine there
 * and throwing costs microseconds; the others throw an Error with a positive
 * numeric `errno`, its `code` and a `syscall` name (see `toOSError`).
 */
export interface NativeSys {
  constants: Record<string, number>;
  pipe(nonblocking: boolean): [number, number];
  openpty(): [number, number];
  socket(family: number, type: number, proto: number, nonblocking: boolean): number;
  socketpair(family: number, type: number, proto: number, nonblocking: boolean): [number, number];
  read(fd: number, buffer: Uint8Array, offset: number, length: number): number /* or -errno */;
  write(fd: number, data: Uint8Array, offset: number, length: number): number /* or -errno */;
  sendfile(outFd: number, inFd: number, offset: number, count: number): number /* or -errno */;
  close(fd: number): void;
  dup(fd: number): number;
  setBlocking(fd: number, blocking: boolean): void;
  getBlocking(fd: number): boolean;
  setInheritable(fd: number, inheritable: boolean): void;
  getInheritable(fd: number): boolean;
  bind(fd: number, ...address: NativeAddressArgs): void;
  connect(fd: number, ...address: NativeAddressArgs): number /* 0 or -errno */;
  listen(fd: number, backlog: number): void;
  accept(fd: number, nonblocking: boolean): [number, NativeAddress] | number /* -errno */;
  send(fd: number, data: Uint8Array, offset: number, length: number, flags: number): number /* or -errno */;
  recv(fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): number /* or -errno */;
  sendto(fd: number, data: Uint8Array, offset: number, length: number, flags: number, ...address: NativeAddressArgs): number /* or -errno */;
  recvfrom(fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): [number, NativeAddress] | number /* -errno */;
  shutdown(fd: number, how: number): void;
  getsockname(fd: number): NativeAddress;
  getpeername(fd: number): NativeAddress;
  setsockoptInt(fd: number, level: number, optname: number, value: number): void;
  setsockoptBytes(fd: number, level: number, optname: number, value: Uint8Array, offset: number, length: number): void;
  getsockoptInt(fd: number, level: number, optname: number): number;
  getsockoptBytes(fd: number, level: number, optname: number, buffer: Uint8Array, offset: number, length: number): number;
  socketInfo(fd: number): [family: number, type: number, proto: number];
  cmsgSpace(length: number): number;
  cmsgLen(length: number): number;
  sendmsg(
    fd: number,
    buffers: Uint8Array[],
    ancdata: [number, number, Uint8Array][],
    flags: number,
    ...address: NativeAddressArgs | []
  ): number /* or -errno */;
  recvmsg(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    ancbufsize: number,
    flags: number,
  ): [number, [number, number, Buffer][], number, NativeAddress] | number /* -errno */;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;

function load(): NativeSys {
  const loaded = nodeGypBuild(packageRoot) as NativeSys | { unsupportedReason: string };
  // Built where there are no POSIX sockets: the addon says only why.
  if ('unsupportedReason' in loaded) throw new RuntimeError(`@evloop/sys cannot be used: ${loaded.unsupportedReason}`);
  return loaded;
}

/** The loaded addon (built by `native:build`, or a prebuild), from the package root. */
export const native = load();
