import fs from 'node:fs';
import { BlockingIOError, InterruptedError, OSError, osErrorFromErrno } from '@evloop/interface';
import { logger } from '../loop/logger.js';
import { sysConstant, sysModule, type SocketLike } from './socket-module.js';

/** EAGAIN or EINTR: the operation should be tried again when the fd is ready. */
export function wouldBlock(error: unknown): boolean {
  return BlockingIOError.isInstance(error) || InterruptedError.isInstance(error);
}

/** A constant of `@evloop/sys` that every POSIX platform has. */
export function constant(name: string): number {
  return sysConstant(name)!;
}

/** A new `@evloop/sys` socket. */
export function newSocket(family: number, type: number, proto: number): SocketLike {
  return new (sysModule().Socket)(family, type, proto);
}

/** asyncio's rule for reporting every failed attempt: one error as is, identical ones as the first, else a combined OSError. */
export function combineErrors(errors: unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const model = String(errors[0]);
  if (errors.every((error) => String(error) === model)) return errors[0];
  const combined = new OSError(0, 'connect', `Multiple exceptions: ${errors.map(String).join(', ')}`, 'EMULTIPLE');
  Object.defineProperty(combined, 'errors', { value: errors, enumerable: false });
  return combined;
}

/** A bind failure, with the address in its message (as asyncio's create_connection/create_server). */
export function bindError(error: unknown, address: unknown): unknown {
  if (!OSError.isInstance(error)) return error;
  return osErrorFromErrno(error.errno, 'bind', `error while attempting to bind on address ${JSON.stringify(address)}: ${error.message}`);
}

/** Remove a socket file left by an earlier process (only if it is a socket), as asyncio. */
export function removeStaleSocket(path: string): void {
  try {
    if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
  } catch (error) {
    // As asyncio: one line saying why, not a stack trace (bind() reports
    // whatever is really wrong with the path next).
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.error(`Unable to check or remove stale UNIX socket ${JSON.stringify(path)}: ${String(error)}`);
  }
}
