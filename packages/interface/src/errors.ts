import { constants as osConstants } from 'node:os';

/**
 * Error classes shared by every evloop package.
 *
 * Each class carries a `Symbol.for` tag, and its static `isInstance()` checks
 * the tag rather than the prototype chain, so a check still holds when two
 * copies of `@evloop/interface` (an ESM and a CJS build, or two versions) are
 * loaded in one process.
 */

const TAG = Symbol.for('evloop.error');

type Tagged = { [TAG]?: readonly string[] };

function tagsOf(value: unknown): readonly string[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  return (value as Tagged)[TAG];
}

function defineTag(ctor: { prototype: object }, name: string, parent?: { prototype: object }): void {
  const parentTags = parent ? ((parent.prototype as Tagged)[TAG] ?? []) : [];
  Object.defineProperty(ctor.prototype, TAG, { value: Object.freeze([...parentTags, name]), enumerable: false });
  Object.defineProperty(ctor.prototype, 'name', { value: name, enumerable: false, writable: true, configurable: true });
}

function isTagged(value: unknown, name: string): boolean {
  return tagsOf(value)?.includes(name) ?? false;
}

/** Raised when an operation is invalid in the loop's current state (asyncio's RuntimeError), e.g. a closed loop. */
export class RuntimeError extends Error {
  static isInstance(value: unknown): value is RuntimeError {
    return isTagged(value, 'RuntimeError');
  }
}
defineTag(RuntimeError, 'RuntimeError');

/** Raised by a method the backend or loop kind does not provide (e.g. `addReader` on a proactor loop). */
export class NotImplementedError extends RuntimeError {
  static override isInstance(value: unknown): value is NotImplementedError {
    return isTagged(value, 'NotImplementedError');
  }
}
defineTag(NotImplementedError, 'NotImplementedError', RuntimeError);

/**
 * `sendfile()`/`sockSendfile()` could not use the operating system's
 * zero-copy path for this socket or file, and `fallback: false` forbids
 * reading and writing the file in chunks instead (asyncio's
 * `SendfileNotAvailableError`, a RuntimeError).
 */
export class SendfileNotAvailableError extends RuntimeError {
  static override isInstance(value: unknown): value is SendfileNotAvailableError {
    return isTagged(value, 'SendfileNotAvailableError');
  }
}
defineTag(SendfileNotAvailableError, 'SendfileNotAvailableError', RuntimeError);

/**
 * A future or task was cancelled. Thrown into a coroutine at its suspension
 * point by `Task.cancel()`; a coroutine may catch it to clean up.
 */
export class CancelledError extends Error {
  static isInstance(value: unknown): value is CancelledError {
    return isTagged(value, 'CancelledError');
  }
}
defineTag(CancelledError, 'CancelledError');

/** The operation is not allowed in the future's state (e.g. `setResult` on a done future). */
export class InvalidStateError extends Error {
  static isInstance(value: unknown): value is InvalidStateError {
    return isTagged(value, 'InvalidStateError');
  }
}
defineTag(InvalidStateError, 'InvalidStateError');

/** A deadline passed (`waitFor`, handshake timeouts). */
export class TimeoutError extends Error {
  static isInstance(value: unknown): value is TimeoutError {
    return isTagged(value, 'TimeoutError');
  }
}
defineTag(TimeoutError, 'TimeoutError');

/** The stream ended before `expected` bytes were read. `partial` holds what was read. */
export class IncompleteReadError extends Error {
  readonly partial: Uint8Array;
  readonly expected: number | null;
  constructor(partial: Uint8Array, expected: number | null) {
    super(`${partial.length} bytes read on a total of ${expected === null ? 'undefined' : expected} expected bytes`);
    this.partial = partial;
    this.expected = expected;
  }
  static isInstance(value: unknown): value is IncompleteReadError {
    return isTagged(value, 'IncompleteReadError');
  }
}
defineTag(IncompleteReadError, 'IncompleteReadError');

/** The buffer limit was reached while looking for a separator. `consumed` bytes are to be consumed. */
export class LimitOverrunError extends Error {
  readonly consumed: number;
  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
  static isInstance(value: unknown): value is LimitOverrunError {
    return isTagged(value, 'LimitOverrunError');
  }
}
defineTag(LimitOverrunError, 'LimitOverrunError');

/**
 * An operating-system failure. Shaped like Node's system errors: `code`
 * (`'ECONNREFUSED'`), `errno` (the positive platform number, as Python's
 * `OSError.errno`) and `syscall` (`'connect'`).
 */
export class OSError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  constructor(errno: number, syscall: string, message?: string, code?: string) {
    const resolved = code ?? errnoName(errno);
    super(message ?? `${syscall} ${resolved}`);
    this.errno = errno;
    this.code = resolved;
    this.syscall = syscall;
  }
  static isInstance(value: unknown): value is OSError {
    return isTagged(value, 'OSError');
  }
}
defineTag(OSError, 'OSError');

function osSubclass(name: string, parent: typeof OSError = OSError): typeof OSError {
  const cls = class extends parent {
    static override isInstance(value: unknown): value is OSError {
      return isTagged(value, name);
    }
  };
  defineTag(cls, name, parent);
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

/** PEP 3151 subclasses, matched by errno as Python does. */
export const BlockingIOError = osSubclass('BlockingIOError');
export type BlockingIOError = OSError;
export const ChildProcessError = osSubclass('ChildProcessError');
export type ChildProcessError = OSError;
export const ConnectionError = osSubclass('ConnectionError');
export type ConnectionError = OSError;
export const BrokenPipeError = osSubclass('BrokenPipeError', ConnectionError);
export type BrokenPipeError = OSError;
export const ConnectionAbortedError = osSubclass('ConnectionAbortedError', ConnectionError);
export type ConnectionAbortedError = OSError;
export const ConnectionRefusedError = osSubclass('ConnectionRefusedError', ConnectionError);
export type ConnectionRefusedError = OSError;
export const ConnectionResetError = osSubclass('ConnectionResetError', ConnectionError);
export type ConnectionResetError = OSError;
export const FileExistsError = osSubclass('FileExistsError');
export type FileExistsError = OSError;
export const FileNotFoundError = osSubclass('FileNotFoundError');
export type FileNotFoundError = OSError;
export const InterruptedError = osSubclass('InterruptedError');
export type InterruptedError = OSError;
export const IsADirectoryError = osSubclass('IsADirectoryError');
export type IsADirectoryError = OSError;
export const NotADirectoryError = osSubclass('NotADirectoryError');
export type NotADirectoryError = OSError;
export const PermissionError = osSubclass('PermissionError');
export type PermissionError = OSError;
export const ProcessLookupError = osSubclass('ProcessLookupError');
export type ProcessLookupError = OSError;
export const TimeoutOSError = osSubclass('TimeoutOSError');
export type TimeoutOSError = OSError;

const errnoNumbers: Record<string, number> = osConstants.errno as Record<string, number>;
const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(errnoNumbers)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// Prefer the names Node reports for aliases.
for (const name of ['EAGAIN', 'EDEADLK', 'ENOTSUP']) {
  if (name in errnoNumbers) errnoNames.set(errnoNumbers[name]!, name);
}

/** The symbolic name of a platform errno (`'ECONNRESET'`), or `'E<n>'` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** The platform number of a symbolic errno name, or undefined. */
export function errnoNumber(code: string): number | undefined {
  return errnoNumbers[code];
}

const byCode: Record<string, typeof OSError> = {
  EAGAIN: BlockingIOError,
  EWOULDBLOCK: BlockingIOError,
  EALREADY: BlockingIOError,
  EINPROGRESS: BlockingIOError,
  ECHILD: ChildProcessError,
  EPIPE: BrokenPipeError,
  ESHUTDOWN: BrokenPipeError,
  ECONNABORTED: ConnectionAbortedError,
  ECONNREFUSED: ConnectionRefusedError,
  ECONNRESET: ConnectionResetError,
  EEXIST: FileExistsError,
  ENOENT: FileNotFoundError,
  EINTR: InterruptedError,
  EISDIR: IsADirectoryError,
  ENOTDIR: NotADirectoryError,
  EACCES: PermissionError,
  EPERM: PermissionError,
  ESRCH: ProcessLookupError,
  ETIMEDOUT: TimeoutOSError,
};

/**
 * Build the typed error for an errno: the PEP 3151 subclass when one matches,
 * else a plain `OSError`. This is the one table every package uses.
 */
export function osErrorFromErrno(errno: number, syscall: string, message?: string): OSError {
  const code = errnoName(errno);
  const cls = byCode[code] ?? OSError;
  return new cls(errno, syscall, message, code);
}

/**
 * Convert what a native addon threw (an object or Error with `errno` and
 * `syscall`) into the typed `OSError`; anything else is returned unchanged.
 */
export function toOSError(error: unknown): unknown {
  if (OSError.isInstance(error)) return error;
  if (error !== null && typeof error === 'object') {
    const record = error as { errno?: unknown; syscall?: unknown; code?: unknown; message?: unknown };
    if (typeof record.errno === 'number' && typeof record.syscall === 'string') {
      // Node reports negative errno values (libuv); Python and evloop use positive ones.
      const errno = Math.abs(record.errno);
      return osErrorFromErrno(errno, record.syscall);
    }
  }
  return error;
}

/**
 * A file object is not (or is already) registered with a selector. Python's
 * selectors raise `KeyError`; evloop's is a `RangeError` subclass, so code
 * that checks for a bad argument in the JavaScript way catches it too.
 */
export class KeyError extends RangeError {
  static isInstance(value: unknown): value is KeyError {
    return isTagged(value, 'KeyError');
  }
}
defineTag(KeyError, 'KeyError');

/**
 * A function cannot run in the default executor. The default executor runs
 * functions in worker threads, so a function must be self-contained (its
 * source is all it takes with it: no closures over local state, no `this`)
 * or be named as a module export (`{ module, export }`). Arguments and
 * results are copied with the structured clone algorithm.
 */
export class ExecutorFunctionError extends TypeError {
  static isInstance(value: unknown): value is ExecutorFunctionError {
    return isTagged(value, 'ExecutorFunctionError');
  }
}
defineTag(ExecutorFunctionError, 'ExecutorFunctionError');

/**
 * A TLS failure (Python's `ssl.SSLError`, an `OSError`). `code` is Node's
 * code for it (`'ERR_SSL_WRONG_VERSION_NUMBER'`, `'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'`),
 * `reason` OpenSSL's reason when there is one (`'wrong version number'`),
 * else the code; `library` OpenSSL's library name, or null.
 */
export class SSLError extends OSError {
  readonly reason: string;
  readonly library: string | null;
  constructor(message: string, options: { code: string; reason?: string | null; library?: string | null; cause?: unknown }) {
    super(0, 'ssl', message, options.code);
    this.reason = options.reason ?? options.code;
    this.library = options.library ?? null;
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false, writable: true, configurable: true });
  }
  static override isInstance(value: unknown): value is SSLError {
    return isTagged(value, 'SSLError');
  }
}
defineTag(SSLError, 'SSLError', OSError);

/**
 * The peer's certificate did not verify (Python's `ssl.SSLCertVerificationError`).
 * `code` (and `reason`) is Node's verification code: `'CERT_HAS_EXPIRED'`,
 * `'DEPTH_ZERO_SELF_SIGNED_CERT'`, `'UNABLE_TO_VERIFY_LEAF_SIGNATURE'`,
 * `'ERR_TLS_CERT_ALTNAME_INVALID'` (wrong host name), ...; `verifyMessage`
 * says it in words (`'certificate has expired'`).
 */
export class SSLCertVerificationError extends SSLError {
  readonly verifyMessage: string;
  constructor(message: string, options: { code: string; verifyMessage: string; cause?: unknown }) {
    super(message, { code: options.code, reason: options.code, cause: options.cause });
    this.verifyMessage = options.verifyMessage;
  }
  static override isInstance(value: unknown): value is SSLCertVerificationError {
    return isTagged(value, 'SSLCertVerificationError');
  }
}
defineTag(SSLCertVerificationError, 'SSLCertVerificationError', SSLError);

/**
 * Re-throw `error` if it is a `CancelledError`; otherwise return. In asyncio
 * `CancelledError` is a `BaseException`, so `except Exception` lets it
 * through; a JavaScript `catch` traps everything, so a `catch` that handles
 * failures should start with this line, or the task can no longer be
 * cancelled:
 *
 * ```ts
 * try { await work(); } catch (error) { rethrowIfCancelled(error); log(error); }
 * ```
 */
export function rethrowIfCancelled(error: unknown): void {
  if (CancelledError.isInstance(error)) throw error;
}
