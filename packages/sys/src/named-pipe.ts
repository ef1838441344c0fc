import { randomBytes } from 'node:crypto';
import { NotImplementedError } from '@evloop/interface';
import { native } from './load-native.js';
import { rethrow } from './native-call.js';
import { checkBoolean, checkFd } from './validate.js';
import { isWindows } from './windows.js';

/** What the Windows addon adds for named pipes (absent from the POSIX one). */
interface NamedPipeNative {
  /** mode: 1 the server reads, 2 it writes, 3 both. */
  createPipeServer(name: string, mode: number): number;
  openPipeClient(name: string, write: boolean): number;
  connectPipeServer(handle: number): void;
  fileType(handle: number): number;
}

function windowsNative(what: string): NamedPipeNative {
  if (!isWindows) throw new NotImplementedError(`@evloop/sys: ${what} is Windows only (use pipe() on POSIX)`);
  return native as unknown as NamedPipeNative;
}

let counter = 0;

/** A name no other pipe has: `\\.\pipe\evloop-<pid>-<counter>-<random>`. */
function uniquePipeName(): string {
  counter++;
  return `\\\\.\\pipe\\evloop-${process.pid}-${counter}-${randomBytes(8).toString('hex')}`;
}

/** A server end of a new named pipe, and the name its one client opens. */
export interface NamedPipeServer {
  /** The server end's HANDLE (the "fd"), opened for overlapped I/O, not inheritable. */
  handle: number;
  /** The pipe's name, `\\.\pipe\evloop-...`, for the client end (e.g. `fs.openSync(name, ...)`). */
  name: string;
}

/**
 * Windows only: the server end of a new one-instance, byte-mode named pipe
 * (`CreateNamedPipeW` with `FILE_FLAG_OVERLAPPED`,
 * `FILE_FLAG_FIRST_PIPE_INSTANCE`, `PIPE_REJECT_REMOTE_CLIENTS`) under a
 * unique name. `access` is what the server end does: `'read'` (the client
 * writes), `'write'` (the client reads) or `'duplex'` (both; a child's
 * stdin is duplex so that the parent can read to notice the child closing it). Open the client end by name,
 * then call {@link connectPipeServer}; close the handle with {@link close}.
 * This is how a child process's stdio pipe is made: the client end opened
 * with `fs.openSync` is a CRT fd that `child_process.spawn` takes.
 */
export function createPipeServer(access: 'read' | 'write' | 'duplex'): NamedPipeServer {
  const addon = windowsNative('createPipeServer()');
  const mode = access === 'read' ? 1 : access === 'write' ? 2 : access === 'duplex' ? 3 : 0;
  if (mode === 0) throw new RangeError(`access must be 'read', 'write' or 'duplex', got ${String(access)}`);
  const name = uniquePipeName();
  try {
    return { handle: addon.createPipeServer(name, mode), name };
  } catch (error) {
    rethrow(error);
  }
}

/**
 * Windows only: check that the client has opened the server end made by
 * {@link createPipeServer} (`ConnectNamedPipe`, never waiting); `OSError`
 * with code `ENOTCONN` when it has not.
 */
export function connectPipeServer(handle: number): void {
  const addon = windowsNative('connectPipeServer()');
  checkFd(handle);
  try {
    addon.connectPipeServer(handle);
  } catch (error) {
    rethrow(error);
  }
}

/**
 * Windows only: `GetFileType` of a HANDLE: `'disk'`, `'char'`, `'pipe'`
 * (sockets are pipes to Windows) or `'unknown'`.
 */
export function handleType(handle: number): 'disk' | 'char' | 'pipe' | 'unknown' {
  const addon = windowsNative('handleType()');
  checkFd(handle);
  let type: number;
  try {
    type = addon.fileType(handle);
  } catch (error) {
    rethrow(error);
  }
  return type === 1 ? 'disk' : type === 2 ? 'char' : type === 3 ? 'pipe' : 'unknown';
}

/**
 * `pipe()` on Windows (asyncio's `windows_utils.pipe`): a named pipe whose
 * server end reads and whose client end writes, both HANDLEs opened for
 * overlapped I/O, which the IOCP proactor reads and writes.
 */
export function windowsPipe(blocking: boolean): [number, number] {
  const addon = windowsNative('pipe()');
  checkBoolean(blocking, 'options.blocking');
  if (blocking) throw new RangeError('options.blocking: pipe() on Windows makes overlapped named pipe ends, which have no blocking mode; omit it');
  const { handle: readEnd, name } = createPipeServer('read');
  let writeEnd = -1;
  try {
    writeEnd = addon.openPipeClient(name, true);
    addon.connectPipeServer(readEnd);
  } catch (error) {
    for (const handle of [writeEnd, readEnd]) {
      try {
        if (handle !== -1) native.close(handle);
      } catch {
        // the error to report is the first one
      }
    }
    rethrow(error);
  }
  return [readEnd, writeEnd];
}
