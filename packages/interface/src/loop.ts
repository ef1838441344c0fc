import type { DatagramTransport, ReadTransport, SubprocessTransport, Transport, WriteTransport, BaseTransport } from './transports.js';
import type { BaseProtocol, SubprocessProtocol } from './protocols.js';
import type { AbstractServer } from './server.js';
import type { BackendDescriptor } from './backend.js';

/** A scheduled callback (asyncio's `Handle`). `cancel()` guarantees it never runs. */
export interface HandleLike {
  cancel(): void;
  cancelled(): boolean;
}

/** A callback scheduled for a time (asyncio's `TimerHandle`). `when()` is in `loop.time()` seconds. */
export interface TimerHandleLike extends HandleLike {
  when(): number;
}

/**
 * A future (asyncio's `Future`): thenable (`await fut`), a complete
 * Promise-like (`then`/`catch`/`finally`), and iterable (`yield* fut` inside
 * a generator coroutine). Done callbacks are scheduled with `callSoon`,
 * never called synchronously.
 */
export interface FutureLike<T = unknown> extends PromiseLike<T> {
  done(): boolean;
  cancelled(): boolean;
  /** The result; throws the exception, `CancelledError`, or `InvalidStateError` if not done. */
  result(): T;
  /** The exception (null when it has a result); throws `CancelledError` or `InvalidStateError` if not done. */
  exception(): unknown;
  /** Mark it done with `result`; `InvalidStateError` if it is done already (a task's result is its coroutine's). */
  setResult(result: T): void;
  /** Mark it done with `exception`; `InvalidStateError` if it is done already. */
  setException(exception: unknown): void;
  cancel(message?: unknown): boolean;
  addDoneCallback(callback: (future: FutureLike<T>) => void): void;
  removeDoneCallback(callback: (future: FutureLike<T>) => void): number;
  getLoop(): AbstractEventLoop;
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2>;
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R>;
  finally(onFinally?: (() => void) | null): Promise<T>;
  [Symbol.iterator](): Generator<unknown, T, unknown>;
}

/** A task (asyncio's `Task`): a future that runs a coroutine. */
export interface TaskLike<T = unknown> extends FutureLike<T> {
  getName(): string;
  setName(name: string): void;
  /** The coroutine (generator, Promise or function) the task runs; null once it is done. */
  getCoro(): Generator<unknown, T, unknown> | PromiseLike<unknown> | (() => unknown) | null;
  /** How many cancellation requests are pending (asyncio 3.11). */
  cancelling(): number;
  /** Take one cancellation request back; returns the count left. */
  uncancel(): number;
}

/**
 * Anything evloop hands out that can be awaited: a future, a task, or a
 * coroutine object (`sleep()`, `waitFor()`, ...). All of them are complete
 * Promise-likes (`then`/`catch`/`finally`) and can be `yield*`ed.
 */
export interface AwaitableLike<T = unknown> extends PromiseLike<T> {
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R>;
  finally(onFinally?: (() => void) | null): Promise<T>;
  [Symbol.iterator](): Generator<unknown, T, unknown>;
}

/** A generator coroutine: a generator that yields futures (usually through `yield* fut`). */
export type GeneratorCoroutine<T = unknown> = Generator<unknown, T, unknown>;

/**
 * Anything evloop accepts where asyncio accepts an awaitable: a future, a
 * generator coroutine, a Promise (or thenable), or, for tasks, a function
 * returning one of those (called inside the task, so `currentTask()` and
 * cancellation work in async functions from their first line).
 */
export type Awaitable<T = unknown> = FutureLike<T> | GeneratorCoroutine<T> | PromiseLike<T>;
/**
 * The file `sendfile`/`sockSendfile` read: an fd, an object with `fileno()`,
 * or a `fs.promises.FileHandle` (its `fd`). An object that also has
 * `seek(position)` is left positioned after the bytes sent, as asyncio seeks
 * its file; an fd or FileHandle is read at explicit positions (Node has no
 * lseek), so its own file position does not move.
 */
export type SendfileSource = number | { fileno(): number } | { readonly fd: number };
export type CoroutineSource<T = unknown> = Awaitable<T> | (() => Awaitable<T> | T);

/** The context object given to exception handlers (asyncio's keys, camelCased). */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  future?: FutureLike<unknown>;
  task?: FutureLike<unknown>;
  handle?: HandleLike;
  protocol?: BaseProtocol;
  transport?: BaseTransport;
  socket?: unknown;
  asyncgen?: unknown;
  sourceTraceback?: string;
  handleTraceback?: string;
  [key: string]: unknown;
}

export type ExceptionHandler = (loop: AbstractEventLoop, context: ExceptionContext) => void;

/**
 * A function to run in an executor: a self-contained function, or a module
 * export named by module specifier (a file URL or package name) and export
 * name (default: the default export).
 */
export type ExecutorFunction<A extends unknown[] = unknown[], R = unknown> =
  | ((...args: A) => R | PromiseLike<R>)
  | { module: string; export?: string };

/**
 * Something that runs functions elsewhere (asyncio's
 * `concurrent.futures.Executor`). `submit` may take an `AbortSignal` as
 * `options.signal` to stop a job whose future was cancelled.
 */
export interface Executor {
  submit<A extends unknown[], R>(fn: ExecutorFunction<A, R>, args: A, options?: { signal?: AbortSignal }): PromiseLike<R>;
  /** Stop taking jobs; with `wait`, resolve when running jobs are done. `cancelFutures` drops queued jobs. */
  shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): void | PromiseLike<void>;
}

/** An IPv4 socket address: `[host, port]`. */
export type IPv4Address = [host: string, port: number];
/** An IPv6 socket address: `[host, port, flowinfo, scopeId]`. */
export type IPv6Address = [host: string, port: number, flowinfo: number, scopeId: number];
/** An internet socket address (AF_INET or AF_INET6): `const [host, port] = address` works for both. */
export type InetAddress = IPv4Address | IPv6Address;
/** A Unix socket address: a path (or a Linux abstract name starting with `'\\0'`). */
export type UnixAddress = string;
/** Any socket address evloop hands out, as Python spells them. */
export type Address = InetAddress | UnixAddress;

/** One result of `getaddrinfo`, as Python's tuple: `[family, type, proto, canonname, sockaddr]`. */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, sockaddr: Address];

/**
 * What a server is listening on and what it accepted: `AbstractServer<A>`
 * has sockets whose `getsockname()` is an `A`.
 */
export interface ServerSocket<A extends Address | null = Address | null> {
  readonly family: number;
  readonly type: number;
  readonly proto: number;
  fileno(): number;
  getsockname(): A;
}

/**
 * asyncio's `AbstractEventLoop`, camelCased: every method of asyncio's
 * `BaseEventLoop` and its Unix selector loop (scheduling, futures and tasks,
 * fd watching, networking, pipes, subprocesses, signals, executors, error
 * handling). Coroutine methods return futures. Options objects are checked
 * at run time; `@evloop/core-policy`'s loop classes type each one.
 *
 * Rules every loop implements:
 * - Callbacks run in FIFO order, exactly once, only from the loop's iteration.
 * - `stop()`: callbacks already scheduled run; those scheduled after wait for
 *   the next `runForever()`.
 * - After `close()` every method (but `close`, `isClosed`, `isRunning`,
 *   `getDebug`, `setDebug`, `time`) throws `RuntimeError('Event loop is closed')`.
 * - `close()` is idempotent and throws `RuntimeError` on a running loop.
 * - Running a loop while another runs in the same thread throws `RuntimeError`.
 * - A timer never runs before its `when()`; a cancelled handle never runs.
 * - A loop kind without a facility (fd watching on a proactor) throws
 *   `NotImplementedError` naming the backend.
 */
export interface AbstractEventLoop {
  readonly backend: BackendDescriptor | undefined;

  // ---- running and stopping ----
  runForever(): Promise<void>;
  runUntilComplete<T>(future: CoroutineSource<T>): Promise<T>;
  stop(): void;
  isRunning(): boolean;
  isClosed(): boolean;
  close(): void;
  shutdownAsyncgens(): FutureLike<void>;

  // ---- scheduling ----
  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): HandleLike;
  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): HandleLike;
  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => unknown, ...args: A): TimerHandleLike;
  callAt<A extends unknown[]>(when: number, callback: (...args: A) => unknown, ...args: A): TimerHandleLike;
  time(): number;

  // ---- futures and tasks ----
  createFuture<T = unknown>(): FutureLike<T>;
  createTask<T>(coro: CoroutineSource<T>, options?: { name?: string }): TaskLike<T>;

  // ---- fd watching ----
  addReader<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  removeReader(fd: number | { fileno(): number }): boolean;
  /**
   * Call `callback(...args)` whenever `fd` has priority data (TCP urgent
   * data, read with `MSG_OOB`; a GPIO edge): EPOLLPRI, POLLPRI, select's
   * exceptfds. Not in asyncio; `NotImplementedError` where the backend
   * cannot watch for it (kqueue).
   */
  addPriorityReader<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  removePriorityReader(fd: number | { fileno(): number }): boolean;
  addWriter<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  removeWriter(fd: number | { fileno(): number }): boolean;

  // ---- names ----
  getaddrinfo(host: string | null, port: string | number | null, options?: { family?: number; type?: number; proto?: number; flags?: number }): FutureLike<AddrInfo[]>;
  getnameinfo(sockaddr: [host: string, port: number, ...rest: number[]], flags?: number): FutureLike<[host: string, service: string]>;

  // ---- connections and servers ----
  createConnection<P extends object>(protocolFactory: () => P, host?: string | null, port?: number | string | null, options?: object): FutureLike<[Transport<InetAddress>, P]>;
  createServer(protocolFactory: () => object, host?: string | readonly string[] | null, port?: number | string | null, options?: object): FutureLike<AbstractServer<InetAddress>>;
  createUnixConnection<P extends object>(protocolFactory: () => P, path?: string | null, options?: object): FutureLike<[Transport<UnixAddress>, P]>;
  createUnixServer(protocolFactory: () => object, path?: string | null, options?: object): FutureLike<AbstractServer<UnixAddress>>;
  createDatagramEndpoint<P extends object>(protocolFactory: () => P, options?: object): FutureLike<[DatagramTransport, P]>;
  connectAcceptedSocket<P extends object>(protocolFactory: () => P, sock: unknown, options?: object): FutureLike<[Transport, P]>;
  /** Upgrade an open stream connection to TLS (asyncio's `start_tls`); resolves to the TLS transport once the handshake is done. */
  startTls(transport: Transport, protocol: object, sslContext: object, options?: { serverSide?: boolean; serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null }): FutureLike<Transport>;
  /**
   * Send `file` over a stream transport (asyncio's `loop.sendfile`);
   * resolves to the number of bytes sent. `offset` (default 0) is where
   * reading starts; `count` (default: up to end of file) is the most to send.
   * Without a zero-copy path the file is read in chunks and written to the
   * transport, waiting whenever the transport's write buffer is above its
   * high-water mark; the transport's protocol gets no data meanwhile
   * (reading is paused and resumed after). Rejects with a RuntimeError when
   * the transport is closing or cannot send files, a TypeError/RangeError
   * naming `offset`/`count` when they are not a non-negative / positive
   * integer, and `SendfileNotAvailableError` when `fallback: false` and no
   * zero-copy path exists.
   */
  sendfile(transport: Transport, file: SendfileSource, offset?: number, count?: number | null, options?: { fallback?: boolean }): FutureLike<number>;

  // ---- pipes and subprocesses ----
  connectReadPipe<P extends object>(protocolFactory: () => P, pipe: number | { fileno(): number }): FutureLike<[ReadTransport, P]>;
  connectWritePipe<P extends object>(protocolFactory: () => P, pipe: number | { fileno(): number }): FutureLike<[WriteTransport, P]>;
  subprocessExec<P extends SubprocessProtocol>(protocolFactory: () => P, program: string, args?: string[], options?: object): FutureLike<[SubprocessTransport, P]>;
  subprocessShell<P extends SubprocessProtocol>(protocolFactory: () => P, command: string, options?: object): FutureLike<[SubprocessTransport, P]>;

  // ---- low-level socket operations (`sock` is `@evloop/sys`'s `Socket`) ----
  sockRecv(sock: unknown, nbytes: number): FutureLike<Uint8Array>;
  sockRecvInto(sock: unknown, buffer: Uint8Array): FutureLike<number>;
  sockSendall(sock: unknown, data: Uint8Array): FutureLike<void>;
  sockConnect(sock: unknown, address: Address): FutureLike<void>;
  sockAccept(sock: unknown): FutureLike<[unknown, Address | null]>;
  sockRecvfrom(sock: unknown, bufsize: number): FutureLike<[Uint8Array, Address | null]>;
  sockSendto(sock: unknown, data: Uint8Array, address: Address): FutureLike<number>;
  sockRecvfromInto(sock: unknown, buffer: Uint8Array, nbytes?: number): FutureLike<[number, Address | null]>;
  /**
   * Send `file` over a connected non-blocking stream socket (asyncio's
   * `loop.sock_sendfile`); resolves to the number of bytes sent, with the
   * same `offset`/`count`/`fallback` rules as {@link sendfile}. A socket
   * that is not SOCK_STREAM or is blocking is a RangeError.
   */
  sockSendfile(sock: unknown, file: SendfileSource, offset?: number, count?: number | null, options?: { fallback?: boolean }): FutureLike<number>;

  // ---- errors and debug ----
  setExceptionHandler(handler: ExceptionHandler | null): void;
  getExceptionHandler(): ExceptionHandler | null;
  defaultExceptionHandler(context: ExceptionContext): void;
  callExceptionHandler(context: ExceptionContext): void;
  getDebug(): boolean;
  setDebug(enabled: boolean): void;

  // ---- executors ----
  /**
   * Run `fn(...args)` in `executor` (null: the default one). Cancelling the
   * returned future abandons the job; it never blocks shutdown.
   */
  runInExecutor<A extends unknown[], R>(executor: Executor | null, fn: ExecutorFunction<A, R>, ...args: A): FutureLike<R>;
  setDefaultExecutor(executor: Executor): void;
  /** Shut the default executor down, waiting at most `timeout` seconds for its jobs. */
  shutdownDefaultExecutor(timeout?: number | null): PromiseLike<void>;

  // ---- signals ----
  /**
   * Call `callback(...args)` as a loop callback when `signal` arrives (main
   * thread only). SIGKILL/SIGSTOP and unknown signals are `RangeError`s.
   */
  addSignalHandler<A extends unknown[]>(signal: NodeJS.Signals | number, callback: (...args: A) => unknown, ...args: A): void;
  /** Returns whether a handler was removed; Node's own behaviour for the signal comes back. */
  removeSignalHandler(signal: NodeJS.Signals | number): boolean;
}

/** @deprecated The networking methods are part of {@link AbstractEventLoop} now; use it. */
export type AbstractNetworkEventLoop = AbstractEventLoop;
