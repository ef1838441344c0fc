import { constants as osConstants } from 'node:os';
import {
  EVENT_PRIORITY,
  EVENT_READ,
  EVENT_WRITE,
  NotImplementedError,
  OSError,
  fileobjToFd,
  osErrorFromErrno,
  type BackendDescriptor,
  type BaseSelector,
  type FileObject,
  type SelectorKey,
} from '@evloop/interface';
import { BaseEventLoop } from '../base/base-event-loop.js';
import type { Server, TransportOwner } from '../base/server.js';
import type { SubprocessOptions } from '../base/subprocess-options.js';
import type { Future } from '../futures/future.js';
import { Handle, OneArgHandle, handleFor } from '../loop/handles.js';
import { resolveBackend } from '../loop/discovery.js';
import { logger } from '../loop/logger.js';
import { offerBackendSys, sysModule, type PipeLike, type SocketAddress, type SocketLike } from '../net/socket-module.js';
import { startSubprocessTransport } from '../subprocess/subprocess-transport.js';
import * as sockets from './selector-sockets.js';
import { SelectorDatagramTransport, SelectorSocketTransport } from './selector-transports.js';
import { UnixReadPipeTransport, UnixWritePipeTransport } from './unix-pipe-transports.js';
import type { BaseProtocol, DatagramTransport, ReadTransport, SubprocessProtocol as SubprocessProtocolContract, SubprocessTransport, WriteTransport } from '@evloop/interface';

/**
 * A key's data: the reader, writer and priority reader (`addPriorityReader`)
 * of its fd. One object per watched fd for as long as it is watched, changed
 * in place (a `modify` passes the same object again).
 */
class ReaderWriter {
  reader: Handle | null = null;
  writer: Handle | null = null;
  priority: Handle | null = null;
}

function slotOf(event: number): 'reader' | 'writer' | 'priority' {
  return event === EVENT_READ ? 'reader' : event === EVENT_WRITE ? 'writer' : 'priority';
}

/**
 * asyncio's `SelectorEventLoop`: the loop on a readiness backend. Give it a
 * selector (`new SelectorEventLoop(new PollSelector())`), or let it make one
 * from the backend the default policy would choose.
 */
export class SelectorEventLoop extends BaseEventLoop {
  readonly backend: BackendDescriptor | undefined;
  /** @internal */ readonly _selector: BaseSelector<ReaderWriter>;

  constructor(selector?: BaseSelector, options: { backend?: BackendDescriptor } = {}) {
    super();
    if (selector === undefined) {
      const descriptor = options.backend ?? resolveBackend();
      if (descriptor.kind !== 'selector' || typeof descriptor.createSelector !== 'function') {
        throw new TypeError(`a SelectorEventLoop needs a selector backend, and ${String(descriptor.name)} is a ${String(descriptor.kind)} backend; use newEventLoop() or loopForBackend() for a loop of its kind`);
      }
      this.backend = descriptor;
      selector = descriptor.createSelector();
    } else {
      this.backend = options.backend;
    }
    offerBackendSys(this.backend);
    this._selector = selector as BaseSelector<ReaderWriter>;
    // A selector that can tell when the file behind a registration is gone
    // (closed without removeReader/removeWriter, its dup keeping epoll's
    // registration alive) drops it instead of letting it fire forever.
    if ('onDeadRegistration' in selector) selector.onDeadRegistration = (key) => this.#deadRegistration(key as SelectorKey<ReaderWriter>);
  }

  #deadRegistration(key: SelectorKey<ReaderWriter>): void {
    const { reader, writer, priority } = key.data;
    reader?.cancel();
    writer?.cancel();
    priority?.cancel();
    if (this.getDebug()) {
      logger.warning(
        `fd ${key.fd} was closed (or its number now names another file) while the loop was still watching it: ` +
          'its reader/writer were dropped; call removeReader()/removeWriter() before closing an fd',
      );
    }
  }

  /** The selector this loop polls. */
  get selector(): BaseSelector {
    return this._selector;
  }

  protected _pollBackend(): void {
    const selector = this._selector;
    if (selector.getMap().size === 0) return;
    const count = selector.selectInto(0);
    if (count === 0) return;
    const buffer = selector.readyBuffer;
    const map = selector.getMap();
    for (let i = 0; i < count; i++) {
      const fd = buffer[2 * i]!;
      const key = map.get(fd);
      if (key === undefined) continue;
      const events = buffer[2 * i + 1]! & key.events;
      const data = key.data;
      const reader = data.reader;
      if ((events & EVENT_READ) !== 0 && reader !== null) {
        if (reader._callback === null) this._removeCallback(fd, EVENT_READ);
        else this._addReady(reader);
      }
      const writer = data.writer;
      if ((events & EVENT_WRITE) !== 0 && writer !== null) {
        if (writer._callback === null) this._removeCallback(fd, EVENT_WRITE);
        else this._addReady(writer);
      }
      if ((events & EVENT_PRIORITY) !== 0) {
        const priority = data.priority;
        if (priority === null) continue;
        if (priority._callback === null) this._removeCallback(fd, EVENT_PRIORITY);
        else this._addReady(priority);
      }
    }
  }

  protected _startWatching(onReady: () => void): void {
    this._selector.watch(onReady);
  }

  protected _stopWatching(): void {
    this._selector.unwatch();
  }

  protected _closeBackend(): void {
    this._selector.close();
  }

  // --- Low-level socket operations (asyncio's sock_* coroutines) ---

  /** Receive up to `nbytes` from a non-blocking socket. Cancelling the future stops waiting. */
  sockRecv(sock: SocketLike, nbytes: number): Future<Buffer> {
    return sockets.sockRecv(this, sock, nbytes);
  }

  /** Receive into `buffer`; the future is the byte count (0 at EOF). */
  sockRecvInto(sock: SocketLike, buffer: Uint8Array): Future<number> {
    return sockets.sockRecvInto(this, sock, buffer);
  }

  /** Receive a datagram: `[data, address]`. */
  sockRecvfrom(sock: SocketLike, bufsize: number): Future<[Buffer, SocketAddress | null]> {
    return sockets.sockRecvfrom(this, sock, bufsize);
  }

  /** Receive a datagram into `buffer`: `[count, address]`. */
  sockRecvfromInto(sock: SocketLike, buffer: Uint8Array, nbytes = 0): Future<[number, SocketAddress | null]> {
    return sockets.sockRecvfromInto(this, sock, buffer, nbytes);
  }

  /** Send all of `data`, waiting for writability as needed. */
  sockSendall(sock: SocketLike, data: Uint8Array): Future<void> {
    return sockets.sockSendall(this, sock, data);
  }

  /** Send a datagram to `address`; the future is the count sent. */
  sockSendto(sock: SocketLike, data: Uint8Array, address: unknown): Future<number> {
    return sockets.sockSendto(this, sock, data, address);
  }

  /** Connect to `address` (a host name is resolved first with `getaddrinfo`). */
  sockConnect(sock: SocketLike, address: unknown): Future<void> {
    return sockets.sockConnect(this, sock, address);
  }

  /** Accept a connection: `[socket, address]`; the new socket is non-blocking. */
  sockAccept(sock: SocketLike): Future<[SocketLike, SocketAddress | null]> {
    return sockets.sockAccept(this, sock);
  }

  // --- Native sendfile (asyncio's `_sock_sendfile_native` with `os.sendfile`) ---

  /** @internal The sendfile steps waiting for their socket to be writable, by socket fd. */
  readonly _sendfileSteps = new Map<number, Future<number>>();

  /** @internal sendfile(2) from `@evloop/sys`, on POSIX; select() on Windows copies (Winsock has no sendfile here). */
  override _hasNativeSendfile(): boolean {
    if (process.platform === 'win32') return false;
    try {
      return typeof sysModule().sendfile === 'function';
    } catch {
      return false;
    }
  }

  /** @internal One sendfile(2), waiting for writability when the socket's buffer is full (see BaseEventLoop). */
  override _sendfileStep(sock: SocketLike, fd: number, offset: number, count: number): Future<number> | null {
    this._checkClosed();
    return sockets.sendfileStep(this, sock, fd, offset, count);
  }

  /**
   * @internal The transport of socket `fd` is closing under a sendfile:
   * the step waiting on it fails with ECANCELED (a ConnectionError to the
   * caller), as a proactor cancels its operation in flight.
   */
  _abortSendfileStep(fd: number): void {
    const step = this._sendfileSteps.get(fd);
    if (step !== undefined && !step.done()) step.setException(osErrorFromErrno(osConstants.errno.ECANCELED, 'sendfile'));
  }

  // --- The family's hooks (see BaseEventLoop) ---

  _makeSocketTransport(sock: SocketLike, protocol: BaseProtocol, waiter: Future<void> | null, extra: Record<string, unknown> | null, server: TransportOwner | null): SelectorSocketTransport {
    return new SelectorSocketTransport(this, sock, protocol, waiter, extra, server);
  }

  _makeDatagramTransport(sock: SocketLike, protocol: BaseProtocol, address: unknown, waiter: Future<void> | null, extra: Record<string, unknown> | null): DatagramTransport {
    return new SelectorDatagramTransport(this, sock, protocol, address, waiter, extra);
  }

  _makeReadPipeTransport(pipe: PipeLike, protocol: BaseProtocol, waiter: Future<void> | null, extra: Record<string, unknown> | null = null): ReadTransport {
    noPipesOnWindows('connectReadPipe');
    return new UnixReadPipeTransport(this, pipe, protocol, waiter, extra);
  }

  _makeWritePipeTransport(pipe: PipeLike, protocol: BaseProtocol, waiter: Future<void> | null, extra: Record<string, unknown> | null = null): WriteTransport {
    noPipesOnWindows('connectWritePipe');
    return new UnixWritePipeTransport(this, pipe, protocol, waiter, extra);
  }

  _makeSubprocessTransport(protocol: SubprocessProtocolContract, program: string, args: string[], options: SubprocessOptions): Future<SubprocessTransport> {
    noPipesOnWindows('subprocessExec/subprocessShell');
    return startSubprocessTransport(this, protocol, program, args, options);
  }

  _startServing(protocolFactory: () => object, sock: SocketLike, server: Server, backlog: number): void {
    this._addCallback(sock.fileno(), EVENT_READ, sockets.acceptConnection as (...args: unknown[]) => unknown, [this, protocolFactory, sock, server, backlog]);
  }

  _stopServing(sock: SocketLike): void {
    const fd = sock.fileno();
    if (fd >= 0) this._removeCallbackOf(fd, 'reader');
    sock.close();
  }

  /** @internal Remove the reader or writer of `fd`, if the loop is still open. */
  _removeCallbackOf(fd: number, kind: 'reader' | 'writer'): void {
    if (this._closed) return;
    this._removeCallback(fd, kind === 'reader' ? EVENT_READ : EVENT_WRITE);
  }

  /** @internal The reader (or writer) handle of `fd`, if any. */
  _callbackOf(fd: number, kind: 'reader' | 'writer'): Handle | null {
    const key = this._selector.getMap().get(fd);
    if (key === undefined) return null;
    return kind === 'reader' ? key.data.reader : key.data.writer;
  }

  /**
   * Call `callback(...args)` whenever `fd` is readable, until `removeReader`.
   * Replaces an earlier reader of the same fd. An fd the backend cannot watch
   * (a regular file on epoll) throws an `OSError` that says so.
   */
  addReader<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this._addCallback(fd, EVENT_READ, callback as (...args: unknown[]) => unknown, args);
  }

  /** Stop watching `fd` for reading; returns whether a reader was removed. */
  removeReader(fd: FileObject): boolean {
    if (this._closed) return false;
    return this._removeCallback(fileobjToFd(fd), EVENT_READ);
  }

  /**
   * Call `callback(...args)` whenever `fd` has priority data: TCP urgent
   * (out-of-band) data, read with `recv(n, MSG_OOB)`, or an exceptional
   * condition such as a GPIO edge (EPOLLPRI, POLLPRI, select's exceptfds),
   * until `removePriorityReader`. An error or hang-up on the fd wakes it too.
   * Independent of `addReader` on the same fd. Not in asyncio; a backend that
   * cannot watch for it (kqueue) throws `NotImplementedError`.
   */
  addPriorityReader<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    if (this._selector.supportsPriority !== true) {
      this._checkClosed();
      throw new NotImplementedError(`the ${this._selector.backendName} backend cannot watch for priority (out-of-band) data`);
    }
    this._addCallback(fd, EVENT_PRIORITY, callback as (...args: unknown[]) => unknown, args);
  }

  /** Stop watching `fd` for priority data; returns whether a priority reader was removed. */
  removePriorityReader(fd: FileObject): boolean {
    if (this._closed) return false;
    return this._removeCallback(fileobjToFd(fd), EVENT_PRIORITY);
  }

  addWriter<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this._addCallback(fd, EVENT_WRITE, callback as (...args: unknown[]) => unknown, args);
  }

  removeWriter(fd: FileObject): boolean {
    if (this._closed) return false;
    return this._removeCallback(fileobjToFd(fd), EVENT_WRITE);
  }

  /** @internal */
  _addCallback(fileobj: FileObject, event: number, callback: (...args: unknown[]) => unknown, args: unknown[]): void {
    this._checkClosed();
    if (typeof callback !== 'function') throw new TypeError(`callback must be a function, got ${typeof callback}`);
    const fd = fileobjToFd(fileobj);
    this.#install(fd, event, handleFor(callback, args, this));
  }

  /** @internal `_addCallback` with one argument, without an array for it (what transports install). */
  _addCallbackArg(fd: number, event: number, callback: (arg: any) => unknown, arg: unknown): void {
    this._checkClosed();
    this.#install(fd, event, new OneArgHandle(callback, arg, this));
  }

  #install(fd: number, event: number, handle: Handle): void {
    const selector = this._selector;
    const key = selector.getMap().get(fd);
    const slot = slotOf(event);
    try {
      if (key === undefined) {
        const fresh = new ReaderWriter();
        fresh[slot] = handle;
        selector.register(fd, event, fresh);
        return;
      }
      const data = key.data;
      const previous = data[slot];
      if ((key.events & event) !== 0) {
        // Same events: the fd may have been closed and its number reused
        // since; register it afresh so the new file is really watched.
        selector.unregister(fd);
        selector.register(fd, key.events, data);
      } else {
        selector.modify(fd, key.events | event, data);
      }
      data[slot] = handle;
      previous?.cancel();
    } catch (error) {
      throw explainRegisterError(error, fd, this._selector.backendName);
    }
  }

  /** @internal */
  _removeCallback(fd: number, event: number): boolean {
    const selector = this._selector;
    const key = selector.getMap().get(fd);
    if (key === undefined) return false;
    const slot = slotOf(event);
    const data = key.data;
    const handle = data[slot];
    const mask = key.events & ~event;
    if (mask === 0) selector.unregister(fd);
    else {
      selector.modify(fd, mask, data);
      data[slot] = null;
    }
    if (handle === null) return false;
    handle.cancel();
    return true;
  }
}

function explainRegisterError(error: unknown, fd: number, backendName: string): unknown {
  // EPERM: epoll on a regular file or directory; ENOTSOCK: select() on Windows, which waits on sockets only.
  if (OSError.isInstance(error) && (error.code === 'EPERM' || error.code === 'ENOTSOCK')) {
    const why = error.code === 'EPERM' ? 'regular files and directories are always ready; read them with node:fs instead' : 'it watches sockets only on Windows';
    const explained = new OSError(error.errno, error.syscall, `fd ${fd} cannot be watched by the ${backendName} backend (${error.code}): ${why}`, error.code);
    Object.setPrototypeOf(explained, Object.getPrototypeOf(error));
    return explained;
  }
  return error;
}

/**
 * select() on Windows waits on sockets only, so pipes and subprocesses are
 * not there, as in asyncio's Windows SelectorEventLoop (before this they
 * failed later with ENOTSOCK).
 */
function noPipesOnWindows(method: string): void {
  if (process.platform !== 'win32') return;
  throw new NotImplementedError(`SelectorEventLoop on Windows: ${method} is not supported (select() waits on sockets only); on Windows pipes and subprocesses need the IOCP proactor (a ProactorEventLoop: EVLOOP_BACKEND=iocp), as in asyncio`);
}
