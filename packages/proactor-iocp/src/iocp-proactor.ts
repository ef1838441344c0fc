import {
  COMPLETION_STRIDE,
  EVENT_PRIORITY,
  NotImplementedError,
  RuntimeError,
  checkBytes,
  checkFlags,
  checkOffset,
  checkPollEvents,
  checkPosition,
  checkSize,
  describeArgument as describe,
  fileobjToFd,
  spanOf,
  timeoutToMs,
  toOSError,
  type FileObject,
  type Proactor,
  type ProactorAddress,
} from '@evloop/interface';
import { createRequire } from 'node:module';
import { loadNative, type IocpNative, type NativePort } from './load-native.js';

/** `@evloop/sys`, when installed: it keeps the blocking mode of each socket itself (Winsock cannot be asked). */
let sysModule: { setBlocking(fd: number, blocking: boolean): void } | null | undefined;
function sys(): { setBlocking(fd: number, blocking: boolean): void } | null {
  if (sysModule === undefined) {
    try {
      sysModule = createRequire(import.meta.url)('@evloop/sys') as { setBlocking(fd: number, blocking: boolean): void };
    } catch {
      sysModule = null;
    }
  }
  return sysModule;
}

const enum Kind {
  Recv,
  RecvInto,
  Send,
  SendTo,
  RecvFrom,
  RecvFromInto,
  Accept,
  Connect,
  Poll,
  Sendfile,
  Read,
  Write,
}

/** Everything an operation holds on to until its completion is harvested. */
interface Operation {
  kind: Kind;
  fd: number;
  /** The data buffer (the caller's or ours): the kernel's until harvested. */
  buffer: Uint8Array | null;
  cancelRequested: boolean;
  /** Poll: the base socket and the events, and whether it has been started yet. */
  base?: number;
  events?: number;
  started?: boolean;
}

const MAX_TOKEN = 0x7fffffff;
/** The most one TransmitFile sends (its count is a DWORD below 2^31 - 1). */
const MAX_TRANSMIT = 0x7ffffffe;
const EMPTY = Buffer.alloc(0);
/** Completions one poll takes at most; the rest wait in the port for the next. */
const CAPACITY = 1024;
/** How long close() waits for the kernel to give cancelled operations back. */
const CLOSE_WAIT_MS = 2000;

/**
 * Operations whose buffers the kernel still held when their proactor was
 * closed: kept referenced for the life of the process rather than freed
 * under the kernel.
 */
const abandoned: Operation[] = [];

/**
 * The I/O completion port proactor (Windows): CPython's `IocpProactor` over
 * overlapped Winsock calls. Each operation starts at once (there is no
 * submission queue); completions are dequeued in bulk with
 * `GetQueuedCompletionStatusEx`, on the loop's thread by `poll()` and, while
 * the loop is idle, on a helper thread that wakes the loop through a
 * Node-API thread-safe function.
 *
 * Readiness (`pollAdd`, so `addReader`/`addWriter` on a ProactorEventLoop)
 * is an AFD poll (IOCTL_AFD_POLL) of the socket, as libuv, mio and wepoll
 * do: sockets only; other handles raise `NotImplementedError`
 * (`pollsPipes: false`: a write pipe transport notices its reader going
 * away through a read in flight instead, as asyncio's Windows proactor does).
 *
 * `sendfile` is TransmitFile. `read`/`write` are overlapped
 * ReadFile/WriteFile on pipe (or file) HANDLEs, such as the ends
 * `@evloop/sys`'s `pipe()` makes on Windows; the handle value is the fd.
 *
 * `directSend: false`: native TLS does not send its records beside the
 * port (its one-call send is POSIX send(2) on an fd, which a SOCKET handle
 * is not); they go through the socket transport.
 */
export class IocpProactor implements Proactor {
  readonly backendName = 'iocp';
  readonly features: Readonly<Record<string, boolean | number>> = Object.freeze({ readiness: true, pollsPipes: false, pipes: true, sendfile: true, directSend: false });
  readonly #native: IocpNative;
  readonly #port: NativePort;
  readonly #operations = new Map<number, Operation>();
  readonly #completions = new Int32Array(CAPACITY * COMPLETION_STRIDE);
  /** The operations of the last poll's completions, by completion index. */
  #harvested: Array<Operation | undefined> = [];
  #harvestedCount = 0;
  #nextToken = 1;
  #closed = false;
  /** Readiness polls asked for and not started yet (see pollAdd). */
  #deferred: number[] = [];
  #startScheduled = false;
  readonly #startDeferredLater = (): void => {
    this.#startScheduled = false;
    if (this.#closed) return;
    try {
      this.#startDeferred();
    } catch {
      // Left queued: the next poll() starts them or throws the error.
    }
  };

  constructor() {
    const native = loadNative();
    if (native.unsupportedReason !== undefined) throw new RuntimeError(`@evloop/proactor-iocp cannot create a proactor: ${native.unsupportedReason}`);
    this.#native = native;
    this.#port = callNative(() => new native.Port());
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pending(): number {
    return this.#operations.size;
  }

  get completions(): Int32Array {
    return this.#completions;
  }

  /** There is no fd: a completion port is a Win32 handle. */
  fileno(): number {
    this.#checkOpen();
    return -1;
  }

  recv(fileobj: FileObject, nbytes: number, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkSize(nbytes, 'nbytes');
    checkFlags(flags);
    const buffer = Buffer.allocUnsafe(nbytes);
    return this.#start(Kind.Recv, fd, buffer, (token) => this.#port.recv(token, fd, buffer, 0, nbytes, flags));
  }

  recvInto(fileobj: FileObject, buffer: Uint8Array, nbytes = 0, flags = 0): number {
    const fd = this.#fd(fileobj);
    const length = spanOf(buffer, nbytes);
    checkFlags(flags);
    return this.#start(Kind.RecvInto, fd, buffer, (token) => this.#port.recv(token, fd, buffer, 0, length, flags));
  }

  send(fileobj: FileObject, data: Uint8Array, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkBytes(data, 'data');
    checkFlags(flags);
    return this.#start(Kind.Send, fd, data, (token) => this.#port.send(token, fd, data, 0, data.byteLength, flags));
  }

  sendto(fileobj: FileObject, data: Uint8Array, address: ProactorAddress, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkBytes(data, 'data');
    checkFlags(flags);
    const [family, host, port, flowinfo, scopeId] = this.#address(fd, address);
    return this.#start(Kind.SendTo, fd, data, (token) => this.#port.sendto(token, fd, data, 0, data.byteLength, flags, family, host, port, flowinfo, scopeId));
  }

  recvfrom(fileobj: FileObject, nbytes: number, flags = 0): number {
    const fd = this.#fd(fileobj);
    checkSize(nbytes, 'nbytes');
    checkFlags(flags);
    const buffer = Buffer.allocUnsafe(nbytes);
    return this.#start(Kind.RecvFrom, fd, buffer, (token) => this.#port.recvfrom(token, fd, buffer, 0, nbytes, flags));
  }

  recvfromInto(fileobj: FileObject, buffer: Uint8Array, nbytes = 0, flags = 0): number {
    const fd = this.#fd(fileobj);
    const length = spanOf(buffer, nbytes);
    checkFlags(flags);
    return this.#start(Kind.RecvFromInto, fd, buffer, (token) => this.#port.recvfrom(token, fd, buffer, 0, length, flags));
  }

  accept(fileobj: FileObject): number {
    const fd = this.#fd(fileobj);
    return this.#start(Kind.Accept, fd, null, (token) => this.#port.accept(token, fd));
  }

  connect(fileobj: FileObject, address: ProactorAddress): number {
    const fd = this.#fd(fileobj);
    const [family, host, port, flowinfo, scopeId] = this.#address(fd, address);
    return this.#start(Kind.Connect, fd, null, (token) => this.#port.connect(token, fd, family, host, port, flowinfo, scopeId));
  }

  /**
   * TransmitFile of `count` bytes of `file` (a node:fs fd, whose HANDLE
   * libuv's `uv_get_osfhandle` in node.exe gives) from `offset`: completes
   * with the bytes sent, fewer at the end of the file, 0 at or past it.
   */
  sendfile(sock: FileObject, file: FileObject, offset: number, count: number): number {
    const fd = this.#fd(sock);
    const fileFd = fileobjToFd(file);
    checkOffset(offset);
    checkSize(count, 'count');
    // TransmitFile takes a count of 0 to mean the whole file.
    if (count === 0) return this.#start(Kind.Send, fd, EMPTY, (token) => this.#port.send(token, fd, EMPTY, 0, 0, 0));
    if (!this.#native.fileHandles) {
      throw new NotImplementedError('iocp proactor: sendfile needs libuv\'s uv_get_osfhandle from the host executable (node.exe has it; this host does not); send the file in chunks (loop.sendfile does with { fallback: true })');
    }
    return this.#start(Kind.Sendfile, fd, null, (token) => this.#port.sendfile(token, fd, fileFd, offset, Math.min(count, MAX_TRANSMIT)));
  }

  /**
   * Overlapped ReadFile of up to `nbytes` from a HANDLE opened for
   * overlapped I/O (a named pipe end). The other end gone
   * (ERROR_BROKEN_PIPE) or end of file (ERROR_HANDLE_EOF) completes as a
   * 0-byte read.
   */
  read(fileobj: FileObject, nbytes: number, position: number | null = null): number {
    const fd = this.#fd(fileobj);
    checkSize(nbytes, 'nbytes');
    checkPosition(position);
    const buffer = Buffer.allocUnsafe(nbytes);
    const offset = position ?? -1;
    return this.#start(Kind.Read, fd, buffer, (token) => this.#port.read(token, fd, buffer, 0, nbytes, offset));
  }

  /** Overlapped WriteFile of `data`; a pipe whose reader is gone (ERROR_NO_DATA) is EPIPE (BrokenPipeError). */
  write(fileobj: FileObject, data: Uint8Array, position: number | null = null): number {
    const fd = this.#fd(fileobj);
    checkBytes(data, 'data');
    checkPosition(position);
    const offset = position ?? -1;
    return this.#start(Kind.Write, fd, data, (token) => this.#port.write(token, fd, data, 0, data.byteLength, offset));
  }

  /**
   * One AFD poll of the socket (its base socket, SIO_BASE_HANDLE) for
   * EVENT_READ and/or EVENT_WRITE: it completes once with the ready mask (a
   * reset or failed connect wakes both), or with EBADF when the socket is
   * closed under it. Priority (out-of-band) readiness is not offered.
   */
  pollAdd(fileobj: FileObject, events: number): number {
    const fd = this.#fd(fileobj);
    checkPollEvents(events);
    if ((events & EVENT_PRIORITY) !== 0) {
      throw new NotImplementedError('iocp proactor: priority (out-of-band) readiness is not implemented; use the select backend (EVLOOP_BACKEND=select) for addPriorityReader');
    }
    let base: number;
    try {
      base = this.#native.baseSocket(fd);
    } catch (error) {
      const typed = toOSError(error);
      if ((typed as { code?: unknown }).code !== 'ENOTSOCK') throw typed;
      throw new NotImplementedError(
        `iocp proactor: fd ${fd} cannot be watched: it is not a socket, and readiness (addReader/addWriter) works on sockets only (AFD polling; Windows has none for other handles, and select() watches sockets only too); read files with node:fs, and move pipe data with transports or the proactor's read/write`,
      );
    }
    // Started once the current JavaScript is done (a microtask, or the next
    // poll()), not now: an AFD poll completes at once while data is waiting,
    // and a loop restarts its poll before its reader has read what the last
    // one reported, which would wake the reader once more for nothing.
    const token = this.#allocateToken();
    this.#operations.set(token, { kind: Kind.Poll, fd, buffer: null, cancelRequested: false, base, events, started: false });
    this.#deferred.push(token);
    if (!this.#startScheduled) {
      this.#startScheduled = true;
      queueMicrotask(this.#startDeferredLater);
    }
    return token;
  }

  /** Start the readiness polls asked for since the last start (those cancelled meanwhile are started and cancelled, so they complete). */
  #startDeferred(): void {
    const deferred = this.#deferred;
    if (deferred.length === 0) return;
    this.#deferred = [];
    for (let i = 0; i < deferred.length; i++) {
      const token = deferred[i]!;
      const operation = this.#operations.get(token);
      if (operation === undefined || operation.started === true) continue;
      try {
        this.#port.pollAdd(token, operation.base!, operation.events!);
      } catch (error) {
        this.#deferred = deferred.slice(i).concat(this.#deferred);
        throw toOSError(error);
      }
      operation.started = true;
      if (operation.cancelRequested) this.#port.cancel(token);
    }
  }

  cancel(token: number): boolean {
    this.#checkOpen();
    if (typeof token !== 'number' || !Number.isInteger(token)) throw new TypeError(`token must be an integer, got ${typeof token}`);
    const operation = this.#operations.get(token);
    if (operation === undefined) return false;
    if (!operation.cancelRequested) {
      operation.cancelRequested = true;
      // A poll not started yet is started (and so cancelled) with the others.
      if (operation.started === false) this.#startDeferred();
      else this.#port.cancel(token);
    }
    return true;
  }

  cancelFd(fileobj: FileObject): number {
    this.#checkOpen();
    const fd = fileobjToFd(fileobj);
    let count = 0;
    for (const [token, operation] of this.#operations) {
      if (operation.fd !== fd) continue;
      this.cancel(token);
      count++;
    }
    return count;
  }

  poll(timeout?: number | null): number {
    this.#checkOpen();
    const waitMs = timeoutToMs(timeout);
    this.#releaseHarvested();
    this.#startDeferred();
    if (this.#operations.size === 0 && waitMs === 0) return 0;
    return this.#harvest(waitMs);
  }

  completionValue(index: number): unknown {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= this.#harvestedCount) return undefined;
    const operation = this.#harvested[index];
    const result = this.#completions[index * COMPLETION_STRIDE + 1]!;
    if (operation === undefined || result < 0) return undefined;
    switch (operation.kind) {
      case Kind.Recv:
      case Kind.Read:
        return (operation.buffer as Buffer).subarray(0, result);
      case Kind.RecvFrom:
        return [(operation.buffer as Buffer).subarray(0, result), this.#port.address(index)];
      case Kind.RecvFromInto:
        return [result, this.#port.address(index)];
      case Kind.Accept:
        return [result, this.#port.address(index)];
      default:
        return undefined;
    }
  }

  watch(onReady: () => void): void {
    this.#checkOpen();
    if (typeof onReady !== 'function') throw new TypeError('onReady must be a function');
    callNative(() => this.#port.watch(onReady));
  }

  unwatch(): void {
    if (this.#closed) return;
    this.#port.unwatch();
  }

  /**
   * Cancel what is in flight and wait (at most two seconds) until the
   * kernel has given every buffer back, then close the port. Anything the
   * kernel still holds after that stays referenced for the process's life.
   */
  close(): void {
    if (this.#closed) return;
    this.#port.unwatch();
    this.#releaseHarvested();
    try {
      this.#startDeferred();
    } catch {
      // Never started: nothing of theirs is the kernel's.
      for (const token of this.#deferred) this.#operations.delete(token);
      this.#deferred = [];
    }
    if (this.#operations.size > 0) {
      for (const [token, operation] of this.#operations) {
        if (operation.cancelRequested) continue;
        operation.cancelRequested = true;
        this.#port.cancel(token);
      }
      const deadline = performance.now() + CLOSE_WAIT_MS;
      while (this.#operations.size > 0) {
        const left = Math.ceil(deadline - performance.now());
        if (left <= 0) break;
        let count: number;
        try {
          count = this.#harvest(left);
        } catch {
          break;
        }
        // A connection accepted while closing reaches nobody: close it.
        for (let i = 0; i < count; i++) {
          const result = this.#completions[i * COMPLETION_STRIDE + 1]!;
          if (this.#harvested[i]!.kind === Kind.Accept && result >= 0) this.#native.closeSocket(result);
        }
        this.#releaseHarvested();
      }
      for (const operation of this.#operations.values()) abandoned.push(operation);
      this.#operations.clear();
    }
    this.#closed = true;
    this.#port.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new RuntimeError('iocp proactor is closed');
  }

  #fd(fileobj: FileObject): number {
    this.#checkOpen();
    return fileobjToFd(fileobj);
  }

  #start(kind: Kind, fd: number, buffer: Uint8Array | null, start: (token: number) => void): number {
    const token = this.#allocateToken();
    callNative(() => start(token));
    this.#operations.set(token, { kind, fd, buffer, cancelRequested: false });
    return token;
  }

  #allocateToken(): number {
    const operations = this.#operations;
    if (operations.size >= MAX_TOKEN - 1) throw new RuntimeError('too many operations in flight');
    let token = this.#nextToken;
    while (operations.has(token)) token = token === MAX_TOKEN ? 1 : token + 1;
    this.#nextToken = token === MAX_TOKEN ? 1 : token + 1;
    return token;
  }

  /** Dequeue what the port holds (waiting up to waitMs for the first), and settle each completion. */
  #harvest(waitMs: number): number {
    const count = callNative(() => this.#port.harvest(this.#completions, waitMs));
    const completions = this.#completions;
    const operations = this.#operations;
    const harvested = this.#harvested;
    for (let i = 0; i < count; i++) {
      const token = completions[i * COMPLETION_STRIDE]!;
      const operation = operations.get(token);
      harvested[i] = operation;
      operations.delete(token);
      // AcceptEx's socket is non-blocking already; tell @evloop/sys, which
      // answers getBlocking() from what it was told.
      const result = completions[i * COMPLETION_STRIDE + 1]!;
      if (operation?.kind === Kind.Accept && result >= 0) sys()?.setBlocking(result, false);
    }
    this.#harvestedCount = count;
    return count;
  }

  /** The last poll's operations let go of their buffers once their values can no longer be asked for. */
  #releaseHarvested(): void {
    const harvested = this.#harvested;
    for (let i = 0; i < this.#harvestedCount; i++) harvested[i] = undefined;
    this.#harvestedCount = 0;
  }

  /** `[family, host, port, flowinfo, scopeId]` for the native side; the host stays text (checked there). */
  #address(fd: number, address: ProactorAddress): [number, string, number, number, number] {
    const native = this.#native;
    if (typeof address === 'string') throw new NotImplementedError('iocp proactor: AF_UNIX addresses are not supported on Windows; use [host, port]');
    if (!Array.isArray(address) || address.length < 2 || address.length > 4) {
      throw new TypeError(`address must be [host, port] or [host, port, flowinfo, scopeId], got ${describe(address)}`);
    }
    const [host, port, flowinfo = 0, scopeId = 0] = address as unknown[];
    if (typeof host !== 'string') throw new TypeError(`address host must be a string, got ${describe(host)}`);
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`address port must be an integer in [0, 65535], got ${String(port)}`);
    }
    if (typeof flowinfo !== 'number' || typeof scopeId !== 'number') throw new TypeError('address flowinfo and scopeId must be numbers');
    let family: number;
    if (address.length > 2 || host.includes(':')) family = native.AF_INET6;
    else if (host === '') family = callNative(() => native.socketFamily(fd));
    else family = native.AF_INET;
    return [family, host, port, flowinfo, scopeId];
  }
}

function callNative<R>(fn: () => R): R {
  try {
    return fn();
  } catch (error) {
    throw toOSError(error);
  }
}
