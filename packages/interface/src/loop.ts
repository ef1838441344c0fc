import type { BaseTransport, DatagramTransport, SubprocessTransport, Transport, ReadTransport, WriteTransport } from './transports.js';
import type { BaseProtocol, DatagramProtocol, SubprocessProtocol } from './protocols.js';
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
 * A future (asyncio's `Future`): thenable (`await fut`) and iterable
 * (`yield* fut` inside a generator coroutine). Done callbacks are scheduled
 * with `callSoon`, never called synchronously.
 */
export interface FutureLike<T = unknown> extends PromiseLike<T> {
  done(): boolean;
  cancelled(): boolean;
  /** The result; throws the exception, `CancelledError`, or `InvalidStateError` if not done. */
  result(): T;
  exception(): unknown;
  cancel(message?: unknown): boolean;
  addDoneCallback(callback: (future: FutureLike<T>) => void): void;
  removeDoneCallback(callback: (future: FutureLike<T>) => void): number;
  getLoop(): AbstractEventLoop;
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

export type Address = [host: string, port: number] | [host: string, port: number, flowinfo: number, scopeId: number] | string;

/** One result of `getaddrinfo`, as Python's tuple: `[family, type, proto, canonname, sockaddr]`. */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, sockaddr: Address];

/**
 * asyncio's `AbstractEventLoop`, camelCased. Coroutine methods return futures.
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
 */
export interface AbstractEventLoop {
  readonly backend: BackendDescriptor | undefined;

  runForever(): Promise<void>;
  runUntilComplete<T>(future: CoroutineSource<T>): Promise<T>;
  stop(): void;
  isRunning(): boolean;
  isClosed(): boolean;
  close(): void;
  shutdownAsyncgens(): FutureLike<void>;

  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): HandleLike;
  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): HandleLike;
  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => unknown, ...args: A): TimerHandleLike;
  callAt<A extends unknown[]>(when: number, callback: (...args: A) => unknown, ...args: A): TimerHandleLike;
  time(): number;

  createFuture<T = unknown>(): FutureLike<T>;
  createTask<T>(coro: CoroutineSource<T>, options?: { name?: string }): FutureLike<T>;

  addReader<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  removeReader(fd: number | { fileno(): number }): boolean;
  addWriter<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  removeWriter(fd: number | { fileno(): number }): boolean;

  setExceptionHandler(handler: ExceptionHandler | null): void;
  getExceptionHandler(): ExceptionHandler | null;
  defaultExceptionHandler(context: ExceptionContext): void;
  callExceptionHandler(context: ExceptionContext): void;

  getDebug(): boolean;
  setDebug(enabled: boolean): void;

  /**
   * Run `fn(...args)` in `executor` (null: the default one). Cancelling the
   * returned future abandons the job; it never blocks shutdown.
   */
  runInExecutor<A extends unknown[], R>(executor: Executor | null, fn: ExecutorFunction<A, R>, ...args: A): FutureLike<R>;
  setDefaultExecutor(executor: Executor): void;
  /** Shut the default executor down, waiting at most `timeout` seconds for its jobs. */
  shutdownDefaultExecutor(timeout?: number | null): PromiseLike<void>;

  /**
   * Call `callback(...args)` as a loop callback when `signal` arrives (main
   * thread only). SIGKILL/SIGSTOP and unknown signals are `RangeError`s.
   */
  addSignalHandler<A extends unknown[]>(signal: NodeJS.Signals | number, callback: (...args: A) => unknown, ...args: A): void;
  /** Returns whether a handler was removed; Node's own behaviour for the signal comes back. */
  removeSignalHandler(signal: NodeJS.Signals | number): boolean;
}

/** The networking half of the loop (selector loops; filled in by the networking work). */
export interface AbstractNetworkEventLoop extends AbstractEventLoop {
  createConnection(protocolFactory: () => BaseProtocol, host?: string | null, port?: number | null, options?: Record<string, unknown>): FutureLike<[Transport, BaseProtocol]>;
  createServer(protocolFactory: () => BaseProtocol, host?: string | string[] | null, port?: number | null, options?: Record<string, unknown>): FutureLike<AbstractServer>;
  createDatagramEndpoint(protocolFactory: () => DatagramProtocol, options?: Record<string, unknown>): FutureLike<[DatagramTransport, DatagramProtocol]>;
  connectReadPipe(protocolFactory: () => BaseProtocol, pipe: unknown): FutureLike<[ReadTransport, BaseProtocol]>;
  connectWritePipe(protocolFactory: () => BaseProtocol, pipe: unknown): FutureLike<[WriteTransport, BaseProtocol]>;
  subprocessExec(protocolFactory: () => SubprocessProtocol, program: string, args?: string[], options?: Record<string, unknown>): FutureLike<[SubprocessTransport, SubprocessProtocol]>;
  subprocessShell(protocolFactory: () => SubprocessProtocol, command: string, options?: Record<string, unknown>): FutureLike<[SubprocessTransport, SubprocessProtocol]>;
  getaddrinfo(host: string | null, port: string | number | null, options?: { family?: number; type?: number; proto?: number; flags?: number }): FutureLike<AddrInfo[]>;
  getnameinfo(sockaddr: [host: string, port: number, ...rest: number[]], flags?: number): FutureLike<[host: string, service: string]>;
  createUnixConnection(protocolFactory: () => BaseProtocol, path?: string | null, options?: Record<string, unknown>): FutureLike<[Transport, BaseProtocol]>;
  createUnixServer(protocolFactory: () => BaseProtocol, path?: string | null, options?: Record<string, unknown>): FutureLike<AbstractServer>;
  sockRecv(sock: unknown, nbytes: number): FutureLike<Uint8Array>;
  sockRecvInto(sock: unknown, buffer: Uint8Array): FutureLike<number>;
  sockSendall(sock: unknown, data: Uint8Array): FutureLike<void>;
  sockConnect(sock: unknown, address: unknown): FutureLike<void>;
  sockAccept(sock: unknown): FutureLike<[unknown, Address | null]>;
  sockRecvfrom(sock: unknown, bufsize: number): FutureLike<[Uint8Array, Address | null]>;
  sockSendto(sock: unknown, data: Uint8Array, address: unknown): FutureLike<number>;
  sockRecvfromInto(sock: unknown, buffer: Uint8Array, nbytes?: number): FutureLike<[number, Address | null]>;
  connectAcceptedSocket(protocolFactory: () => BaseProtocol, sock: unknown, options?: Record<string, unknown>): FutureLike<[Transport, BaseProtocol]>;
  /** Upgrade an open stream connection to TLS (asyncio's `start_tls`); resolves to the TLS transport once the handshake is done. */
  startTls(transport: Transport, protocol: BaseProtocol, sslContext: unknown, options?: { serverSide?: boolean; serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null }): FutureLike<Transport>;
}
