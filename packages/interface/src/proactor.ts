import { osErrorFromErrno, type OSError } from './errors.js';
import type { FileObject } from './selector.js';

/**
 * A socket address as `@evloop/sys` spells it: `[host, port]` (AF_INET),
 * `[host, port, flowinfo, scopeId]` (AF_INET6; `[host, port]` accepted on
 * input) or a path string (AF_UNIX, a leading `'\0'` for Linux's abstract
 * namespace). Hosts are numeric: resolve names with `getaddrinfo` first.
 */
export type ProactorAddress = [string, number] | [string, number, number, number] | string;

/** Entries per completion in `Proactor.completions`: `[token, result, flags]`. */
export const COMPLETION_STRIDE = 3;
/** Set in a completion's flags when more completions of the same operation will follow (a multishot operation). */
export const COMPLETION_MORE = 2;

/**
 * The proactor contract (completion-based I/O: io_uring, IOCP), in the shape
 * of CPython's `IocpProactor`, with completions handed back in bulk like a
 * selector's ready events, so the base loop's one `_runOnce` serves both
 * families.
 *
 * Operations start at once and return a **token**, a positive int32 that
 * names the operation until its completion has been harvested. `poll()`
 * writes completions into `completions` as `[token, result, flags]`
 * triplets and returns how many it wrote. `result` is the operation's number
 * (bytes moved, the accepted fd, 0 for connect, the ready `EVENT_*` mask for
 * `pollAdd`) or, when negative, `-errno`; `completionError` turns it into
 * the typed `OSError`. Operations whose value is more than a number (`recv`'s
 * bytes, `accept`'s address, `recvfrom`'s sender) hand it out through
 * `completionValue(index)` until the next `poll`.
 *
 * Behaviour every backend must have:
 * - **Buffers belong to the kernel until the completion arrives**: the
 *   proactor keeps every buffer passed to (or allocated for) an operation
 *   referenced until that operation's completion has been harvested, even
 *   after `cancel()`, and never hands it to another operation before then.
 *   The caller must not write into a buffer it passed in until then either.
 * - Every operation completes exactly once (including a cancelled one, with
 *   `ECANCELED`, or with its real result if it finished first). An operation
 *   on a bad fd completes with `EBADF` rather than throwing.
 * - `cancel(token)` asks for cancellation and returns `true` when the token
 *   is in flight (`false` for an unknown or already-harvested token); the
 *   completion still arrives through `poll`.
 * - Closing an fd that has operations in flight does not complete them on
 *   every kernel (io_uring keeps its own reference to the file): cancel them
 *   (and shut a socket down) before closing it. `cancelFd(fd)` cancels them
 *   all and hands every queued operation to the kernel, so the fd may be
 *   closed as soon as it returns (its number cannot be reused under an
 *   operation that was still queued).
 * - Bad arguments throw `TypeError`/`RangeError` naming the argument; an
 *   operation on a closed proactor throws `RuntimeError`; a failure to queue
 *   the operation at all throws the `OSError`.
 * - `close()` cancels what is in flight and waits (bounded) for those
 *   completions, so no buffer is written after `close()` returns; buffers of
 *   operations the kernel still holds then stay referenced for the life of
 *   the process rather than being freed under the kernel.
 * - `watch(onReady)`/`unwatch()` are the guest-loop wait of `BaseSelector`:
 *   `onReady` is called from Node's event loop whenever a `poll(0)` would find
 *   completions. Operations started between polls are submitted before Node
 *   blocks, so an idle loop never leaves one unsubmitted.
 */
export interface Proactor {
  /** The backend name (`'uring'`, `'iocp'`). */
  readonly backendName: string;
  readonly closed: boolean;
  /** Operations started and not yet harvested. */
  readonly pending: number;
  /**
   * Which optional kernel features this instance uses (names are the
   * backend's). `readiness: false` says `pollAdd` raises
   * `NotImplementedError`, so the loop's `addReader`/`addWriter` do too;
   * `pollsPipes: false` says `pollAdd` works on sockets only (IOCP's AFD
   * polls), so pipe transports watch their peer with a read instead;
   * `pipes: false` says `read`/`write` do, so the loop has no pipe
   * transports or subprocesses. `directSend: true` says a socket with no
   * send in flight may be written with a plain send(2) on its fd outside
   * the proactor (native TLS sends its records that way); where it is
   * absent or false, every byte goes through the socket transport.
   */
  readonly features: Readonly<Record<string, boolean | number>>;

  /** Receive up to `nbytes` into a new buffer; the value is a `Buffer` of `result` bytes (empty at EOF). */
  recv(fileobj: FileObject, nbytes: number, flags?: number): number;
  /**
   * Optional (when the kernel can): receive until cancelled, with one
   * operation. Each arrival is a completion of the same token, its value a
   * `Buffer` of `result` bytes (the proactor's own buffers, copied out), with
   * `COMPLETION_MORE` in its flags while the operation goes on. The last
   * completion has no `COMPLETION_MORE`: EOF (0), an error, ECANCELED, or
   * ENOBUFS when the proactor's buffers ran out (start it again).
   */
  recvMany?(fileobj: FileObject): number;
  /**
   * Optional: `view`, a `recvMany` value handed out by the last `poll`, has
   * been read for good and nobody keeps it (a protocol that copies what it
   * keeps, such as native TLS): the proactor may copy later arrivals into
   * its memory again. Anything else (an older value, another buffer) is
   * ignored; views not given back are never written again.
   */
  releaseReceived?(view: Uint8Array): void;
  /** Receive into `buffer` (its first `nbytes`, or all of it); `result` is the byte count. */
  recvInto(fileobj: FileObject, buffer: Uint8Array, nbytes?: number, flags?: number): number;
  /** Send what the kernel takes of `data` in one go; `result` is the byte count (may be short). */
  send(fileobj: FileObject, data: Uint8Array, flags?: number): number;
  /** Send one datagram to `address`; `result` is the byte count. */
  sendto(fileobj: FileObject, data: Uint8Array, address: ProactorAddress, flags?: number): number;
  /** Receive one datagram; the value is `[Buffer, address]`. */
  recvfrom(fileobj: FileObject, nbytes: number, flags?: number): number;
  /** Receive one datagram into `buffer`; the value is `[nbytes, address]`. */
  recvfromInto(fileobj: FileObject, buffer: Uint8Array, nbytes?: number, flags?: number): number;
  /** Accept a connection; `result` is the new fd (non-blocking, close-on-exec), the value `[fd, address]`. */
  accept(fileobj: FileObject): number;
  /**
   * Optional (when the kernel can): accept connections until cancelled, with
   * one operation. Each connection is a completion of the same token, with
   * `result` the new fd, the value `[fd, null]` (ask the socket for its
   * peer), and `COMPLETION_MORE` in its flags while the operation goes on;
   * the last completion has no `COMPLETION_MORE` (an error, or ECANCELED).
   */
  acceptMany?(fileobj: FileObject): number;
  /** Connect a (non-blocking) socket; `result` is 0 once connected. */
  connect(fileobj: FileObject, address: ProactorAddress): number;
  /** Send up to `count` bytes of file `file` from `offset` to socket `sock`; `result` is the byte count (may be short). */
  sendfile(sock: FileObject, file: FileObject, offset: number, count: number): number;
  /** Read up to `nbytes` from a pipe or file (at `position`, or the fd's own position); the value is a `Buffer`. */
  read(fileobj: FileObject, nbytes: number, position?: number | null): number;
  /** Write `data` to a pipe or file; `result` is the byte count (may be short). */
  write(fileobj: FileObject, data: Uint8Array, position?: number | null): number;
  /**
   * Readiness, for `addReader`/`addWriter` on a proactor loop: completes once
   * `fileobj` is ready for `events` (`EVENT_READ | EVENT_WRITE | EVENT_PRIORITY`;
   * a proactor without priority polls throws NotImplementedError) with the
   * ready mask as `result`. One shot: start it again to keep watching.
   */
  pollAdd(fileobj: FileObject, events: number): number;

  /** Ask for `token`'s cancellation; false when it is not in flight. */
  cancel(token: number): boolean;
  /** Cancel every operation in flight on `fileobj`; returns how many. */
  cancelFd(fileobj: FileObject): number;

  /**
   * Submit what was started and harvest completions: `null`/`undefined`
   * waits for one, `<= 0` does not wait, otherwise waits up to `timeout`
   * seconds (rounded up to whole milliseconds). Returns the number of
   * triplets written to `completions`.
   */
  poll(timeout?: number | null): number;
  /** Triplets written by the last `poll`: `[token0, result0, flags0, token1, ...]`. */
  readonly completions: Int32Array;
  /** The value of completion `index` of the last `poll` (see each operation), or `undefined`. */
  completionValue(index: number): unknown;
  /**
   * Optional: submit what was started and say whether completions are
   * waiting, without taking them (the next `poll` does). Virtual clocks
   * (`@evloop/testing`) ask it before letting time jump.
   */
  hasCompletions?(): boolean;

  watch(onReady: () => void): void;
  unwatch(): void;
  /** The kernel object's fd (the io_uring fd), or -1 when there is none. */
  fileno(): number;
  close(): void;
}

/** The typed `OSError` for a negative completion result. */
export function completionError(result: number, syscall: string): OSError {
  return osErrorFromErrno(-result, syscall);
}
