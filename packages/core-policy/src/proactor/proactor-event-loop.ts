import { constants as osConstants } from 'node:os';
import fs from 'node:fs';
import {
  COMPLETION_MORE,
  COMPLETION_STRIDE,
  DEAD_REGISTRATION_CHECK_INTERVAL,
  EVENT_PRIORITY,
  EVENT_READ,
  EVENT_WRITE,
  NotImplementedError,
  OSError,
  RuntimeError,
  completionError,
  fileobjToFd,
  osErrorFromErrno,
  toOSError,
  type BackendDescriptor,
  type BaseProtocol,
  type DatagramTransport,
  type FileObject,
  type Proactor,
  type ReadTransport,
  type SubprocessProtocol as SubprocessProtocolContract,
  type SubprocessTransport,
  type WriteTransport,
} from '@evloop/interface';
import { BaseEventLoop } from '../base/base-event-loop.js';
import type { Server, TransportOwner } from '../base/server.js';
import type { SubprocessOptions } from '../base/subprocess-options.js';
import type { Future } from '../futures/future.js';
import { ArgsHandle, Handle, handleFor } from '../loop/handles.js';
import { resolveBackend } from '../loop/discovery.js';
import { logger } from '../loop/logger.js';
import { gaiError, numericAddress } from '../net/addresses.js';
import { openPipeEnd } from '../net/pipe-end.js';
import { offerBackendSys, sysModule, type PipeLike, type SocketAddress, type SocketLike } from '../net/socket-module.js';
import { startSubprocessTransport } from '../subprocess/subprocess-transport.js';
import {
  ProactorDatagramTransport,
  ProactorReadPipeTransport,
  ProactorSocketTransport,
  ProactorWritePipeTransport,
} from './proactor-transports.js';

/**
 * What a completion's callback gets: the target it was started for, the
 * result (or -errno), the value, its token, and the completion's flags
 * (`COMPLETION_MORE` while a multishot operation goes on).
 */
export type OperationCallback<T> = (target: T, result: number, value: unknown, token: number, flags: number) => void;

// The platform's numbers (ECANCELED is 105 on Windows, 125 on Linux).
const { ECANCELED, EBADF } = osConstants.errno;
/** Seconds to stop accepting after accept() failed for lack of fds or memory (asyncio's ACCEPT_RETRY_DELAY). */
const ACCEPT_RETRY_DELAY = 1;
const OUT_OF_RESOURCES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/** addReader/addWriter on one fd: the handles, and the readiness poll in flight for them. */
interface FdWatch {
  readonly fd: number;
  reader: Handle | null;
  writer: Handle | null;
  priority: Handle | null;
  token: number;
  events: number;
  /** The file the fd named at the last addReader/addWriter (device and inode). */
  device: number;
  inode: number;
  /** Reports since the file was last checked. */
  reports: number;
}

function slotOf(event: number): 'reader' | 'writer' | 'priority' {
  return event === EVENT_READ ? 'reader' : event === EVENT_WRITE ? 'writer' : 'priority';
}

/** A listening socket's accept loop. */
interface Serving {
  readonly protocolFactory: () => object;
  readonly sock: SocketLike;
  readonly server: Server;
  token: number;
  stopped: boolean;
}

/**
 * asyncio's `ProactorEventLoop`: the loop on a completion backend (io_uring,
 * IOCP). Reads and writes are operations handed to the proactor; their
 * completions come back in bulk from one `poll(0)` per iteration and queue
 * the callbacks they complete, so `_runOnce` is the same as the selector
 * loop's. Where asyncio's proactor loop stops short, this one does not: UDP
 * works, and so do `addReader`/`addWriter` (through the proactor's
 * readiness polls).
 */
export class ProactorEventLoop extends BaseEventLoop {
  readonly backend: BackendDescriptor | undefined;
  /** @internal */ readonly _proactor: Proactor;
  /** Operations in flight, by token: the handle their completion queues. */
  readonly #operations = new Map<number, Handle>();
  readonly #watches = new Map<number, FdWatch>();
  /** Readiness polls in flight, by token. */
  readonly #watchTokens = new Map<number, FdWatch>();
  readonly #serving = new Map<SocketLike, Serving>();
  /** Counts polls that returned completions (wraps; never 0, the stamp of a handle no poll queued). */
  #pollStamp = 0;
  /** Handles their operations keep (multishot) that the last poll gave a value: see `#dropValues`. */
  readonly #valued: Array<Handle | undefined> = [];
  #valuedCount = 0;

  constructor(proactor?: Proactor, options: { backend?: BackendDescriptor } = {}) {
    super();
    if (proactor === undefined) {
      const descriptor = options.backend ?? resolveBackend();
      if (descriptor.kind !== 'proactor' || typeof descriptor.createProactor !== 'function') {
        throw new TypeError(`ProactorEventLoop needs a proactor backend (EVLOOP_BACKEND=uring), and ${String(descriptor.name)} is a ${descriptor.kind} backend: use SelectorEventLoop for it`);
      }
      this.backend = descriptor;
      proactor = descriptor.createProactor();
    } else {
      if (proactor === null || typeof proactor !== 'object' || typeof proactor.poll !== 'function') {
        throw new TypeError(`proactor must be a Proactor (from a proactor backend), got ${proactor === null ? 'null' : typeof proactor}`);
      }
      this.backend = options.backend;
    }
    offerBackendSys(this.backend);
    this._proactor = proactor;
  }

  /** The proactor this loop runs on. */
  get proactor(): Proactor {
    return this._proactor;
  }

  /**
   * @internal Track operation `token`: when it completes, `callback(target,
   * result, value, token)` runs as a ready handle of that iteration.
   */
  _operate<T>(token: number, callback: OperationCallback<T>, target: T): number {
    // The sixth argument is the poll that last queued the handle (see _pollBackend); callbacks ignore it.
    this.#operations.set(token, new ArgsHandle(callback, [target, 0, undefined, token, 0, 0], this));
    return token;
  }

  protected _pollBackend(): void {
    if (this.#valuedCount > 0) this.#dropValues();
    const proactor = this._proactor;
    if (proactor.pending === 0) return;
    const count = proactor.poll(0);
    if (count === 0) return;
    // Every handle a poll queues has run before the next poll (_runOnce runs
    // all that were ready when it polled), so an operation's own handle can
    // carry each of its completions, one per poll: only a second completion
    // of a multishot operation in the same poll needs a handle of its own.
    const stamp = (this.#pollStamp = this.#pollStamp === 0x3fffffff ? 1 : this.#pollStamp + 1);
    const completions = proactor.completions;
    const operations = this.#operations;
    const watching = this.#watchTokens;
    for (let i = 0; i < count; i++) {
      const base = i * COMPLETION_STRIDE;
      const token = completions[base]!;
      const handle = operations.get(token);
      if (handle === undefined) {
        // A readiness poll of addReader/addWriter queues the user's handles
        // right here, as a selector's ready event does, so they run in this
        // iteration, before the poll started again is submitted.
        const watch = watching.get(token);
        if (watch !== undefined) {
          watching.delete(token);
          this.#fdReady(watch, completions[base + 1]!, token);
        }
        continue;
      }
      if (handle._callback === null) {
        operations.delete(token);
        continue;
      }
      const result = completions[base + 1]!;
      const flags = completions[base + 2]!;
      const value = result >= 0 ? proactor.completionValue(i) : undefined;
      const args = handle._args!;
      if ((flags & COMPLETION_MORE) === 0) operations.delete(token);
      if (args[5] === stamp) {
        // A multishot operation's second completion in this poll: its handle is taken.
        this._addReady(new ArgsHandle(handle._callback!, [args[0], result, value, token, flags, stamp], this));
        continue;
      }
      args[1] = result;
      args[2] = value;
      args[4] = flags;
      args[5] = stamp;
      if (value !== undefined && (flags & COMPLETION_MORE) !== 0) this.#valued[this.#valuedCount++] = handle;
      this._addReady(handle);
    }
  }

  /**
   * The values the last poll gave to handles their operations keep (a
   * multishot receive's view of a read slab) were delivered when those
   * handles ran, before this poll: drop them. Otherwise each idle
   * connection's handle keeps its last view, and with it a whole read slab,
   * alive until its next completion.
   */
  #dropValues(): void {
    const valued = this.#valued;
    for (let i = 0; i < this.#valuedCount; i++) {
      // A handle cancelled since (its transport closed) has no arguments left.
      const args = valued[i]!._args;
      if (args != null) args[2] = undefined;
      valued[i] = undefined;
    }
    this.#valuedCount = 0;
  }

  protected _startWatching(onReady: () => void): void {
    this._proactor.watch(onReady);
  }

  protected _stopWatching(): void {
    this._proactor.unwatch();
  }

  protected _closeBackend(): void {
    this.#operations.clear();
    this.#watches.clear();
    this.#watchTokens.clear();
    this._proactor.close();
  }

  // --- fd watching, through the proactor's readiness polls ---

  /**
   * Call `callback(...args)` whenever `fd` is readable, until `removeReader`
   * (level-triggered, as on a selector loop: the proactor's one-shot
   * readiness poll is started again after each report).
   */
  addReader<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this.#checkReadiness('addReader');
    this._addCallback(fd, EVENT_READ, callback as (...args: unknown[]) => unknown, args);
  }

  removeReader(fd: FileObject): boolean {
    if (this._closed) return false;
    this.#checkReadiness('removeReader');
    return this._removeCallback(fileobjToFd(fd), EVENT_READ);
  }

  /**
   * Call `callback(...args)` whenever `fd` has priority (out-of-band) data
   * (POLLPRI through the proactor's readiness poll), until
   * `removePriorityReader`; an error or hang-up wakes it too.
   */
  addPriorityReader<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this.#checkReadiness('addPriorityReader');
    this._addCallback(fd, EVENT_PRIORITY, callback as (...args: unknown[]) => unknown, args);
  }

  removePriorityReader(fd: FileObject): boolean {
    if (this._closed) return false;
    this.#checkReadiness('removePriorityReader');
    return this._removeCallback(fileobjToFd(fd), EVENT_PRIORITY);
  }

  addWriter<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this.#checkReadiness('addWriter');
    this._addCallback(fd, EVENT_WRITE, callback as (...args: unknown[]) => unknown, args);
  }

  removeWriter(fd: FileObject): boolean {
    if (this._closed) return false;
    this.#checkReadiness('removeWriter');
    return this._removeCallback(fileobjToFd(fd), EVENT_WRITE);
  }

  /** A proactor without readiness polls (`features.readiness === false`) cannot watch fds: asyncio's ProactorEventLoop raises too. */
  #checkReadiness(method: string): void {
    if (this._proactor.features.readiness !== false) return;
    const name = this._proactor.backendName;
    throw new NotImplementedError(
      `ProactorEventLoop on ${name}: ${method} needs readiness polls, which the ${name} proactor does not have; use the sock* methods or transports, or a SelectorEventLoop (EVLOOP_BACKEND=select) to watch fds`,
    );
  }

  /** @internal */
  _addCallback(fileobj: FileObject, event: number, callback: (...args: unknown[]) => unknown, args: unknown[]): void {
    this._checkClosed();
    if (typeof callback !== 'function') throw new TypeError(`callback must be a function, got ${typeof callback}`);
    const fd = fileobjToFd(fileobj);
    // Which file the fd names now (a closed fd is an OSError here, as a
    // selector's register raises it): a readiness report is later checked
    // against it, so a registration whose fd was closed and reused is found.
    let stat: Pick<fs.Stats, 'dev' | 'ino'>;
    try {
      stat = fileIdentity(fd);
    } catch (error) {
      throw toOSError(error);
    }
    const handle = handleFor(callback, args, this);
    let watch = this.#watches.get(fd);
    if (watch === undefined) {
      watch = { fd, reader: null, writer: null, priority: null, token: 0, events: 0, device: stat.dev, inode: stat.ino, reports: 0 };
      this.#watches.set(fd, watch);
    } else {
      watch.device = stat.dev;
      watch.inode = stat.ino;
      watch.reports = 0;
    }
    const slot = slotOf(event);
    const previous = watch[slot];
    watch[slot] = handle;
    try {
      // Always a fresh poll: the fd may have been closed and its number reused.
      this.#rearm(watch, true);
    } catch (error) {
      // The proactor refused it (EVENT_PRIORITY on io_uring): watch what was watched before.
      watch[slot] = previous;
      this.#rearm(watch, true);
      throw error;
    }
    previous?.cancel();
  }

  /** @internal */
  _removeCallback(fd: number, event: number): boolean {
    const watch = this.#watches.get(fd);
    if (watch === undefined) return false;
    const slot = slotOf(event);
    const handle = watch[slot];
    if (handle === null) return false;
    handle.cancel();
    watch[slot] = null;
    this.#rearm(watch, false);
    return true;
  }

  #rearm(watch: FdWatch, fresh: boolean): void {
    const wanted = (watch.reader !== null ? EVENT_READ : 0) | (watch.writer !== null ? EVENT_WRITE : 0) | (watch.priority !== null ? EVENT_PRIORITY : 0);
    if (watch.token !== 0 && watch.events === wanted && !fresh) return;
    const proactor = this._proactor;
    if (watch.token !== 0) {
      // Its completion (ECANCELED, or a late report) is dropped.
      this.#watchTokens.delete(watch.token);
      proactor.cancel(watch.token);
      watch.token = 0;
    }
    watch.events = wanted;
    if (wanted === 0) {
      this.#watches.delete(watch.fd);
      return;
    }
    watch.token = proactor.pollAdd(watch.fd, wanted);
    this.#watchTokens.set(watch.token, watch);
  }

  /** A readiness poll completed: queue the handles it wakes and poll again for the next report. */
  #fdReady(watch: FdWatch, result: number, token: number): void {
    if (watch.token !== token) return;
    watch.token = 0;
    if (this.#watches.get(watch.fd) !== watch) return;
    if (result < 0) {
      // EBADF: the fd was closed while watched (the poll started again after
      // the last report found no file), so the registration is dead. Any
      // other error: the fd cannot be polled, and it never becomes ready, as
      // a closed fd never fires on the poll and select backends.
      if (result === -EBADF) this.#dropDeadWatch(watch);
      return;
    }
    // io_uring polls a file, not a number: the poll started again after a
    // report finds whatever file the number names by then. Every so many
    // reports (as the selector family checks), make sure it is still the
    // file that was registered.
    if (++watch.reports >= DEAD_REGISTRATION_CHECK_INTERVAL) {
      watch.reports = 0;
      if (!sameFile(watch)) {
        this.#dropDeadWatch(watch);
        return;
      }
    }
    if ((result & EVENT_READ) !== 0 && watch.reader !== null) this._addReady(watch.reader);
    if ((result & EVENT_WRITE) !== 0 && watch.writer !== null) this._addReady(watch.writer);
    if ((result & EVENT_PRIORITY) !== 0 && watch.priority !== null) this._addReady(watch.priority);
    this.#rearm(watch, true);
  }

  /**
   * The fd behind `watch` was closed (or its number now names another file)
   * without removeReader/removeWriter: drop the registration, cancel its
   * handles, and say so in debug mode, as the selector loop does.
   */
  #dropDeadWatch(watch: FdWatch): void {
    if (this.#watches.get(watch.fd) === watch) this.#watches.delete(watch.fd);
    if (watch.token !== 0) {
      this.#watchTokens.delete(watch.token);
      this._proactor.cancel(watch.token);
      watch.token = 0;
    }
    watch.reader?.cancel();
    watch.writer?.cancel();
    watch.priority?.cancel();
    watch.reader = null;
    watch.writer = null;
    watch.priority = null;
    watch.events = 0;
    if (this.getDebug()) {
      logger.warning(
        `fd ${watch.fd} was closed (or its number now names another file) while the loop was still watching it: ` +
          'its reader/writer were dropped; call removeReader()/removeWriter() before closing an fd',
      );
    }
  }

  // --- Low-level socket operations (asyncio's sock_* coroutines) ---

  sockRecv(sock: SocketLike, nbytes: number): Future<Buffer> {
    return this.#sockOperation(sock, 'recv', 'recv', () => this._proactor.recv(sock, nbytes), (_result, value) => value as Buffer);
  }

  sockRecvInto(sock: SocketLike, buffer: Uint8Array): Future<number> {
    return this.#sockOperation(sock, 'recv', 'recvInto', () => this._proactor.recvInto(sock, buffer), (result) => result);
  }

  sockRecvfrom(sock: SocketLike, bufsize: number): Future<[Buffer, SocketAddress | null]> {
    return this.#sockOperation(sock, 'recvfrom', 'recvfrom', () => this._proactor.recvfrom(sock, bufsize), (_result, value) => value as [Buffer, SocketAddress | null]);
  }

  sockRecvfromInto(sock: SocketLike, buffer: Uint8Array, nbytes = 0): Future<[number, SocketAddress | null]> {
    return this.#sockOperation(sock, 'recvfrom', 'recvfromInto', () => this._proactor.recvfromInto(sock, buffer, nbytes), (_result, value) => value as [number, SocketAddress | null]);
  }

  sockSendto(sock: SocketLike, data: Uint8Array, address: unknown): Future<number> {
    return this.#sockOperation(sock, 'sendto', 'sendto', () => this._proactor.sendto(sock, data, address as SocketAddress), (result) => result);
  }

  sockAccept(sock: SocketLike): Future<[SocketLike, SocketAddress | null]> {
    return this.#sockOperation(sock, 'accept', 'accept', () => this._proactor.accept(sock), (_result, value) => {
      const [fd, address] = value as [number, SocketAddress | null];
      return [wrapSocket(fd), address];
    });
  }

  /** Send all of `data`: one send after another until the kernel has taken it all. */
  sockSendall(sock: SocketLike, data: Uint8Array): Future<void> {
    this._checkClosed();
    const future = this.createFuture<void>();
    try {
      this.#checkSocket(sock, 'send');
      if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    } catch (error) {
      future.setException(error);
      return future;
    }
    if (data.length === 0) {
      future.setResult(undefined);
      return future;
    }
    const state = { loop: this, sock, data, sent: 0, future, token: 0 };
    const step = (): void => {
      try {
        state.token = this._operate(this._proactor.send(sock, data.subarray(state.sent)), sendallDone, state);
      } catch (error) {
        if (!future.done()) future.setException(toOSError(error));
      }
    };
    (state as { step?: () => void }).step = step;
    step();
    future.addDoneCallback(() => {
      if (future.cancelled() && !this._closed && state.token !== 0) this._proactor.cancel(state.token);
    });
    return future;
  }

  /** Connect to `address` (a host name is resolved first with `getaddrinfo`). */
  sockConnect(sock: SocketLike, address: unknown): Future<void> {
    this._checkClosed();
    try {
      this.#checkSocket(sock, 'connect');
    } catch (error) {
      const future = this.createFuture<void>();
      future.setException(error);
      return future;
    }
    if (!numericAddress(sock.family, address)) {
      const [host, port] = address as [string, number];
      const loop = this;
      return this.createTask(async () => {
        const infos = await loop.getaddrinfo(host, port, { family: sock.family, type: sock.type, proto: sock.proto });
        if (infos.length === 0) throw gaiError('EAI_NONAME', `${host}: no address`);
        await loop.#connect(sock, infos[0]![4]);
      });
    }
    return this.#connect(sock, address);
  }

  #connect(sock: SocketLike, address: unknown): Future<void> {
    return this.#sockOperation(
      sock,
      'connect',
      'connect',
      () => this._proactor.connect(sock, address as SocketAddress),
      () => undefined,
      (result) => {
        const error = osErrorFromErrno(-result, 'connect');
        return osErrorFromErrno(-result, 'connect', `Connect call failed ${JSON.stringify(address)}: ${error.message}`);
      },
    );
  }

  /** The selector loop's checks, with its messages: an object of the socket's shape (with the method the operation stands for), non-blocking, owned by no transport. */
  #checkSocket(sock: SocketLike, method: keyof SocketLike): void {
    if (sock === null || typeof sock !== 'object') {
      throw new TypeError(`sock must be a Socket (from @evloop/sys), got ${sock === null ? 'null' : typeof sock}`);
    }
    for (const name of ['fileno', 'getBlocking', method] as const) {
      if (typeof (sock as unknown as Record<string, unknown>)[name] !== 'function') {
        throw new TypeError(`sock must be a Socket (from @evloop/sys): the object given has no ${name}() method`);
      }
    }
    if (sock.getBlocking()) throw new RangeError('the socket must be non-blocking');
    const fd = sock.fileno();
    const transport = this._transportOf(fd);
    if (transport !== undefined && !transport.isClosing()) {
      throw new RuntimeError(`File descriptor ${fd} is used by transport ${transport.toString()}`);
    }
  }

  /** One operation as a future: cancelling the future cancels the operation (its buffer stays with the proactor until it completes). */
  #sockOperation<T>(sock: SocketLike, syscall: string, method: keyof SocketLike, start: () => number, convert: (result: number, value: unknown) => T, fail?: (result: number) => unknown): Future<T> {
    this._checkClosed();
    const future = this.createFuture<T>();
    let token: number;
    try {
      this.#checkSocket(sock, method);
      token = start();
    } catch (error) {
      future.setException(toOSError(error));
      return future;
    }
    this._operate(token, settleOperation as OperationCallback<SockOperation<T>>, { future, syscall, convert, fail });
    future.addDoneCallback(() => {
      if (future.cancelled() && !this._closed) this._proactor.cancel(token);
    });
    return future;
  }

  /** @internal The proactor sends files itself (IOCP: TransmitFile; io_uring: sendfile(2), with a ring poll while the socket is full). */
  override _hasNativeSendfile(): boolean {
    return this._proactor.features.sendfile !== false;
  }

  /**
   * @internal One `proactor.sendfile` as a future (see BaseEventLoop):
   * null when the proactor says it cannot (NotImplementedError), so the
   * caller falls back or raises SendfileNotAvailableError. The socket is not
   * checked for a transport: a transport's own sendfile sends through it.
   */
  override _sendfileStep(sock: SocketLike, fd: number, offset: number, count: number): Future<number> | null {
    this._checkClosed();
    let token: number;
    try {
      token = this._proactor.sendfile(sock, fd, offset, count);
    } catch (error) {
      if (NotImplementedError.isInstance(error)) return null;
      throw toOSError(error);
    }
    const future = this.createFuture<number>();
    this._operate(token, settleOperation as OperationCallback<SockOperation<number>>, { future, syscall: 'sendfile', convert: (result: number) => result });
    future.addDoneCallback(() => {
      // The proactor keeps the operation's buffer until its completion arrives.
      if (future.cancelled() && !this._closed) this._proactor.cancel(token);
    });
    return future;
  }

  // --- The family's hooks (see BaseEventLoop) ---

  _makeSocketTransport(sock: SocketLike, protocol: BaseProtocol, waiter: Future<void> | null, extra: Record<string, unknown> | null, server: TransportOwner | null): ProactorSocketTransport {
    return new ProactorSocketTransport(this, sock, protocol, waiter, extra, server);
  }

  _makeDatagramTransport(sock: SocketLike, protocol: BaseProtocol, address: unknown, waiter: Future<void> | null, extra: Record<string, unknown> | null): DatagramTransport {
    return new ProactorDatagramTransport(this, sock, protocol, address, waiter, extra);
  }

  _makeReadPipeTransport(pipe: PipeLike, protocol: BaseProtocol, waiter: Future<void> | null, extra: Record<string, unknown> | null = null): ReadTransport {
    this.#checkPipes('connectReadPipe');
    return new ProactorReadPipeTransport(this, openPipeEnd(pipe), protocol, waiter, { pipe, ...extra });
  }

  _makeWritePipeTransport(pipe: PipeLike, protocol: BaseProtocol, waiter: Future<void> | null, extra: Record<string, unknown> | null = null): WriteTransport {
    this.#checkPipes('connectWritePipe');
    return new ProactorWritePipeTransport(this, openPipeEnd(pipe), protocol, waiter, { pipe, ...extra });
  }

  _makeSubprocessTransport(protocol: SubprocessProtocolContract, program: string, args: string[], options: SubprocessOptions): Future<SubprocessTransport> {
    this.#checkPipes('subprocessExec/subprocessShell');
    return startSubprocessTransport(this, protocol, program, args, options);
  }

  /** A proactor without pipe reads and writes (`features.pipes === false`) has no pipe transports or subprocesses. */
  #checkPipes(method: string): void {
    if (this._proactor.features.pipes !== false) return;
    const name = this._proactor.backendName;
    throw new NotImplementedError(`ProactorEventLoop on ${name}: ${method} needs pipe reads and writes, which the ${name} proactor does not have yet`);
  }

  /** Accept connections on `sock`, one accept in flight, each with a transport of its own. */
  _startServing(protocolFactory: () => object, sock: SocketLike, server: Server, _backlog: number): void {
    if (this.#serving.has(sock)) return;
    const serving: Serving = { protocolFactory, sock, server, token: 0, stopped: false };
    this.#serving.set(sock, serving);
    this.#accept(serving);
  }

  #accept(serving: Serving): void {
    if (serving.stopped || this._closed) return;
    const proactor = this._proactor;
    try {
      // One multishot accept for every connection where the proactor has it.
      const token = proactor.acceptMany !== undefined ? proactor.acceptMany(serving.sock) : proactor.accept(serving.sock);
      serving.token = this._operate(token, acceptDone, [this, serving] as const);
    } catch (error) {
      serving.token = 0;
      this.callExceptionHandler({ message: 'Accept failed on a socket', exception: error, socket: serving.sock });
    }
  }

  /** @internal */
  _acceptDone(serving: Serving, result: number, value: unknown, token: number, flags: number): void {
    // A multishot accept goes on after this completion; anything else ends here.
    const goesOn = (flags & COMPLETION_MORE) !== 0;
    if (!goesOn && serving.token === token) serving.token = 0;
    if (serving.stopped) {
      if (result >= 0) closeFd(result);
      return;
    }
    if (result < 0) {
      if (result === -ECANCELED) return;
      const error = completionError(result, 'accept');
      if (error.code === 'ECONNABORTED' || error.code === 'EAGAIN' || error.code === 'EINTR') {
        if (!goesOn) this.#accept(serving);
        return;
      }
      if (OUT_OF_RESOURCES.has(error.code)) {
        this.callExceptionHandler({ message: 'socket.accept() out of system resource', exception: error, socket: serving.sock });
      } else {
        this.callExceptionHandler({ message: 'Accept failed on a socket', exception: error, socket: serving.sock });
      }
      if (goesOn) {
        this._proactor.cancel(token);
        serving.token = 0;
      }
      this.callLater(ACCEPT_RETRY_DELAY, resumeAccepting, this, serving);
      return;
    }
    const [fd, address] = value as [number, SocketAddress | null];
    if (!goesOn) this.#accept(serving);
    const conn = wrapSocket(fd);
    let protocol: object;
    try {
      protocol = serving.protocolFactory();
    } catch (error) {
      conn.close();
      this.callExceptionHandler({ message: 'Error on transport creation for incoming connection', exception: error, socket: serving.sock });
      return;
    }
    this._makeSocketTransport(conn, protocol as BaseProtocol, null, address === null ? null : { peername: address }, serving.server);
  }

  /** @internal */
  _resumeAccepting(serving: Serving): void {
    if (serving.stopped || this._closed || serving.token !== 0) return;
    this.#accept(serving);
  }

  /**
   * Stop accepting on `sock` and close it: the accept in flight is
   * cancelled and the socket shut down first, since io_uring holds the file
   * (and so the port) while an operation on it is in flight.
   */
  _stopServing(sock: SocketLike): void {
    const serving = this.#serving.get(sock);
    this.#serving.delete(sock);
    if (serving !== undefined) serving.stopped = true;
    const fd = sock.fileno();
    if (fd >= 0) {
      if (!this._closed) {
        try {
          this._proactor.cancelFd(fd);
        } catch {
          // a closed proactor has already let go of everything
        }
      }
      try {
        sock.shutdown(2);
      } catch {
        // not every socket can be shut down; closing is what matters
      }
    }
    sock.close();
  }
}

/** Whether the fd of `watch` still names the file it named when it was registered. */
/**
 * Which file `fd` names, to find a registration whose fd was closed and its
 * number reused. On Windows the loop's fds are SOCKET handles, which
 * `fs.fstatSync` (CRT fds) does not know: there the proactor's poll itself
 * says when the socket is closed (EBADF), so every fd is the same "file".
 */
function fileIdentity(fd: number): Pick<fs.Stats, 'dev' | 'ino'> {
  if (process.platform === 'win32') return { dev: 0, ino: 0 };
  try {
    return fs.fstatSync(fd);
  } catch (error) {
    // Deno's fstat knows only the fds Deno opened itself (one made by
    // @evloop/sys is EBADF there): ask Linux's /proc instead; a closed fd
    // fails there too.
    const identity = identityThroughProc(fd);
    if (identity === undefined) throw error;
    return identity;
  }
}

/**
 * Which file `fd` names, from /proc/self/fd: a socket's or pipe's inode
 * number (device -1), a path's stat, or, for what has neither (an
 * anonymous inode), one shared identity (device -1, inode 0), so that only
 * the poll's EBADF finds it closed. Undefined when /proc does not know the fd.
 */
function identityThroughProc(fd: number): Pick<fs.Stats, 'dev' | 'ino'> | undefined {
  let target: string;
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
  const inode = /^[a-z_]+:\[(\d+)\]$/.exec(target);
  if (inode !== null) return { dev: -1, ino: Number(inode[1]) };
  if (target.startsWith('/')) {
    try {
      const stat = fs.statSync(target);
      return { dev: stat.dev, ino: stat.ino };
    } catch {
      // Deleted or renamed since it was opened: no path to stat.
    }
  }
  return { dev: -1, ino: 0 };
}

function sameFile(watch: FdWatch): boolean {
  try {
    const stat = fileIdentity(watch.fd);
    return stat.dev === watch.device && stat.ino === watch.inode;
  } catch {
    return false;
  }
}

interface SockOperation<T> {
  future: Future<T>;
  syscall: string;
  convert: (result: number, value: unknown) => T;
  fail?: (result: number) => unknown;
}

function settleOperation<T>(operation: SockOperation<T>, result: number, value: unknown): void {
  const future = operation.future;
  if (future.done()) {
    // Cancelled meanwhile: an accepted socket nobody will see is closed.
    if (operation.syscall === 'accept' && result >= 0) closeFd((value as [number])[0]);
    return;
  }
  if (result < 0) {
    future.setException(operation.fail !== undefined ? operation.fail(result) : completionError(result, operation.syscall));
    return;
  }
  let converted: T;
  try {
    converted = operation.convert(result, value);
  } catch (error) {
    future.setException(error);
    return;
  }
  future.setResult(converted);
}

interface SendallState {
  loop: ProactorEventLoop;
  sock: SocketLike;
  data: Uint8Array;
  sent: number;
  future: Future<void>;
  token: number;
  step?: () => void;
}

function sendallDone(state: SendallState, result: number): void {
  state.token = 0;
  const future = state.future;
  if (future.done()) return;
  if (result < 0) {
    future.setException(completionError(result, 'send'));
    return;
  }
  state.sent += result;
  if (state.sent >= state.data.length) future.setResult(undefined);
  else state.step!();
}

function acceptDone([loop, serving]: readonly [ProactorEventLoop, Serving], result: number, value: unknown, token: number, flags: number): void {
  loop._acceptDone(serving, result, value, token, flags);
}

function resumeAccepting(loop: ProactorEventLoop, serving: Serving): void {
  loop._resumeAccepting(serving);
}

function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/** An accepted fd as a `@evloop/sys` socket (non-blocking and close-on-exec already). */
function wrapSocket(fd: number): SocketLike {
  const Socket = sysModule().Socket as unknown as new (options: { fileno: number }) => SocketLike;
  return new Socket({ fileno: fd });
}

export { OSError };
