import fs from 'node:fs';
import { fileobjToFd, toOSError } from '@evloop/interface';
import { sysModule, type PipeLike } from './socket-module.js';

interface FdFunctions {
  close(fd: number): void;
  setBlocking(fd: number, flag: boolean): void;
  /** Windows only: GetFileType of a HANDLE. */
  handleType?(handle: number): 'disk' | 'char' | 'pipe' | 'unknown';
}

function fdFunctions(): FdFunctions {
  return sysModule() as unknown as FdFunctions;
}

/**
 * A pipe end seen as the endpoint a transport reads and writes through
 * (family and type -1: not a socket). Closing it closes the user's object
 * (if it has `close()`) or the fd, as asyncio's pipe transports close the
 * pipe object they were given.
 */
export class PipeEnd {
  readonly family = -1;
  readonly type = -1;
  readonly proto = 0;
  readonly #fd: number;
  readonly #owner: PipeLike;
  #closed = false;

  constructor(pipe: PipeLike) {
    this.#owner = pipe;
    this.#fd = fileobjToFd(pipe);
  }

  fileno(): number {
    return this.#closed ? -1 : this.#fd;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const owner = this.#owner;
    if (typeof owner === 'object' && typeof owner.close === 'function') owner.close();
    else fdFunctions().close(this.#fd);
  }
}

/**
 * Check that `pipe` is a pipe, FIFO, socket or character device (a tty, a
 * PTY): asyncio takes only these, since anything else would be always ready
 * or never. Then make it non-blocking (which also keeps io_uring on its poll
 * path instead of a worker thread) and wrap it. Both loop families' pipe
 * transports are made over what this returns.
 */
export function openPipeEnd(pipe: PipeLike): PipeEnd {
  const fd = fileobjToFd(pipe);
  if (process.platform === 'win32') return openWindowsPipeEnd(pipe, fd);
  let stat: FileKind;
  try {
    stat = fs.fstatSync(fd);
  } catch (error) {
    stat = statThroughProc(fd) ?? throwOSError(error);
  }
  if (!stat.isFIFO() && !stat.isSocket() && !stat.isCharacterDevice()) {
    throw new RangeError('Pipe transport is for pipes, sockets and character devices (ttys) only');
  }
  fdFunctions().setBlocking(fd, false);
  return new PipeEnd(pipe);
}

/**
 * On Windows the "fd" is a HANDLE (a named pipe end from `@evloop/sys`'s
 * `pipe()`, or a socket), read and written with overlapped I/O, which has no
 * blocking mode to change; a disk file is refused, as on POSIX.
 */
function openWindowsPipeEnd(pipe: PipeLike, fd: number): PipeEnd {
  const handleType = fdFunctions().handleType;
  if (handleType === undefined) throw new RangeError('Pipe transport on Windows needs @evloop/sys with named pipes (handleType)');
  let type: string;
  try {
    type = handleType(fd);
  } catch (error) {
    throw toOSError(error);
  }
  if (type !== 'pipe' && type !== 'char') throw new RangeError('Pipe transport is for pipes, sockets and character devices (ttys) only');
  return new PipeEnd(pipe);
}

type FileKind = Pick<fs.Stats, 'isFIFO' | 'isSocket' | 'isCharacterDevice'>;

function throwOSError(error: unknown): never {
  throw toOSError(error);
}

/**
 * The kind of file behind `fd` from Linux's /proc/self/fd, for runtimes whose
 * `fs.fstatSync` knows only the fds they opened themselves (Deno's fstat of
 * an fd made by @evloop/sys is EBADF); undefined where that does not tell.
 */
function statThroughProc(fd: number): FileKind | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
  const kind = (fifo: boolean, socket: boolean, characterDevice: boolean): FileKind => ({
    isFIFO: () => fifo,
    isSocket: () => socket,
    isCharacterDevice: () => characterDevice,
  });
  if (target.startsWith('pipe:[')) return kind(true, false, false);
  if (target.startsWith('socket:[')) return kind(false, true, false);
  if (!target.startsWith('/')) return kind(false, false, false);
  try {
    const stat = fs.statSync(target);
    return kind(stat.isFIFO(), stat.isSocket(), stat.isCharacterDevice());
  } catch {
    return undefined;
  }
}
