import { constants as osConstants } from 'node:os';
import { osErrorFromErrno } from '@evloop/interface';
import { type Address, type AddressInput, addressArgs, addressFromNative } from './address.js';
import {
  AF_INET,
  AF_UNIX,
  SCM_RIGHTS,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  SOMAXCONN,
} from './constants.js';
import { getDebug } from './debug.js';
import { isWindows, posixOnly } from './windows.js';
import { native } from './load-native.js';
import { fail, rethrow } from './native-call.js';
import { type BytesLike, checkBoolean, checkBytes, checkFd, checkInt32, checkInteger, describe, receiveBuffer, receivedBytes } from './validate.js';

const EBADF = osConstants.errno.EBADF;
const MAX_SIZE = 2 ** 31 - 1;
const TYPE_FLAGS = (SOCK_NONBLOCK ?? 0) | (SOCK_CLOEXEC ?? 0);

/** One ancillary data item as `recvmsg` returns it: `[level, type, data]`. */
export type AncillaryItem = [level: number, type: number, data: Buffer];
/** One ancillary data item for `sendmsg`: `[level, type, data]` (e.g. `[SOL_SOCKET, SCM_RIGHTS, new Int32Array(fds)]`). */
export type AncillaryInput = [level: number, type: number, data: BytesLike];

/** Options for `new Socket({ ... })`. */
export interface SocketOptions {
  /** Wrap this existing socket fd; the Socket then owns it and closes it. family/type/proto default to what the kernel reports. */
  fileno?: number;
  family?: number;
  type?: number;
  proto?: number;
}

/** Options for {@link Socket.accept}. */
export interface AcceptOptions {
  /** Blocking mode of the accepted socket. Default `true` on every platform (as Python on Linux). */
  blocking?: boolean;
}

/**
 * What the finalizer of an open Socket holds: its fd, family and type packed
 * into one number, so an idle connection pays for no object besides the
 * registry's own cell. The Socket itself is the unregister token (held
 * weakly). The usual case (fd below 2^20, family below 32, type below 8)
 * packs into a small integer (`fd * 256 + family * 8 + type`, below 2^28),
 * which V8 keeps in the cell itself; anything else takes the wide form (fd
 * in the low 32 bits, then 8 bits each of family and type, plus 2^48 so it
 * is never mistaken for the small form), a 16-byte heap number.
 */
const SMALL_LIMIT = 2 ** 28;
const FAMILY_SHIFT = 2 ** 32;
const TYPE_SHIFT = 2 ** 40;
const WIDE_MARK = 2 ** 48;

/** @internal Exported for tests. */
export function packFinalizerState(fd: number, family: number, type: number): number {
  if (fd < 2 ** 20 && family >= 0 && family < 32 && type >= 0 && type < 8) return fd * 256 + family * 8 + type;
  return WIDE_MARK + fd + (family & 0xff) * FAMILY_SHIFT + (type & 0xff) * TYPE_SHIFT;
}

/** @internal Exported for tests: `[fd, family, type]`. */
export function unpackFinalizerState(packed: number): [fd: number, family: number, type: number] {
  if (packed < SMALL_LIMIT) return [Math.floor(packed / 256), Math.floor(packed / 8) % 32, packed % 8];
  return [packed % FAMILY_SHIFT, Math.floor(packed / FAMILY_SHIFT) % 256, Math.floor(packed / TYPE_SHIFT) % 256];
}

// A Socket that is collected while open closes its fd; in debug mode it says so.
const unclosed = new FinalizationRegistry<number>((packed) => {
  const [fd, family, type] = unpackFinalizerState(packed);
  try {
    native.close(fd);
  } catch {
    // Nothing useful to do with an error from a finalizer.
  }
  if (getDebug()) {
    process.emitWarning(`unclosed Socket(family=${family}, type=${type}) (fd ${fd}) was garbage-collected; its fd was closed`, {
      type: 'ResourceWarning',
      code: 'EVLOOP_UNCLOSED_SOCKET',
    });
  }
});

function closedError(syscall: string): Error {
  return osErrorFromErrno(EBADF, syscall, `${syscall} on a closed socket (EBADF)`);
}

function checkFlags(flags: unknown): number {
  return checkInt32(flags, 'flags');
}

function checkSize(value: unknown, name: string): number {
  return checkInteger(value, name, 0, MAX_SIZE);
}

/**
 * A socket, as Python's `socket.socket`, over a real fd.
 *
 * - `new Socket(family = AF_INET, type = SOCK_STREAM, proto = 0)` creates one;
 *   `new Socket({ fileno })` wraps an existing socket fd and takes ownership of it
 *   (family/type/proto are read from the kernel unless given).
 * - New sockets are **blocking** (as Python); call `setBlocking(false)` for an
 *   event loop. Every fd is close-on-exec. SIGPIPE never fires: sends use
 *   MSG_NOSIGNAL (Linux) or SO_NOSIGPIPE (macOS), so a closed peer is a
 *   `BrokenPipeError`.
 * - OS failures are `OSError` subclasses with `code`/`errno`/`syscall`;
 *   non-blocking operations that would block throw `BlockingIOError`.
 * - After `close()` or `detach()`, `fileno()` is -1 and every operation throws
 *   an `OSError` with EBADF. A Socket collected while open closes its fd.
 */
export class Socket {
  /** Address family (`AF_INET`, `AF_INET6`, `AF_UNIX`, ...). */
  readonly family: number;
  /** Socket type (`SOCK_STREAM`, `SOCK_DGRAM`, ...), without the Linux SOCK_NONBLOCK/SOCK_CLOEXEC flags. */
  readonly type: number;
  /** Protocol number (0 when the platform cannot tell for a wrapped fd). */
  readonly proto: number;
  #fileno: number;

  constructor(family?: number, type?: number, proto?: number);
  constructor(options: SocketOptions);
  constructor(familyOrOptions: number | SocketOptions = AF_INET, type: number = SOCK_STREAM, proto = 0) {
    let fd: number;
    let family: number;
    if (typeof familyOrOptions === 'object' && familyOrOptions !== null) {
      const options = familyOrOptions;
      fd = checkFd(options.fileno, 'options.fileno');
      let info: [number, number, number] | undefined;
      const detect = (): [number, number, number] => {
        try {
          return (info ??= native.socketInfo(fd));
        } catch (error) {
          rethrow(error);
        }
      };
      family = options.family === undefined ? detect()[0] : checkInt32(options.family, 'options.family');
      type = options.type === undefined ? detect()[1] : checkInt32(options.type, 'options.type');
      proto = options.proto === undefined ? detect()[2] : checkInt32(options.proto, 'options.proto');
    } else {
      family = checkInt32(familyOrOptions, 'family');
      checkInt32(type, 'type');
      checkInt32(proto, 'proto');
      if (family === AF_UNIX) posixOnly('AF_UNIX');
      try {
        fd = native.socket(family, type, proto, false);
      } catch (error) {
        rethrow(error);
      }
    }
    this.family = family;
    this.type = type & ~TYPE_FLAGS;
    this.proto = proto;
    this.#fileno = fd;
    unclosed.register(this, packFinalizerState(fd, family, this.type), this);
  }

  #fd(syscall: string): number {
    const fd = this.#fileno;
    if (fd < 0) throw closedError(syscall);
    return fd;
  }

  /** The fd, or -1 after `close()`/`detach()`. */
  fileno(): number {
    return this.#fileno;
  }

  /** Close the fd. Calling it again does nothing. ECONNRESET from close is ignored, as Python does. */
  close(): void {
    const fd = this.#fileno;
    if (fd < 0) return;
    this.#fileno = -1;
    unclosed.unregister(this);
    try {
      native.close(fd);
    } catch (error) {
      if ((error as { errno?: unknown }).errno === osConstants.errno.ECONNRESET) return;
      rethrow(error);
    }
  }

  /** Give up ownership of the fd without closing it, and return it; the Socket is then closed (`fileno()` is -1). */
  detach(): number {
    const fd = this.#fileno;
    this.#fileno = -1;
    unclosed.unregister(this);
    return fd;
  }

  /** A new Socket on a duplicate (close-on-exec) of this fd. */
  dup(): Socket {
    const fd = this.#fd('dup');
    let copy: number;
    try {
      copy = native.dup(fd);
    } catch (error) {
      rethrow(error);
    }
    return new Socket({ fileno: copy, family: this.family, type: this.type, proto: this.proto });
  }

  bind(address: AddressInput): void {
    const fd = this.#fd('bind');
    const args = addressArgs(this.family, address);
    try {
      native.bind(fd, ...args);
    } catch (error) {
      rethrow(error);
    }
  }

  /** Start listening; `backlog` defaults to min(SOMAXCONN, 128), as Python. */
  listen(backlog: number = Math.min(SOMAXCONN, 128)): void {
    const fd = this.#fd('listen');
    checkInteger(backlog, 'backlog', -(2 ** 31), 2 ** 31 - 1);
    try {
      native.listen(fd, Math.max(backlog, 0));
    } catch (error) {
      rethrow(error);
    }
  }

  /**
   * Accept a connection: `[socket, address]`. The new socket has this
   * socket's family/type/proto, is close-on-exec, and is blocking unless
   * `{ blocking: false }` (which costs no extra syscall on Linux).
   */
  accept(options: AcceptOptions = {}): [Socket, Address | null] {
    const fd = this.#fd('accept');
    const blocking = options.blocking === undefined ? true : checkBoolean(options.blocking, 'options.blocking');
    const result = native.accept(fd, !blocking);
    if (typeof result === 'number') fail(result, 'accept');
    const client = new Socket({ fileno: result[0], family: this.family, type: this.type, proto: this.proto });
    return [client, addressFromNative(result[1])];
  }

  /**
   * Connect. On a non-blocking socket a connection in progress throws
   * `BlockingIOError` (EINPROGRESS): wait for writability, then read
   * `getsockopt(SOL_SOCKET, SO_ERROR)` (0 means connected).
   */
  connect(address: AddressInput): void {
    const fd = this.#fd('connect');
    const result = native.connect(fd, ...addressArgs(this.family, address));
    if (result < 0) fail(result, 'connect');
  }

  /** As `connect`, but returns the errno (0 on success) instead of throwing an OSError, as Python's `connect_ex`. */
  connectEx(address: AddressInput): number {
    const fd = this.#fileno;
    if (fd < 0) return EBADF;
    const result = native.connect(fd, ...addressArgs(this.family, address));
    return result < 0 ? -result : 0;
  }

  /** Receive up to `bufsize` bytes; an empty Buffer means the peer closed (EOF). The Buffer is not a copy. */
  recv(bufsize: number, flags = 0): Buffer {
    const fd = this.#fd('recv');
    checkSize(bufsize, 'bufsize');
    checkFlags(flags);
    const buffer = receiveBuffer(bufsize);
    const count = native.recv(fd, buffer, 0, bufsize, flags);
    if (count < 0) fail(count, 'recv');
    return receivedBytes(buffer, count);
  }

  /** Receive into `buffer` (at most `nbytes`, default or 0: its whole length); returns the count. */
  recvInto(buffer: BytesLike, nbytes = 0, flags = 0): number {
    const fd = this.#fd('recv');
    const view = checkBytes(buffer, 'buffer');
    checkSize(nbytes, 'nbytes');
    if (nbytes > view.length) throw new RangeError(`nbytes (${nbytes}) is larger than buffer (${view.length} bytes)`);
    checkFlags(flags);
    const count = native.recv(fd, view, 0, nbytes === 0 ? view.length : nbytes, flags);
    if (count < 0) fail(count, 'recv');
    return count;
  }

  /**
   * Receive into `buffer` from byte `offset` to its end; returns the count.
   * The same as `recvInto(buffer.subarray(offset))` without making the view
   * (the transports read into a shared slab this way). An offset at the
   * buffer's end leaves no room, and the count is 0, as `recvInto` of an
   * empty buffer.
   */
  recvIntoAt(buffer: BytesLike, offset: number): number {
    const fd = this.#fd('recv');
    const view = buffer instanceof Uint8Array ? buffer : checkBytes(buffer, 'buffer');
    checkInteger(offset, 'offset', 0, view.length);
    const count = native.recv(fd, view, offset, view.length - offset, 0);
    if (count < 0) fail(count, 'recv');
    return count;
  }

  /** Receive a datagram: `[data, address]` (address null when the sender has none, e.g. a connected stream). */
  recvfrom(bufsize: number, flags = 0): [Buffer, Address | null] {
    const fd = this.#fd('recvfrom');
    checkSize(bufsize, 'bufsize');
    checkFlags(flags);
    const buffer = receiveBuffer(bufsize);
    const result = native.recvfrom(fd, buffer, 0, bufsize, flags);
    if (typeof result === 'number') fail(result, 'recvfrom');
    return [receivedBytes(buffer, result[0]), addressFromNative(result[1])];
  }

  /** As `recvfrom`, into `buffer`: `[count, address]`. */
  recvfromInto(buffer: BytesLike, nbytes = 0, flags = 0): [number, Address | null] {
    const fd = this.#fd('recvfrom');
    const view = checkBytes(buffer, 'buffer');
    checkSize(nbytes, 'nbytes');
    if (nbytes > view.length) throw new RangeError(`nbytes (${nbytes}) is larger than buffer (${view.length} bytes)`);
    checkFlags(flags);
    const result = native.recvfrom(fd, view, 0, nbytes === 0 ? view.length : nbytes, flags);
    if (typeof result === 'number') fail(result, 'recvfrom');
    return [result[0], addressFromNative(result[1])];
  }

  /** Send what the kernel takes of `data` (not copied); returns the count. */
  send(data: BytesLike, flags = 0): number {
    const fd = this.#fd('send');
    const view = checkBytes(data, 'data');
    checkFlags(flags);
    const count = native.send(fd, view, 0, view.length, flags);
    if (count < 0) fail(count, 'send');
    return count;
  }

  /**
   * Send all of `data`, calling send until done (for blocking sockets). On a
   * non-blocking socket a full buffer throws `BlockingIOError` and how much
   * was sent is unknown, as in Python.
   */
  sendall(data: BytesLike, flags = 0): void {
    const view = checkBytes(data, 'data');
    checkFlags(flags);
    let offset = 0;
    do {
      const fd = this.#fd('send');
      const count = native.send(fd, view, offset, view.length - offset, flags);
      if (count < 0) fail(count, 'send');
      offset += count;
    } while (offset < view.length);
  }

  /** Send a datagram to `address`: `sendto(data, address)` or `sendto(data, flags, address)`. */
  sendto(data: BytesLike, address: AddressInput): number;
  sendto(data: BytesLike, flags: number, address: AddressInput): number;
  sendto(data: BytesLike, flagsOrAddress: number | AddressInput, maybeAddress?: AddressInput): number {
    const fd = this.#fd('sendto');
    const view = checkBytes(data, 'data');
    let flags = 0;
    let address: unknown = flagsOrAddress;
    if (arguments.length >= 3) {
      flags = checkFlags(flagsOrAddress);
      address = maybeAddress;
    }
    const args = addressArgs(this.family, address);
    const count = native.sendto(fd, view, 0, view.length, flags, ...args);
    if (count < 0) fail(count, 'sendto');
    return count;
  }

  /**
   * Send `buffers` (gathered into one message) with ancillary data items
   * `[level, type, data]` (e.g. `[SOL_SOCKET, SCM_RIGHTS, fds as Int32Array]`),
   * optionally to `address`. Returns the bytes sent. On Windows ancillary
   * data raises NotImplementedError; the buffers are gathered into one send.
   */
  sendmsg(buffers: Iterable<BytesLike>, ancdata: Iterable<AncillaryInput> = [], flags = 0, address?: AddressInput): number {
    const fd = this.#fd('sendmsg');
    if (buffers === null || typeof buffers !== 'object' || !(Symbol.iterator in buffers)) {
      throw new TypeError(`buffers must be an iterable of byte buffers, not ${describe(buffers)}`);
    }
    if (ancdata === null || typeof ancdata !== 'object' || !(Symbol.iterator in ancdata)) {
      throw new TypeError(`ancdata must be an iterable of [level, type, data], not ${describe(ancdata)}`);
    }
    const views = Array.from(buffers, (buffer, index) => checkBytes(buffer, `buffers[${index}]`));
    const items = Array.from(ancdata, (item, index): [number, number, Uint8Array] => {
      if (!Array.isArray(item) || item.length !== 3) throw new TypeError(`ancdata[${index}] must be [level, type, data]`);
      return [
        checkInt32(item[0], `ancdata[${index}] level`),
        checkInt32(item[1], `ancdata[${index}] type`),
        checkBytes(item[2], `ancdata[${index}] data`),
      ];
    });
    checkFlags(flags);
    if (isWindows) {
      if (items.length > 0) posixOnly('sendmsg() with ancillary data');
      // Winsock has no sendmsg for TCP/UDP here: one gathered send (one message for a datagram).
      const whole = views.length === 1 ? views[0]! : Buffer.concat(views);
      return address === undefined ? this.send(whole, flags) : this.sendto(whole, flags, address);
    }
    const count =
      address === undefined
        ? native.sendmsg(fd, views, items, flags)
        : native.sendmsg(fd, views, items, flags, ...addressArgs(this.family, address));
    if (count < 0) fail(count, 'sendmsg');
    return count;
  }

  /**
   * Receive up to `bufsize` bytes and up to `ancbufsize` bytes of ancillary
   * data (size it with `CMSG_SPACE`): `[data, ancdata, msgFlags, address]`.
   * Received fds are close-on-exec and owned by the caller.
   */
  recvmsg(bufsize: number, ancbufsize = 0, flags = 0): [Buffer, AncillaryItem[], number, Address | null] {
    posixOnly('recvmsg()');
    const fd = this.#fd('recvmsg');
    checkSize(bufsize, 'bufsize');
    checkInteger(ancbufsize, 'ancbufsize', 0, 1 << 20);
    checkFlags(flags);
    const buffer = receiveBuffer(bufsize);
    const result = native.recvmsg(fd, buffer, 0, bufsize, ancbufsize, flags);
    if (typeof result === 'number') fail(result, 'recvmsg');
    return [receivedBytes(buffer, result[0]), result[1], result[2], addressFromNative(result[3])];
  }

  /** Shut down one or both directions: `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`. */
  shutdown(how: number): void {
    const fd = this.#fd('shutdown');
    checkInt32(how, 'how');
    try {
      native.shutdown(fd, how);
    } catch (error) {
      rethrow(error);
    }
  }

  /** Set blocking mode (`false` sets O_NONBLOCK). */
  setBlocking(flag: boolean): void {
    const fd = this.#fd('fcntl');
    checkBoolean(flag, 'flag');
    try {
      native.setBlocking(fd, flag);
    } catch (error) {
      rethrow(error);
    }
  }

  /** True when the socket is blocking. */
  getBlocking(): boolean {
    const fd = this.#fd('fcntl');
    try {
      return native.getBlocking(fd);
    } catch (error) {
      rethrow(error);
    }
  }

  setInheritable(inheritable: boolean): void {
    const fd = this.#fd('fcntl');
    checkBoolean(inheritable, 'inheritable');
    try {
      native.setInheritable(fd, inheritable);
    } catch (error) {
      rethrow(error);
    }
  }

  getInheritable(): boolean {
    const fd = this.#fd('fcntl');
    try {
      return native.getInheritable(fd);
    } catch (error) {
      rethrow(error);
    }
  }

  /** Set an option: a number (or boolean) is passed as a C int; bytes are passed as they are. */
  setsockopt(level: number, optname: number, value: number | boolean | BytesLike): void {
    const fd = this.#fd('setsockopt');
    checkInt32(level, 'level');
    checkInt32(optname, 'optname');
    try {
      if (typeof value === 'boolean') native.setsockoptInt(fd, level, optname, value ? 1 : 0);
      else if (typeof value === 'number') native.setsockoptInt(fd, level, optname, checkInt32(value, 'value'));
      else {
        const view = checkBytes(value, 'value');
        native.setsockoptBytes(fd, level, optname, view, 0, view.length);
      }
    } catch (error) {
      rethrow(error);
    }
  }

  /** Read an option: a C int, or with `buflen` (1..1024) the raw bytes (as long as the kernel returned). */
  getsockopt(level: number, optname: number): number;
  getsockopt(level: number, optname: number, buflen: number): Buffer;
  getsockopt(level: number, optname: number, buflen?: number): number | Buffer {
    const fd = this.#fd('getsockopt');
    checkInt32(level, 'level');
    checkInt32(optname, 'optname');
    if (buflen === undefined) {
      try {
        return native.getsockoptInt(fd, level, optname);
      } catch (error) {
        rethrow(error);
      }
    }
    checkInteger(buflen, 'buflen', 1, 1024);
    const buffer = Buffer.alloc(buflen);
    let length: number;
    try {
      length = native.getsockoptBytes(fd, level, optname, buffer, 0, buflen);
    } catch (error) {
      rethrow(error);
    }
    return buffer.subarray(0, length);
  }

  /** The local address (for an unbound Unix socket, `''`). */
  getsockname(): Address | null {
    const fd = this.#fd('getsockname');
    try {
      return addressFromNative(native.getsockname(fd));
    } catch (error) {
      rethrow(error);
    }
  }

  /** The peer's address; ENOTCONN when not connected. */
  getpeername(): Address | null {
    const fd = this.#fd('getpeername');
    try {
      return addressFromNative(native.getpeername(fd));
    } catch (error) {
      rethrow(error);
    }
  }

  toString(): string {
    return `<Socket fd=${this.#fileno} family=${this.family} type=${this.type} proto=${this.proto}>`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Options for {@link socketpair}. */
export interface SocketPairOptions {
  /** Blocking mode of both sockets. Default `true`, as Python's `socket.socketpair()`. */
  blocking?: boolean;
}

/**
 * A connected pair of sockets (`AF_UNIX`, `SOCK_STREAM` by default), both
 * close-on-exec and **blocking** by default, as Python (pass
 * `{ blocking: false }` for non-blocking ones without extra calls).
 * On Windows, as Python there: `AF_INET` by default (or `AF_INET6`),
 * `SOCK_STREAM` only, made by a loopback listener, connect and accept.
 */
export function socketpair(family: number = isWindows ? AF_INET : AF_UNIX, type: number = SOCK_STREAM, proto = 0, options: SocketPairOptions = {}): [Socket, Socket] {
  checkInt32(family, 'family');
  if (family === AF_UNIX) posixOnly('AF_UNIX');
  checkInt32(type, 'type');
  checkInt32(proto, 'proto');
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const blocking = options.blocking === undefined ? true : checkBoolean(options.blocking, 'options.blocking');
  let fds: [number, number];
  try {
    fds = native.socketpair(family, type, proto, !blocking);
  } catch (error) {
    rethrow(error);
  }
  return [new Socket({ fileno: fds[0], family, type, proto }), new Socket({ fileno: fds[1], family, type, proto })];
}

/** A Socket on a duplicate of `fd` (the caller keeps `fd`), as Python's `socket.fromfd`. */
export function fromfd(fd: number, family?: number, type?: number, proto?: number): Socket {
  checkFd(fd);
  let copy: number;
  try {
    copy = native.dup(fd);
  } catch (error) {
    rethrow(error);
  }
  try {
    return new Socket({ fileno: copy, family, type, proto });
  } catch (error) {
    native.close(copy);
    throw error;
  }
}

/** `CMSG_LEN(length)`: the cmsg_len of an ancillary item with `length` data bytes. */
export function CMSG_LEN(length: number): number {
  checkInteger(length, 'length', 0, 1 << 20);
  posixOnly('CMSG_LEN()');
  return native.cmsgLen(length);
}

/** `CMSG_SPACE(length)`: the buffer room an ancillary item with `length` data bytes takes (use it to size `ancbufsize`). */
export function CMSG_SPACE(length: number): number {
  checkInteger(length, 'length', 0, 1 << 20);
  posixOnly('CMSG_SPACE()');
  return native.cmsgSpace(length);
}

/**
 * Send `data` and the fds `fds` in one SCM_RIGHTS message (Python's
 * `socket.send_fds`). The fds stay open in this process. Returns bytes sent.
 */
export function sendFds(sock: Socket, data: BytesLike | Iterable<BytesLike>, fds: Iterable<number>, flags = 0, address?: AddressInput): number {
  posixOnly('sendFds() (SCM_RIGHTS)');
  if (!(sock instanceof Socket)) throw new TypeError(`sock must be a Socket, not ${describe(sock)}`);
  if (fds === null || typeof fds !== 'object' || !(Symbol.iterator in fds)) {
    throw new TypeError(`fds must be an array of fd numbers, not ${describe(fds)}`);
  }
  const list = Array.from(fds, (fd, index) => checkFd(fd, `fds[${index}]`));
  if (list.length > 253) throw new RangeError('fds must hold at most 253 fds (SCM_MAX_FD)');
  const buffers: Iterable<BytesLike> = ArrayBuffer.isView(data) || data instanceof ArrayBuffer ? [data] : (data as Iterable<BytesLike>);
  const ancdata: AncillaryInput[] = list.length === 0 ? [] : [[SOL_SOCKET, SCM_RIGHTS, new Uint8Array(Int32Array.from(list).buffer)]];
  return sock.sendmsg(buffers, ancdata, flags, address);
}

/**
 * Receive up to `bufsize` bytes and up to `maxfds` fds (Python's
 * `socket.recv_fds`): `[data, fds, msgFlags, address]`. The received fds are
 * close-on-exec and owned by the caller. `msgFlags & MSG_CTRUNC` means some
 * fds did not fit (the kernel closed them).
 */
export function recvFds(sock: Socket, bufsize: number, maxfds: number, flags = 0): [Buffer, number[], number, Address | null] {
  posixOnly('recvFds() (SCM_RIGHTS)');
  if (!(sock instanceof Socket)) throw new TypeError(`sock must be a Socket, not ${describe(sock)}`);
  checkInteger(maxfds, 'maxfds', 0, 253);
  // CMSG_LEN, not CMSG_SPACE, as Python: the kernel then passes at most `maxfds`.
  const [data, ancdata, msgFlags, address] = sock.recvmsg(bufsize, maxfds === 0 ? 0 : native.cmsgLen(maxfds * 4), flags);
  const fds: number[] = [];
  for (const [level, type, bytes] of ancdata) {
    if (level !== SOL_SOCKET || type !== SCM_RIGHTS) continue;
    // Copy to an aligned buffer: the items are C ints in native byte order.
    const aligned = new Uint8Array(bytes.byteLength & ~3);
    aligned.set(bytes.subarray(0, aligned.length));
    fds.push(...new Int32Array(aligned.buffer));
  }
  return [data, fds, msgFlags, address];
}
