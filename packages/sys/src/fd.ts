import { native } from './load-native.js';
import { fail, rethrow } from './native-call.js';
import { type BytesLike, checkBoolean, checkBytes, checkFd, checkInteger, receiveBuffer, receivedBytes } from './validate.js';
import { windowsPipe } from './named-pipe.js';
import { isWindows, posixOnly } from './windows.js';

/** Options for {@link pipe}. */
export interface PipeOptions {
  /** Make both ends blocking. Default `false`: both ends are non-blocking, ready for an event loop. */
  blocking?: boolean;
}

/**
 * Create a pipe: `[readFd, writeFd]`. Both ends are close-on-exec and, unlike
 * Python's `os.pipe()`, **non-blocking by default** (pass `{ blocking: true }`
 * for blocking ends). The caller owns both fds and closes them with {@link close}.
 * On Windows both ends are HANDLEs of a named pipe opened for overlapped I/O
 * (as asyncio's `windows_utils.pipe`), for the IOCP proactor; `blocking: true`
 * is a RangeError there.
 */
export function pipe(options: PipeOptions = {}): [number, number] {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const blocking = options.blocking === undefined ? false : checkBoolean(options.blocking, 'options.blocking');
  if (isWindows) return windowsPipe(blocking);
  try {
    return native.pipe(!blocking);
  } catch (error) {
    rethrow(error);
  }
}

/**
 * Open a pseudo-terminal: `[masterFd, slaveFd]` (Python's `os.openpty()`),
 * both close-on-exec and blocking. What is written to the slave is read
 * from the master; once the slave is closed, reading the master gives EIO
 * on Linux (evloop's pipe transport treats that as end of file).
 * NotImplementedError on Windows.
 */
export function openpty(): [number, number] {
  posixOnly('openpty()');
  try {
    return native.openpty();
  } catch (error) {
    rethrow(error);
  }
}

/**
 * Read up to `n` bytes. Returns an empty Buffer at end of file; on a
 * non-blocking fd with nothing to read, throws `BlockingIOError` (EAGAIN).
 */
export function read(fd: number, n: number): Buffer {
  checkFd(fd);
  checkInteger(n, 'n', 0, 2 ** 31 - 1);
  const buffer = receiveBuffer(n);
  const count = native.read(fd, buffer, 0, n);
  if (count < 0) fail(count, 'read');
  return receivedBytes(buffer, count);
}

/** Read into `buffer` (up to its length, or `nbytes`); returns the count, 0 at end of file. */
export function readInto(fd: number, buffer: BytesLike, nbytes?: number): number {
  checkFd(fd);
  const view = checkBytes(buffer, 'buffer');
  const length = nbytes === undefined ? view.length : checkInteger(nbytes, 'nbytes', 0, view.length);
  const count = native.read(fd, view, 0, length);
  if (count < 0) fail(count, 'read');
  return count;
}

/** Write `data` (any bytes-like value, not copied); returns how many bytes the kernel took. */
export function write(fd: number, data: BytesLike): number {
  checkFd(fd);
  const view = checkBytes(data, 'data');
  const count = native.write(fd, view, 0, view.length);
  if (count < 0) fail(count, 'write');
  return count;
}

/** What {@link sendfile} sends to: a socket fd, or a `Socket` (anything with `fileno()`). */
export type SendfileOutput = number | { fileno(): number };
/** What {@link sendfile} reads: a file's fd, or a `node:fs` `FileHandle` (anything with a numeric `fd`). */
export type SendfileInput = number | { readonly fd: number };

/**
 * Send up to `count` bytes of the file `inFd`, from `offset`, to the
 * connected stream socket `outFd` in the kernel, with no copy through
 * JavaScript (Python's `os.sendfile`, with Linux's argument order on every
 * platform; sendfile(2) on Linux, macOS and FreeBSD). `count` 0 means up to
 * the end of the file. The file's own position does not move.
 *
 * Returns the bytes sent: fewer than asked is a partial send (the socket's
 * buffer filled, or the file ended; 0 at or past its end), and the caller
 * goes on from `offset + sent`. One call sends at most 0x7ffff000 bytes.
 * On a non-blocking socket that takes nothing now it throws
 * `BlockingIOError` (EAGAIN), as `Socket.send` does; other failures are
 * `OSError`s with `syscall: 'sendfile'` (EBADF for a closed fd, EINVAL on
 * Linux for a file that cannot be mapped, ENOSYS where the platform has no
 * sendfile). NotImplementedError on Windows.
 */
export function sendfile(outFd: SendfileOutput, inFd: SendfileInput, offset: number, count: number): number {
  posixOnly('sendfile()');
  const out = checkFd(typeof outFd === 'object' && outFd !== null && typeof outFd.fileno === 'function' ? outFd.fileno() : outFd, 'outFd');
  const input = checkFd(typeof inFd === 'object' && inFd !== null && 'fd' in inFd ? inFd.fd : inFd, 'inFd');
  checkInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
  checkInteger(count, 'count', 0, Number.MAX_SAFE_INTEGER);
  const sent = native.sendfile(out, input, offset, count);
  if (sent < 0) fail(sent, 'sendfile');
  return sent;
}

/** Close an fd. EINTR counts as closed (the fd is never closed twice). On Windows: a socket, or any other HANDLE (a pipe end). */
export function close(fd: number): void {
  checkFd(fd);
  try {
    native.close(fd);
  } catch (error) {
    rethrow(error);
  }
}

/** Duplicate an fd; the copy is close-on-exec (non-inheritable), as Python's `os.dup`. */
export function dup(fd: number): number {
  checkFd(fd);
  try {
    return native.dup(fd);
  } catch (error) {
    rethrow(error);
  }
}

/** Set or clear O_NONBLOCK (`flag` true means blocking, as Python's `os.set_blocking`). */
export function setBlocking(fd: number, flag: boolean): void {
  checkFd(fd);
  checkBoolean(flag, 'flag');
  try {
    native.setBlocking(fd, flag);
  } catch (error) {
    rethrow(error);
  }
}

/** True when the fd is in blocking mode (O_NONBLOCK clear). */
export function getBlocking(fd: number): boolean {
  checkFd(fd);
  try {
    return native.getBlocking(fd);
  } catch (error) {
    rethrow(error);
  }
}

/** Set or clear inheritance by child processes (clears or sets FD_CLOEXEC). */
export function setInheritable(fd: number, inheritable: boolean): void {
  checkFd(fd);
  checkBoolean(inheritable, 'inheritable');
  try {
    native.setInheritable(fd, inheritable);
  } catch (error) {
    rethrow(error);
  }
}

/** True when the fd is inherited by child processes (FD_CLOEXEC clear). */
export function getInheritable(fd: number): boolean {
  checkFd(fd);
  try {
    return native.getInheritable(fd);
  } catch (error) {
    rethrow(error);
  }
}
