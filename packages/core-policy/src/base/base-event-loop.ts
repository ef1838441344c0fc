import {
  CancelledError,
  RuntimeError,
  type AddrInfo,
  type BaseProtocol,
  type DatagramTransport,
  type Executor,
  type ExecutorFunction,
  type AbstractEventLoop,
  type BackendDescriptor,
  type CoroutineSource,
  type ExceptionContext,
  type ExceptionHandler,
  type ReadTransport,
  type Transport,
  type SubprocessProtocol as SubprocessProtocolContract,
  type SubprocessTransport,
  type WriteTransport,
  type InetAddress,
  type UnixAddress,
  type SendfileSource,
} from '@evloop/interface';
import { performance } from 'node:perf_hooks';
import { ArgsHandle, Handle, OneArgHandle, type ReadyEntry, SoonHandle, TimerHandle, _debugLoopSeen, describeCallback, describeEntry, handleFor, reportCallbackError, resumeSleep } from '../loop/handles.js';
import { Queue } from '../loop/ready-queue.js';
import { TimerHeap } from '../loop/timer-heap.js';
import { Future, isFuture } from '../futures/future.js';
import { Task, allTasks, isCoroutineSource, isGenerator, isThenable, wrapThenable } from '../futures/task.js';
import { gather } from '../futures/combinators.js';
import type { TaskFactory } from '../futures/eager.js';
import { logger } from '../loop/logger.js';
import { StallWatch } from './stall-watch.js';
import { Coroutine, isCoroutineObject } from '../futures/coroutine.js';
import { ThreadPoolExecutor } from '../loop/executor.js';
import { SignalHandlers } from '../loop/signal-handlers.js';
import { state } from '../loop/thread-state.js';
import type { PipeLike, SocketAddress, SocketLike } from '../net/socket-module.js';
import type { SSLContext } from '../tls/ssl-context.js';
import { startTls, type SSLOption, type StartTlsOptions } from '../tls/ssl-connection.js';
import type { RawStreamTransport } from '../tls/raw-transport.js';
import type { SSLTransport } from '../tls/ssl-transport.js';
import * as network from './network.js';
import * as sendfiles from './sendfile.js';
import type { BaseTransport } from './base-transport.js';
import type { Server, TransportOwner } from './server.js';
import { checkSubprocessOptions, PIPE, type SubprocessOptions } from './subprocess-options.js';

/** asyncio's rule: purge the timer heap when over half of at least this many timers are cancelled. */
const MIN_SCHEDULED_TIMER_HANDLES = 100;
const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;
/** Debug mode warns about timers further out than this (seconds). */
const ONE_DAY = 86_400;
/**
 * Iterations one Node macrotask may run back to back while callbacks keep
 * becoming ready. Each follow-on iteration is queued as a microtask, behind
 * the Promise jobs the previous one created, so those never wait; Node's own
 * I/O, timers and immediates wait at most this many iterations.
 */
const MAX_ITERATIONS_PER_MACROTASK = 16;
/**
 * Handles that resume async-function tasks (`sleep(0)`) an iteration runs
 * back to back before it lets the Promise jobs they queued run (see
 * `_runReady`): each task then goes on while what its resume touched is
 * still in the CPU's cache.
 */
const MAX_RESUMES_IN_A_ROW = 16;
const RESOLVED = Promise.resolve();

/**
 * A clock that replaces the loop's own (`loop.setClock()`): what test
 * harnesses use for virtual time (`@evloop/testing`).
 */
export interface LoopClock {
  /** The loop's time, in seconds (what `loop.time()` returns). */
  time(): number;
  /**
   * The loop has no callback ready and its next timer is due at `when` (on
   * this clock). Call `wake()` when the loop should look again (a virtual
   * clock first moves its time to `when`). Returns a function that calls the
   * arrangement off: the loop calls it when something else (a callback, an
   * I/O event, `stop()`) wakes it first.
   */
  sleepUntil(when: number, wake: () => void): () => void;
}

/** What `loop.setIterationObserver()` reports after each iteration (real time, whatever the loop's clock). */
export interface IterationStats {
  /** Callbacks run in this iteration (cancelled handles are not counted). */
  callbacks: number;
  /**
   * Seconds between the end of the previous iteration and the start of this
   * one: the loop was waiting for its backend or a timer, or Node was running
   * its own callbacks and Promise jobs (0 for the first observed iteration).
   */
  waitSeconds: number;
  /** Seconds in this iteration's non-blocking poll of the backend. */
  pollSeconds: number;
  /** Seconds spent running callbacks (and moving due timers to the ready queue). */
  callbackSeconds: number;
  /** Callbacks ready when the iteration ended (scheduled while it ran). */
  ready: number;
  /** Timers scheduled when the iteration ended (cancelled ones included until purged). */
  timers: number;
}

function envDebug(): boolean {
  const value = process.env.EVLOOP_DEBUG;
  const debug = value !== undefined && value !== '' && value !== '0';
  if (debug) _debugLoopSeen();
  return debug;
}

function checkCallback(callback: unknown, method: string): void {
  if (typeof callback !== 'function') {
    throw new TypeError(`a callable object was expected by ${method}(), got ${callback === null ? 'null' : typeof callback}`);
  }
}

function checkNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${value === null ? 'null' : typeof value}`);
  if (Number.isNaN(value)) throw new RangeError(`${name} must not be NaN`);
}

/**
 * The loop: asyncio's `BaseEventLoop`, run as a guest of Node's event loop.
 *
 * One iteration (`_runOnce`) polls the backend without blocking, turns ready
 * events and due timers into ready handles, and runs exactly the handles
 * that were ready when it began. Between iterations control returns to Node:
 * with work pending the next iteration is a `setImmediate`; when idle the
 * loop waits for the backend's `watch` callback or a Node timer set for the
 * next evloop timer, so an idle loop uses no CPU.
 *
 * Every high-level method lives here, once, for both families:
 * `createConnection`, `createUnixConnection`, `connectAcceptedSocket`,
 * `createServer`, `createUnixServer`, `createDatagramEndpoint`, `startTls`,
 * `sendfile`/`sockSendfile`, `getaddrinfo`/`getnameinfo`, `connectReadPipe`/`connectWritePipe`,
 * `subprocessExec`/`subprocessShell`. They reach the family (selector or
 * proactor) only through these hooks, which a family's loop class
 * implements (asyncio's `_make_*_transport`, `_start_serving`, `sock_*`):
 *
 * - backend: `_pollBackend`, `_startWatching`, `_stopWatching`, `_closeBackend`
 * - transports: `_makeSocketTransport`, `_makeDatagramTransport`,
 *   `_makeReadPipeTransport`, `_makeWritePipeTransport`,
 *   `_makeSubprocessTransport`
 * - servers: `_startServing`, `_stopServing`
 * - socket primitives: `sockRecv`, `sockRecvInto`, `sockRecvfrom`,
 *   `sockRecvfromInto`, `sockSendall`, `sockSendto`, `sockConnect`,
 *   `sockAccept`
 * - fd watching: `addReader`, `removeReader`, `addWriter`, `removeWriter`
 *   (a proactor loop throws `NotImplementedError` naming itself)
 *
 * TLS (`SSLProtocol` over the transport `_makeSocketTransport` returns),
 * servers, streams and subprocesses are written against this class and the
 * transport interfaces only.
 */
export abstract class BaseEventLoop implements AbstractEventLoop {
  /**
   * @internal What runs in the next iterations, in order: handles, bare
   * callbacks (`callSoon` with no arguments outside debug mode: the handle
   * it returns is not queued, `SoonHandle`), and null where such a callback
   * was cancelled.
   */
  /** @internal */ readonly _ready = new Queue<ReadyEntry>();
  /** @internal */ readonly _scheduled = new TimerHeap();
  /** @internal */ _timerCancelledCount = 0;
  /** @internal */ _timerSequence = 0;
  /** @internal */ _closed = false;
  /** @internal */ _stopping = false;
  /** @internal */ _running = false;
  /** @internal */ _inIteration = false;
  /** @internal */ _debug = envDebug();
  #currentTask: Task<unknown> | null = null;
  /** @internal */ _exceptionHandler: ExceptionHandler | null = null;
  /** @internal */ _immediate: NodeJS.Immediate | null = null;
  /** @internal A follow-on iteration is queued as a microtask. */
  /** @internal */ _microtaskQueued = false;
  /** @internal Iterations run in the current macrotask. */
  /** @internal */ _burst = 0;
  /** @internal The Node timer armed for the next timer's deadline (null once it fired). */
  /** @internal */ _nodeTimer: NodeJS.Timeout | null = null;
  /** @internal When `_nodeTimer` is due, in `performance.now()` milliseconds. */
  /** @internal */ _nodeTimerDue = 0;
  /** @internal */ _runDone: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** @internal */ _defaultExecutor: Executor | null = null;
  /** @internal */ _executorShutdownCalled = false;
  /** @internal */ readonly _signalHandlers = new SignalHandlers();
  /** Servers still listening: `close()` closes them. */
  readonly #servers = new Set<Server>();
  /** Transports by fd: what `close()` lets go of, and what the sock* methods must not touch. */
  readonly #transports = new Map<number, BaseTransport>();
  /** @internal */ _taskFactory: TaskFactory | null = null;
  /** @internal */ _clock: LoopClock | null = null;
  /** @internal Calls off the clock's pending `sleepUntil`. */
  /** @internal */ _clockWait: (() => void) | null = null;
  /** @internal */ _readyRandom: (() => number) | null = null;
  /** @internal */ _iterationObserver: ((stats: IterationStats) => void) | null = null;
  /** @internal performance.now() when the last observed iteration ended (0: none yet). */
  /** @internal */ _lastIterationEnd = 0;
  /** Seconds a callback may take before debug mode warns about it (and ready work may wait for an iteration: see `StallWatch`). */
  slowCallbackDuration = 0.1;
  /** @internal Debug mode's stall report, made on first use. */
  /** @internal */ _stallWatch: StallWatch | null = null;
  /** @internal */ readonly _iterateBound = () => this._iterate();
  /** @internal */ readonly _nodeTimerFiredBound = () => {
    this._nodeTimer = null;
    this._iterate();
  };
  /** @internal */ readonly _iterateMicrotaskBound = () => {
    if (!this._microtaskQueued) return;
    this._microtaskQueued = false;
    this._iterateOnce();
  };
  /** @internal */ readonly _wakeBound = () => this._onBackendReady();
  /** @internal What is left of an iteration paused by `_runReady`: handles to run, handles run, when it started and polled. */
  /** @internal */ _iterationLeft = 0;
  /** @internal */ _iterationRan = 0;
  /** @internal */ _iterationStarted = 0;
  /** @internal */ _iterationPolled = 0;
  /** @internal */ readonly _resumeIterationBound = () => {
    let done: boolean;
    try {
      done = this._runReady(this._iterationLeft, this._iterationRan);
    } catch (error) {
      this._inIteration = false;
      this._finishRun(error);
      return;
    }
    if (done) this._afterIteration();
  };

  abstract readonly backend: BackendDescriptor | undefined;

  // ---- the family's hooks (see the list above) ----

  /** Poll the backend without blocking and queue the handles of ready events (`_addReady`). */
  protected abstract _pollBackend(): void;
  /** Start the backend's guest wait: call `onReady` when events may be pending (the loop starts running). */
  protected abstract _startWatching(onReady: () => void): void;
  /** Stop the guest wait, holding no libuv handle (the loop stops running). */
  protected abstract _stopWatching(): void;
  /** Release the backend on `close()`. */
  protected abstract _closeBackend(): void;

  /** Watch a file descriptor (selector loops; a proactor loop throws NotImplementedError). */
  abstract addReader<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  abstract removeReader(fd: number | { fileno(): number }): boolean;
  /** Watch a file descriptor for priority (out-of-band) data (not in asyncio; NotImplementedError where the backend cannot). */
  abstract addPriorityReader<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  abstract removePriorityReader(fd: number | { fileno(): number }): boolean;
  abstract addWriter<A extends unknown[]>(fd: number | { fileno(): number }, callback: (...args: A) => unknown, ...args: A): void;
  abstract removeWriter(fd: number | { fileno(): number }): boolean;

  /**
   * Make the stream transport of a connected, non-blocking socket (asyncio's
   * `_make_socket_transport`); the transport owns `sock`. In asyncio's
   * order, each as its own callback: `protocol.connectionMade(transport)`,
   * then reading starts, then `waiter` (if any) is resolved. `server`, when
   * given, is told of it (`_attach`) at once and of its end (`_detach`)
   * after `connectionLost`. It must be `START_TLS_COMPATIBLE` (TLS runs over
   * it) and offer `_forceClose`/`_fatalError` (see `RawStreamTransport`).
   */
  abstract _makeSocketTransport(sock: SocketLike, protocol: BaseProtocol, waiter: Future<void> | null, extra: Record<string, unknown> | null, server: TransportOwner | null): RawStreamTransport;

  /**
   * Make the transport of a non-blocking datagram socket (asyncio's
   * `_make_datagram_transport`); `address` is the connected peer or null.
   * As for a socket transport: `connectionMade`, reading, then `waiter`.
   */
  abstract _makeDatagramTransport(sock: SocketLike, protocol: BaseProtocol, address: unknown, waiter: Future<void> | null, extra: Record<string, unknown> | null): DatagramTransport;

  /**
   * Make a transport that reads `pipe` (a pipe, FIFO, socket or character
   * device) into `protocol` (asyncio's `_make_read_pipe_transport`); it owns
   * the pipe, checks it and makes it non-blocking (throwing, synchronously,
   * for an fd it cannot read). As for a socket transport: `connectionMade`,
   * reading, then `waiter`; EOF gives `eofReceived` then `connectionLost`.
   */
  abstract _makeReadPipeTransport(pipe: PipeLike, protocol: BaseProtocol, waiter: Future<void> | null, extra?: Record<string, unknown> | null): ReadTransport;

  /** As `_makeReadPipeTransport`, for writing (asyncio's `_make_write_pipe_transport`). */
  abstract _makeWritePipeTransport(pipe: PipeLike, protocol: BaseProtocol, waiter: Future<void> | null, extra?: Record<string, unknown> | null): WriteTransport;

  /**
   * Start `program` with `args` (options already checked, stdio defaults
   * applied) and connect its pipes with this loop's pipe transports
   * (asyncio's `_make_subprocess_transport`). The future resolves once the
   * pipes are connected; if it fails or is cancelled first, the child is
   * killed and waited for.
   */
  abstract _makeSubprocessTransport(protocol: SubprocessProtocolContract, program: string, args: string[], options: SubprocessOptions): Future<SubprocessTransport>;

  /**
   * Accept connections on the listening, non-blocking `sock` (asyncio's
   * `_start_serving`): up to `backlog` at a time, each with a protocol from
   * `protocolFactory` and a socket transport attached to `server`.
   */
  abstract _startServing(protocolFactory: () => object, sock: SocketLike, server: Server, backlog: number): void;

  /** Stop accepting on `sock` and close it (asyncio's `_stop_serving`). */
  abstract _stopServing(sock: SocketLike): void;

  /** Receive up to `nbytes` from a non-blocking socket. Cancelling the future stops waiting. */
  abstract sockRecv(sock: SocketLike, nbytes: number): Future<Buffer>;
  /** Receive into `buffer`; the future is the byte count (0 at EOF). */
  abstract sockRecvInto(sock: SocketLike, buffer: Uint8Array): Future<number>;
  /** Receive a datagram: `[data, address]`. */
  abstract sockRecvfrom(sock: SocketLike, bufsize: number): Future<[Buffer, SocketAddress | null]>;
  /** Receive a datagram into `buffer`: `[count, address]`. */
  abstract sockRecvfromInto(sock: SocketLike, buffer: Uint8Array, nbytes?: number): Future<[number, SocketAddress | null]>;
  /** Send all of `data`. */
  abstract sockSendall(sock: SocketLike, data: Uint8Array): Future<void>;
  /** Send a datagram to `address`; the future is the count sent. */
  abstract sockSendto(sock: SocketLike, data: Uint8Array, address: unknown): Future<number>;
  /** Connect to `address` (a host name is resolved first with `getaddrinfo`). */
  abstract sockConnect(sock: SocketLike, address: unknown): Future<void>;
  /** Accept a connection: `[socket, address]`; the new socket is non-blocking. */
  abstract sockAccept(sock: SocketLike): Future<[SocketLike, SocketAddress | null]>;

  /**
   * Send `file` over a connected non-blocking stream socket (asyncio's
   * `sock_sendfile`); resolves to the bytes sent. Same `file`, `offset`,
   * `count` and `fallback` rules as {@link sendfile}; written once for both
   * families: the proactor's own sendfile where the loop has one (for a
   * regular file), else a chunked copy through `sockSendall`.
   */
  sockSendfile(sock: SocketLike, file: SendfileSource, offset = 0, count: number | null = null, options: sendfiles.SendfileOptions = {}): Future<number> {
    return sendfiles.sockSendfile(this, sock, file, offset, count, options);
  }

  /** @internal Whether this loop has a zero-copy sendfile step at all (the proactor family's; see `_sendfileStep`). */
  _hasNativeSendfile(): boolean {
    return false;
  }

  /**
   * @internal One zero-copy step of `sockSendfile`/`sendfile` (asyncio's
   * `_sock_sendfile_native` calls the proactor's `sendfile` once per step):
   * up to `count` bytes of `fd` from `offset` to `sock`, resolving to the
   * bytes sent (short at the end of the file, 0 at or past it). Cancelling
   * the future cancels the operation. Null when this loop cannot send this
   * file without copying.
   */
  _sendfileStep(_sock: SocketLike, _fd: number, _offset: number, _count: number): Future<number> | null {
    return null;
  }

  // ---- running and stopping ----

  /** Run until `stop()`. Like every promise-returning method, it reports misuse by rejecting. */
  runForever(): Promise<void> {
    try {
      this._checkClosed();
      this._checkRunning();
    } catch (error) {
      return Promise.reject(error);
    }
    const shared = state();
    shared.runningLoop = this;
    this._running = true;
    try {
      this._startWatching(this._wakeBound);
    } catch (error) {
      this._running = false;
      shared.runningLoop = null;
      return Promise.reject(error);
    }
    if (this._debug) (this._stallWatch ??= new StallWatch(this)).watch();
    return new Promise<void>((resolve, reject) => {
      this._runDone = { resolve, reject };
      this._scheduleIteration();
    });
  }

  async runUntilComplete<T>(future: CoroutineSource<T>): Promise<T> {
    this._checkClosed();
    this._checkRunning();
    const isNewTask = !isFuture(future);
    const target = this.ensureFuture(future) as Future<T>;
    const onDone = (done: Future<unknown>) => {
      if (!done.cancelled()) done.exception();
      this.stop();
    };
    target.addDoneCallback(onDone as (done: Future<T>) => void);
    try {
      await this.runForever();
    } catch (error) {
      if (isNewTask && target.done() && !target.cancelled()) target.exception();
      throw error;
    } finally {
      target.removeDoneCallback(onDone as (done: Future<T>) => void);
    }
    if (!target.done()) throw new RuntimeError('Event loop stopped before Future completed.');
    return target.result();
  }

  stop(): void {
    this._stopping = true;
    if (this._running && !this._inIteration) this._scheduleIteration();
  }

  isRunning(): boolean {
    return this._running;
  }

  isClosed(): boolean {
    return this._closed;
  }

  close(): void {
    if (this._running) throw new RuntimeError('Cannot close a running event loop');
    if (this._closed) return;
    for (const server of [...this.#servers]) server.close();
    // The sockets of transports still open are closed; their protocols are
    // not called (no callback runs on a closed loop).
    for (const transport of [...this.#transports.values()]) transport._abandon();
    this.#transports.clear();
    this._closed = true;
    this._ready.clear();
    for (const timer of this._scheduled.items) timer._scheduled = false;
    this._scheduled.clear();
    this._timerCancelledCount = 0;
    this._signalHandlers.removeAll();
    this._executorShutdownCalled = true;
    const executor = this._defaultExecutor;
    this._defaultExecutor = null;
    // As asyncio: close() does not wait for the executor's jobs.
    if (executor !== null) void Promise.resolve(executor.shutdown({ wait: false })).catch(() => {});
    this._closeBackend();
  }

  /**
   * `await using loop = newEventLoop()`: what `run()` does at the end, as
   * asyncio's `Runner.close()`: cancel the tasks still pending and let them
   * finish, shut down async generators and the default executor, close.
   * A loop that is running cannot be disposed of (RuntimeError).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this._closed) return;
    if (this._running) throw new RuntimeError('Cannot dispose of a running event loop');
    try {
      const pending = [...allTasks(this)];
      for (const task of pending) task.cancel();
      if (pending.length > 0) await this.runUntilComplete(gather(...pending, { returnExceptions: true }));
      await this.runUntilComplete(this.shutdownAsyncgens());
      await this.runUntilComplete(this.shutdownDefaultExecutor());
    } finally {
      this.close();
    }
  }

  // ---- names ----

  /**
   * Python's `getaddrinfo`: `[family, type, proto, canonname, sockaddr]`
   * tuples. Numeric hosts (and null) need no lookup; names go to
   * `dns.lookup`. A type of 0 gives one entry per socket type, as glibc.
   */
  getaddrinfo(host: string | null, port: string | number | null, options: network.AddrInfoOptions = {}): Future<AddrInfo[]> {
    return network.getaddrinfo(this, host, port, options);
  }

  /** Python's `getnameinfo`: `[host, service]`, through `dns.lookupService` unless the flags ask for numbers. */
  getnameinfo(sockaddr: [string, number, ...number[]], flags = 0): Future<[string, string]> {
    return network.getnameinfo(this, sockaddr, flags);
  }

  // ---- transports and servers ----

  /**
   * Open a stream connection; resolves to `[transport, protocol]`. See
   * {@link network.CreateConnectionOptions}. A connection to a host and port
   * is a TCP one (its addresses are `InetAddress`es); one made over
   * `options.sock` has that socket's family.
   */
  createConnection<P extends object>(protocolFactory: () => P, host?: string | null, port?: number | string | null, options?: network.CreateConnectionOptions & { sock?: undefined }): Future<[Transport<InetAddress>, P]>;
  createConnection<P extends object>(protocolFactory: () => P, host: string | null | undefined, port: number | string | null | undefined, options: network.CreateConnectionOptions): Future<[Transport, P]>;
  createConnection<P extends object>(
    protocolFactory: () => P,
    host: string | null = null,
    port: number | string | null = null,
    options: network.CreateConnectionOptions = {},
  ): Future<[Transport, P]> {
    return network.createConnection(this, protocolFactory, host, port, options);
  }

  /** Open a Unix stream connection to `path` (or wrap `options.sock`). */
  createUnixConnection<P extends object>(protocolFactory: () => P, path: string | null = null, options: network.CreateUnixConnectionOptions = {}): Future<[Transport<UnixAddress>, P]> {
    // A Unix connection is on an AF_UNIX socket (network.ts checks options.sock's family).
    return network.createUnixConnection(this, protocolFactory, path, options) as Future<[Transport<UnixAddress>, P]>;
  }

  /** Wrap a connected stream socket accepted outside the loop (asyncio's `connect_accepted_socket`). */
  connectAcceptedSocket<P extends object>(
    protocolFactory: () => P,
    sock: SocketLike,
    options: { ssl?: SSLOption; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
  ): Future<[Transport, P]> {
    return network.connectAcceptedSocket(this, protocolFactory, sock, options);
  }

  /**
   * Listen on TCP; resolves to a started {@link Server} whose sockets give
   * `InetAddress`es (`const [host, port] = server.sockets[0].getsockname()`).
   * See {@link network.CreateServerOptions}. A server on `options.sock`
   * listens on that socket, whatever its family.
   */
  createServer(protocolFactory: () => object, host?: string | readonly string[] | null, port?: number | string | null, options?: network.CreateServerOptions & { sock?: undefined }): Future<Server<InetAddress>>;
  createServer(protocolFactory: () => object, host: string | readonly string[] | null | undefined, port: number | string | null | undefined, options: network.CreateServerOptions): Future<Server>;
  createServer(
    protocolFactory: () => object,
    host: string | readonly string[] | null = null,
    port: number | string | null = null,
    options: network.CreateServerOptions = {},
  ): Future<Server> {
    return network.createServer(this, protocolFactory, host, port, options);
  }

  /** Listen on a Unix socket path (or Linux abstract name starting with '\\0'). */
  createUnixServer(protocolFactory: () => object, path: string | null = null, options: network.CreateUnixServerOptions = {}): Future<Server<UnixAddress>> {
    // A Unix server listens on AF_UNIX sockets only.
    return network.createUnixServer(this, protocolFactory, path, options) as Future<Server<UnixAddress>>;
  }

  /**
   * Upgrade an open connection to TLS (asyncio's `start_tls`): resolves to
   * the new transport once the handshake is done; `protocol` keeps going
   * with it (no second connectionMade) and the old transport is retired.
   */
  startTls(transport: unknown, protocol: object, sslContext: SSLContext, options: StartTlsOptions = {}): Future<SSLTransport> {
    return startTls(this, transport, protocol, sslContext, options);
  }

  /**
   * Send `file` (an fd, a `fs.promises.FileHandle`, or an object with
   * `fileno()`) over a stream transport, from `offset` for `count` bytes
   * (default: to end of file); resolves to the bytes sent (asyncio's
   * `sendfile`). On `ProactorEventLoop` a plain socket transport lends its
   * socket to the proactor's sendfile (asyncio's `_sendfile_native`): once
   * its write buffer has drained, with reading paused and `write()` raising
   * RuntimeError until the file is sent. Otherwise (a selector loop, TLS,
   * not a regular file) the file is read in chunks and written, waiting for
   * the write buffer to drain; meanwhile the transport's protocol sees no
   * data. `fallback: false` then rejects with `SendfileNotAvailableError`
   * (a RuntimeError for a TLS transport). A file object with `seek()` is
   * left after the bytes sent; an fd or FileHandle keeps its position.
   */
  sendfile(transport: Transport, file: SendfileSource, offset = 0, count: number | null = null, options: sendfiles.SendfileOptions = {}): Future<number> {
    return sendfiles.sendfile(this, transport, file, offset, count, options);
  }

  /** A UDP (or Unix datagram) endpoint: `[transport, protocol]`. */
  createDatagramEndpoint<P extends object>(protocolFactory: () => P, options: network.CreateDatagramEndpointOptions = {}): Future<[DatagramTransport, P]> {
    return network.createDatagramEndpoint(this, protocolFactory, options);
  }

  /** @internal A server was made on this loop (`close()` closes it). */
  _serverOpened(server: Server): void {
    this.#servers.add(server);
  }

  /** @internal The server stopped listening. */
  _serverClosed(server: Server): void {
    this.#servers.delete(server);
  }

  /** @internal A transport now owns `fd`. */
  _registerTransport(fd: number, transport: BaseTransport): void {
    this.#transports.set(fd, transport);
  }

  /** @internal The transport let go of `fd`. */
  _unregisterTransport(fd: number, transport: BaseTransport): void {
    if (this.#transports.get(fd) === transport) this.#transports.delete(fd);
  }

  /** @internal The transport that owns `fd`, if any. */
  _transportOf(fd: number): BaseTransport | undefined {
    return this.#transports.get(fd);
  }

  // ---- pipes and subprocesses ----

  /**
   * Read a pipe, FIFO, socket or character device (a PTY) with a protocol:
   * asyncio's `connect_read_pipe`. The transport owns `pipe` and closes it.
   */
  connectReadPipe<P extends object>(protocolFactory: () => P, pipe: PipeLike): Future<[ReadTransport, P]> {
    return this.#connectPipe((protocol, waiter) => this._makeReadPipeTransport(pipe, protocol, waiter), protocolFactory);
  }

  /** Write to a pipe, FIFO, socket or character device with a protocol: asyncio's `connect_write_pipe`. */
  connectWritePipe<P extends object>(protocolFactory: () => P, pipe: PipeLike): Future<[WriteTransport, P]> {
    return this.#connectPipe((protocol, waiter) => this._makeWritePipeTransport(pipe, protocol, waiter), protocolFactory);
  }

  /** Make the pipe transport; resolve once it is connected (closing it if that is cancelled). */
  #connectPipe<T extends ReadTransport | WriteTransport, P extends object>(make: (protocol: BaseProtocol, waiter: Future<void>) => T, protocolFactory: () => P): Future<[T, P]> {
    this._checkClosed();
    if (typeof protocolFactory !== 'function') throw new TypeError('protocolFactory must be a function');
    const protocol = protocolFactory();
    const waiter = this.createFuture<void>();
    const transport = make(protocol as BaseProtocol, waiter);
    return this.createTask(function* connected(): Generator<unknown, [T, P], unknown> {
      try {
        yield* waiter;
      } catch (error) {
        transport.close();
        throw error;
      }
      return [transport, protocol];
    });
  }

  /**
   * Run `program` with `args` (no shell): asyncio's `subprocess_exec`.
   * stdin/stdout/stderr default to PIPE; each may be PIPE, STDOUT (stderr
   * only), DEVNULL, an fd, an object with `fileno()`, or null to inherit.
   * The future resolves once the pipes are connected; if it is cancelled
   * before, the child is killed and waited for.
   */
  subprocessExec<P extends SubprocessProtocolContract>(
    protocolFactory: () => P,
    program: string,
    args: string[] = [],
    options: SubprocessOptions = {},
  ): Future<[SubprocessTransport, P]> {
    return this.#subprocess(protocolFactory, program, args, options);
  }

  /** Run `command` with the system shell (`/bin/sh -c`; on Windows `%ComSpec% /c`, cmd.exe): asyncio's `subprocess_shell`. */
  subprocessShell<P extends SubprocessProtocolContract>(protocolFactory: () => P, command: string, options: SubprocessOptions = {}): Future<[SubprocessTransport, P]> {
    if (typeof command !== 'string') throw new TypeError(`command must be a string, got ${command === null ? 'null' : typeof command}`);
    if (options !== null && typeof options === 'object' && options.shell === false) throw new RangeError('shell must be true');
    const { shell: _shell, ...rest } = options ?? {};
    if (process.platform === 'win32') return this.#subprocess(protocolFactory, process.env.ComSpec ?? 'cmd.exe', ['/c', command], rest);
    return this.#subprocess(protocolFactory, '/bin/sh', ['-c', command], rest);
  }

  #subprocess<P extends SubprocessProtocolContract>(protocolFactory: () => P, program: string, args: string[], options: SubprocessOptions): Future<[SubprocessTransport, P]> {
    this._checkClosed();
    if (typeof protocolFactory !== 'function') throw new TypeError('protocolFactory must be a function');
    if (typeof program !== 'string' || program.length === 0) throw new TypeError('program must be a non-empty string');
    if (!Array.isArray(args) || args.some((arg) => typeof arg !== 'string')) throw new TypeError('args must be an array of strings');
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    checkSubprocessOptions(options);
    const effective: SubprocessOptions = {
      ...options,
      stdin: options.stdin === undefined ? PIPE : options.stdin,
      stdout: options.stdout === undefined ? PIPE : options.stdout,
      stderr: options.stderr === undefined ? PIPE : options.stderr,
    };
    const loop = this;
    return this.createTask(function* start(): Generator<unknown, [SubprocessTransport, P], unknown> {
      const protocol = protocolFactory();
      const transport = yield* loop._makeSubprocessTransport(protocol, program, args, effective);
      return [transport, protocol];
    }, { name: `subprocess ${program}` });
  }

  // ---- executors ----

  /**
   * Run `fn(...args)` in `executor` (null: the default one, a pool of worker
   * threads; see `ThreadPoolExecutor` for what it can run). Returns a future;
   * cancelling it abandons the job, which then never blocks shutdown.
   */
  runInExecutor<A extends unknown[], R>(executor: Executor | null, fn: ExecutorFunction<A, R>, ...args: A): Future<R> {
    this._checkClosed();
    if (executor === null || executor === undefined) {
      if (this._executorShutdownCalled) throw new RuntimeError('Executor shutdown has been called');
      this._defaultExecutor ??= new ThreadPoolExecutor();
      executor = this._defaultExecutor;
    } else if (typeof executor !== 'object' || typeof executor.submit !== 'function') {
      throw new TypeError('executor must be an Executor (with submit and shutdown) or null');
    }
    const future = this.createFuture<R>();
    const abort = new AbortController();
    future.addDoneCallback((done) => {
      if (done.cancelled()) abort.abort(new CancelledError('runInExecutor future was cancelled'));
    });
    let submitted: PromiseLike<R>;
    try {
      submitted = executor.submit(fn, args, { signal: abort.signal });
    } catch (error) {
      future.setException(error);
      return future;
    }
    submitted.then(
      (value) => {
        if (!future.done() && !this._closed) future.setResult(value);
      },
      (error: unknown) => {
        if (!future.done() && !this._closed) future.setException(error);
      },
    );
    return future;
  }

  /** Replace the default executor (asyncio accepts only a ThreadPoolExecutor; any Executor works here). */
  setDefaultExecutor(executor: Executor): void {
    if (executor === null || typeof executor !== 'object' || typeof executor.submit !== 'function' || typeof executor.shutdown !== 'function') {
      throw new TypeError('executor must be an Executor with submit() and shutdown()');
    }
    this._defaultExecutor = executor;
  }

  /**
   * Shut the default executor down and wait for its jobs, at most `timeout`
   * seconds (default 300, as asyncio); after that it warns and stops the
   * worker threads, even if a job never returns.
   */
  shutdownDefaultExecutor(timeout: number | null = 300): Coroutine<void> {
    if (timeout !== null && (typeof timeout !== 'number' || Number.isNaN(timeout))) throw new TypeError('timeout must be a number or null');
    return new Coroutine('shutdownDefaultExecutor', (loop) => {
      const future = loop.createFuture<void>();
      this._executorShutdownCalled = true;
      const executor = this._defaultExecutor;
      this._defaultExecutor = null;
      if (executor === null) {
        future.setResult(undefined);
        return future;
      }
      let timer: Handle | null = null;
      const finish = () => {
        timer?.cancel();
        if (!future.done() && !this._closed) future.setResult(undefined);
      };
      if (timeout !== null) {
        timer = loop.callLater(timeout, () => {
          logger.warning(`The executor did not finish its jobs within ${timeout} seconds; stopping its threads.`);
          const terminate = (executor as { terminate?: () => PromiseLike<void> }).terminate;
          const stopped = terminate ? terminate.call(executor) : executor.shutdown({ wait: false });
          void Promise.resolve(stopped).then(finish, finish);
        });
      }
      void Promise.resolve(executor.shutdown({ wait: true })).then(finish, (error: unknown) => {
        timer?.cancel();
        if (!future.done() && !this._closed) future.setException(error);
      });
      return future;
    });
  }

  // ---- signals ----

  /**
   * Call `callback(...args)` on the loop when `signal` arrives (main thread,
   * POSIX signals; SIGKILL/SIGSTOP cannot be caught). Replaces an earlier
   * handler for the same signal.
   */
  addSignalHandler<A extends unknown[]>(signal: NodeJS.Signals | number, callback: (...args: A) => unknown, ...args: A): void {
    this._checkClosed();
    checkCallback(callback, 'addSignalHandler');
    const handle = handleFor(callback as (...args: unknown[]) => unknown, args, this);
    this._signalHandlers.add(signal, handle, (scheduled) => {
      if (this._closed || scheduled._callback === null) return;
      this._ready.push(scheduled);
      if (this._running && !this._inIteration && this._immediate === null) this._scheduleIteration();
    });
  }

  /** Remove the handler for `signal`; returns whether there was one. Node's own behaviour comes back. */
  removeSignalHandler(signal: NodeJS.Signals | number): boolean {
    return this._signalHandlers.remove(signal);
  }

  /** Async generators are not tracked by evloop: JavaScript finalizes them itself. Resolves at once. */
  shutdownAsyncgens(): Future<void> {
    const future = this.createFuture<void>();
    future.setResult(undefined);
    return future;
  }

  // ---- scheduling ----

  // callSoon, callLater and callAt read their extra arguments from
  // `arguments` instead of a rest parameter: the common call with none
  // allocates no array (rest parameters make one per call), and the checks
  // are one test each.
  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle;
  callSoon(callback: (...args: unknown[]) => unknown): Handle {
    if (this._closed) this._checkClosed();
    if (typeof callback !== 'function') checkCallback(callback, 'callSoon');
    // One argument (a future's done callback gets the future) goes in a
    // field of the handle: one object instead of a handle and an array.
    const count = arguments.length;
    if (count === 1 && !this._debug) {
      // The queue takes the bare callback; the handle only knows its place.
      const ready = this._ready;
      const soon = new SoonHandle(callback, this, ready.shifted + ready.length);
      ready.push(callback);
      if (this._running && !this._inIteration && this._immediate === null && !this._microtaskQueued) this._scheduleIteration();
      return soon;
    }
    const handle =
      count === 1
        ? new Handle(callback, null, this)
        : count === 2
          ? new OneArgHandle(callback, arguments[1], this)
          : new ArgsHandle(callback, Array.prototype.slice.call(arguments, 1), this);
    this._ready.push(handle);
    if (this._running && !this._inIteration && this._immediate === null && !this._microtaskQueued) this._scheduleIteration();
    return handle;
  }

  /**
   * Same as `callSoon`, and safe to call from any Node callback: it wakes an
   * idle loop. (JavaScript threads do not share objects, so another worker
   * reaches this loop by messaging its thread, whose handler calls this.)
   */
  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle {
    return this.callSoon(callback, ...args);
  }

  callLater<A extends unknown[]>(delay: number, callback: (...args: A) => unknown, ...args: A): TimerHandle;
  callLater(delay: number, callback: (...args: unknown[]) => unknown): TimerHandle {
    // `delay !== delay`: NaN.
    if (typeof delay !== 'number' || delay !== delay) checkNumber(delay, 'delay');
    this._checkClosed();
    if (typeof callback !== 'function') checkCallback(callback, 'callLater');
    const args = arguments.length > 2 ? Array.prototype.slice.call(arguments, 2) : null;
    return this.#schedule(this.time() + delay, delay, callback, args);
  }

  callAt<A extends unknown[]>(when: number, callback: (...args: A) => unknown, ...args: A): TimerHandle;
  callAt(when: number, callback: (...args: unknown[]) => unknown): TimerHandle {
    if (typeof when !== 'number' || when !== when) checkNumber(when, 'when');
    this._checkClosed();
    if (typeof callback !== 'function') checkCallback(callback, 'callAt');
    const args = arguments.length > 2 ? Array.prototype.slice.call(arguments, 2) : null;
    return this.#schedule(when, null, callback, args);
  }

  /**
   * `delay` is null for callAt; timers with one delay share a run of the
   * timer heap (`TimerHeap.pushAfter`). The caller checked the arguments and
   * that the loop is open.
   */
  #schedule(when: number, delay: number | null, callback: (...args: unknown[]) => unknown, args: unknown[] | null): TimerHandle {
    if (this._debug && when - this.time() > ONE_DAY) {
      logger.warning(`Timer for ${describeCallback(callback as (...args: never[]) => unknown)} is scheduled more than one day ahead (${(when - this.time()).toFixed(0)} s)`);
    }
    const timer = new TimerHandle(when, this._timerSequence++, callback, args, this);
    if (delay === null) this._scheduled.push(timer);
    else this._scheduled.pushAfter(timer, delay);
    if (this._running && !this._inIteration && this._immediate === null && !this._microtaskQueued) this._scheduleIteration();
    return timer;
  }

  /** Seconds on a monotonic clock (or on the clock given to `setClock`). */
  time(): number {
    return this._clock === null ? performance.now() / 1000 : this._clock.time();
  }

  /**
   * Replace the loop's clock (null: back to the monotonic clock). For test
   * harnesses: `@evloop/testing` installs a virtual clock that jumps to the
   * next timer when the loop is idle. Set it before scheduling timers; timers
   * already scheduled keep their deadlines, read on the new clock.
   */
  setClock(clock: LoopClock | null): void {
    if (clock !== null && (typeof clock !== 'object' || typeof clock.time !== 'function' || typeof clock.sleepUntil !== 'function')) {
      throw new TypeError('clock must be null or an object with time() and sleepUntil() methods');
    }
    this.#cancelClockWait();
    this._clock = clock;
    if (this._running && !this._inIteration) this._scheduleIteration();
  }

  getClock(): LoopClock | null {
    return this._clock;
  }

  /**
   * Shuffle the callbacks that are ready in the same iteration with
   * `random` (a function returning numbers in [0, 1), as `Math.random`), to
   * shake out code that depends on their order; null restores asyncio's
   * FIFO order. For test harnesses (`@evloop/testing`'s seeded option).
   */
  setReadyShuffle(random: (() => number) | null): void {
    if (random !== null && typeof random !== 'function') throw new TypeError(`random must be a function or null, got ${typeof random}`);
    this._readyRandom = random;
  }

  /**
   * Call `observer(stats)` after every iteration with what it did (see
   * `IterationStats`): callbacks run, time waiting, polling and running
   * callbacks. null removes it. Measured only while an observer is set; an
   * observer that throws is reported to the exception handler.
   */
  setIterationObserver(observer: ((stats: IterationStats) => void) | null): void {
    if (observer !== null && typeof observer !== 'function') throw new TypeError(`observer must be a function or null, got ${typeof observer}`);
    this._iterationObserver = observer;
    this._lastIterationEnd = 0;
  }

  /**
   * Make every `createTask` go through `factory(loop, coroutine, options)`
   * (asyncio's `set_task_factory`); null restores the default. With
   * `eagerTaskFactory`, tasks start eagerly.
   */
  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null && typeof factory !== 'function') throw new TypeError(`factory must be a function or null, got ${typeof factory}`);
    this._taskFactory = factory;
  }

  getTaskFactory(): TaskFactory | null {
    return this._taskFactory;
  }

  createFuture<T = unknown>(): Future<T> {
    this._checkClosed();
    return new Future<T>({ loop: this });
  }

  /**
   * Run `coroutine` as a task. Give an async function as a function
   * (`createTask(() => worker())`) so `cancel()` reaches its awaits; a
   * Promise already running (`createTask(worker())`) cannot be interrupted,
   * and cancelling its task while it is pending logs a warning in debug mode.
   */
  createTask<T>(coroutine: CoroutineSource<T>, options: { name?: string } = {}): Task<T> {
    this._checkClosed();
    if (this._taskFactory !== null) return this._taskFactory(this, coroutine, options);
    return new Task<T>(coroutine, { loop: this, ...options });
  }

  /** @internal asyncio's `ensure_future` bound to this loop. */
  ensureFuture<T>(value: CoroutineSource<T>): Future<T> {
    if (isFuture(value)) {
      if (value.getLoop() !== this) throw new RangeError('The future belongs to a different loop than the one specified as the loop argument');
      return value as Future<T>;
    }
    if (isCoroutineObject(value)) return value._bind(this) as Future<T>;
    if (isGenerator(value) || typeof value === 'function') return this.createTask(value);
    if (isThenable(value)) return this.createTask(value);
    throw new TypeError(`An asyncio.Future, a coroutine or an awaitable is required, got ${value === null ? 'null' : typeof value}`);
  }

  // ---- errors and debug ----

  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== 'function') {
      throw new TypeError(`A callable object or null is expected, got ${typeof handler}`);
    }
    this._exceptionHandler = handler;
  }

  getExceptionHandler(): ExceptionHandler | null {
    return this._exceptionHandler;
  }

  /** Log the context, as asyncio's default handler does. */
  defaultExceptionHandler(context: ExceptionContext): void {
    checkExceptionContext(context);
    const message = context.message || 'Unhandled exception in event loop';
    const lines = [message];
    for (const key of Object.keys(context).sort()) {
      if (key === 'message' || key === 'exception') continue;
      const value = context[key];
      lines.push(`${key}: ${typeof value === 'string' ? value : describeValue(value)}`);
    }
    logger.error(lines.join('\n'), context.exception);
  }

  callExceptionHandler(context: ExceptionContext): void {
    checkExceptionContext(context);
    if (this._exceptionHandler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch (error) {
        logger.error('Exception in default exception handler', error);
      }
      return;
    }
    try {
      this._exceptionHandler(this, context);
    } catch (error) {
      try {
        this.defaultExceptionHandler({ message: 'Unhandled error in exception handler', exception: error, context } as ExceptionContext);
      } catch (inner) {
        logger.error('Exception in default exception handler while handling an unexpected error in custom exception handler', inner);
      }
    }
  }

  getDebug(): boolean {
    return this._debug;
  }

  setDebug(enabled: boolean): void {
    this._debug = Boolean(enabled);
    if (this._debug) _debugLoopSeen();
  }

  toString(): string {
    return `<${this.constructor.name} running=${this._running} closed=${this._closed} debug=${this._debug}>`;
  }

  // ---- internals ----

  /** @internal A task's step begins (asyncio's `_enter_task`); returns the task it interrupts, for `_leaveTask`. */
  _enterTask(task: Task<unknown>): Task<unknown> | null {
    const previous = this.#currentTask;
    this.#currentTask = task;
    return previous;
  }

  /** @internal The step ended (asyncio's `_leave_task`): `previous` is current again. */
  _leaveTask(previous: Task<unknown> | null): void {
    this.#currentTask = previous;
  }

  /** @internal The task whose step is running on this loop now, or null. */
  _steppingTask(): Task<unknown> | null {
    return this.#currentTask;
  }

  #cancelClockWait(): void {
    const cancel = this._clockWait;
    if (cancel === null) return;
    this._clockWait = null;
    cancel();
  }

  /**
   * Put the first `count` ready entries in a random order (Fisher-Yates with
   * `_readyRandom`), in place, and remember where each went, so that a
   * `SoonHandle` cancelled later in the iteration finds its callback.
   */
  #shuffleReady(count: number): void {
    const ready = this._ready;
    const random = this._readyRandom!;
    const order: number[] = [];
    for (let i = 0; i < count; i++) order.push(i);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(random() * (i + 1)));
      const swap = ready.at(i);
      ready.set(i, ready.at(j));
      ready.set(j, swap);
      const moved = order[i]!;
      order[i] = order[j]!;
      order[j] = moved;
    }
    // order[new place] = old place; the map goes the other way.
    const places: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++) places[order[i]!] = i;
    this.#shuffled = places;
    this.#shuffledFrom = ready.shifted;
  }

  /** Where the last shuffle put the entries it moved (by old place, from `#shuffledFrom`), or null. */
  #shuffled: number[] | null = null;
  #shuffledFrom = 0;

  /**
   * @internal A `SoonHandle` was cancelled: take its callback (number
   * `sequence` in the ready queue) out, if it has not run.
   */
  _cancelSoon(sequence: number, callback: (...args: never[]) => unknown): void {
    const ready = this._ready;
    let place = sequence;
    const shuffled = this.#shuffled;
    if (shuffled !== null) {
      const index = sequence - this.#shuffledFrom;
      if (index >= 0 && index < shuffled.length) place = this.#shuffledFrom + shuffled[index]!;
    }
    const offset = place - ready.shifted;
    if (offset >= 0 && offset < ready.length && ready.at(offset) === callback) ready.set(offset, null);
  }

  /** @internal */
  _checkClosed(): void {
    if (this._closed) throw new RuntimeError('Event loop is closed');
  }

  /** @internal */
  _checkRunning(): void {
    if (this._running) throw new RuntimeError('This event loop is already running');
    const running = state().runningLoop;
    if (running !== null && running !== this) throw new RuntimeError('Cannot run the event loop while another loop is running');
  }

  /**
   * @internal Queue a handle its owner reuses (a task's step, which is
   * never queued twice): `callSoon` without the allocation.
   */
  _callSoonHandle(handle: Handle): void {
    if (this._closed) this._checkClosed();
    this._ready.push(handle);
    if (this._running && !this._inIteration && this._immediate === null && !this._microtaskQueued) this._scheduleIteration();
  }

  /** @internal Queue a handle made by a backend event. */
  _addReady(handle: Handle): void {
    this._ready.push(handle);
  }

  /** @internal */
  _timerHandleCancelled(timer: TimerHandle): void {
    if (timer._scheduled) this._timerCancelledCount++;
  }

  /**
   * @internal Plan the next iteration: now if work is ready, at the next
   * timer, or when the backend wakes us.
   *
   * The Node timer armed for the next deadline stays armed when it is due no
   * later than the new one: it is re-armed only when the earliest deadline
   * moved earlier. (When it fires before anything is due, as after the first
   * timer was cancelled, that iteration runs nothing and arms it again.)
   */
  _scheduleIteration(): void {
    if (this._immediate !== null || this._microtaskQueued) return;
    this.#cancelClockWait();
    if (this._ready.length > 0 || this._stopping) {
      this.#clearNodeTimer();
      this._immediate = setImmediate(this._iterateBound);
      if (this._debug) (this._stallWatch ??= new StallWatch(this)).planned();
      return;
    }
    const next = this._nextTimerWhen();
    if (next === undefined) {
      this.#clearNodeTimer();
      return;
    }
    const clock = this._clock;
    const now = clock === null ? performance.now() / 1000 : clock.time();
    const delay = next - now;
    if (delay <= 0) {
      this.#clearNodeTimer();
      this._immediate = setImmediate(this._iterateBound);
    } else if (clock !== null) {
      this.#clearNodeTimer();
      this._clockWait = clock.sleepUntil(next, this._iterateBound);
    } else {
      // Node timers have whole-millisecond resolution: round up, never fire early.
      const ms = Math.min(Math.ceil(delay * 1000), 0x7fffffff);
      const due = now * 1000 + ms;
      if (this._nodeTimer !== null) {
        if (this._nodeTimerDue <= due) return;
        clearTimeout(this._nodeTimer);
      }
      this._nodeTimer = setTimeout(this._nodeTimerFiredBound, ms);
      this._nodeTimerDue = due;
    }
  }

  #clearNodeTimer(): void {
    if (this._nodeTimer === null) return;
    clearTimeout(this._nodeTimer);
    this._nodeTimer = null;
  }

  /** @internal The first timer that is not cancelled, dropping cancelled ones at the head. */
  _nextTimerWhen(): number | undefined {
    const heap = this._scheduled;
    for (;;) {
      const head = heap.peek();
      if (head === undefined) return undefined;
      if (head._callback !== null) return head._when;
      heap.pop();
      head._scheduled = false;
      this._timerCancelledCount--;
    }
  }

  /** @internal The backend says events are pending. */
  _onBackendReady(): void {
    if (!this._running || this._inIteration || this._immediate !== null || this._microtaskQueued) return;
    this._iterate();
  }

  /** @internal A macrotask (immediate, Node timer, backend wake-up) starts a run of iterations. */
  _iterate(): void {
    this._immediate = null;
    this._burst = 0;
    this._iterateOnce();
  }

  /**
   * @internal One iteration, then plan the next or finish the run. While
   * callbacks are ready, up to MAX_ITERATIONS_PER_MACROTASK iterations run
   * in one macrotask, each queued as a microtask after the Promise jobs the
   * last one made; then the next waits for a `setImmediate`.
   */
  _iterateOnce(): void {
    // An armed Node timer stays: planning the next iteration keeps it when
    // the next deadline is no earlier (`_scheduleIteration`).
    this.#cancelClockWait();
    if (!this._running) return;
    if (this._stallWatch !== null) this._stallWatch.iterationStarted();
    this._inIteration = true;
    try {
      // false: the iteration goes on from a microtask (`_runReady`).
      if (!this._runOnce()) return;
    } catch (error) {
      this._inIteration = false;
      this._finishRun(error);
      return;
    }
    this._afterIteration();
  }

  /** @internal The iteration is over: plan the next or finish the run. */
  _afterIteration(): void {
    this._inIteration = false;
    if (this._stopping) {
      this._finishRun(undefined);
      return;
    }
    if (this._ready.length > 0 && ++this._burst < MAX_ITERATIONS_PER_MACROTASK && this._immediate === null) {
      this._microtaskQueued = true;
      queueMicrotask(this._iterateMicrotaskBound);
      if (this._debug) (this._stallWatch ??= new StallWatch(this)).planned();
      return;
    }
    this._scheduleIteration();
  }

  /** @internal */
  _finishRun(error: unknown): void {
    this._stopping = false;
    this._running = false;
    this._microtaskQueued = false;
    if (this._immediate !== null) {
      clearImmediate(this._immediate);
      this._immediate = null;
    }
    this.#clearNodeTimer();
    this.#cancelClockWait();
    if (this._stallWatch !== null) this._stallWatch.stop();
    try {
      this._stopWatching();
    } catch (stopError) {
      if (error === undefined) error = stopError;
    }
    const shared = state();
    if (shared.runningLoop === this) shared.runningLoop = null;
    const done = this._runDone;
    this._runDone = null;
    if (done === null) return;
    if (error === undefined) done.resolve();
    else done.reject(error);
  }

  /**
   * @internal asyncio's `_run_once`: purge cancelled timers when they
   * dominate, poll the backend, queue due timers, then run the handles that
   * were ready when this began. The only place callbacks run. Returns
   * false when the rest of the iteration runs from a microtask (`_runReady`).
   */
  _runOnce(): boolean {
    const heap = this._scheduled;
    if (heap.length > MIN_SCHEDULED_TIMER_HANDLES && this._timerCancelledCount / heap.length > MIN_CANCELLED_TIMER_HANDLES_FRACTION) {
      const live: TimerHandle[] = [];
      for (const timer of heap.items) {
        if (timer._callback === null) timer._scheduled = false;
        else live.push(timer);
      }
      heap.replace(live);
      this._timerCancelledCount = 0;
    } else {
      this._nextTimerWhen();
    }

    const observer = this._iterationObserver;
    const started = observer === null ? 0 : performance.now();
    this._pollBackend();
    const polled = observer === null ? 0 : performance.now();

    this.#moveDueTimers(heap, this.time());

    const ready = this._ready;
    const count = ready.length;
    if (this._readyRandom !== null && count > 1) this.#shuffleReady(count);
    let ran = 0;
    if (this._debug) {
      for (let i = 0; i < count; i++) {
        const entry = ready.shift();
        if (entry === null || (typeof entry !== 'function' && entry._callback === null)) continue;
        const start = this.time();
        ran++;
        if (typeof entry === 'function') {
          // Queued before debug mode was turned on.
          try {
            entry();
          } catch (error) {
            reportCallbackError(entry, error, this);
          }
        } else {
          entry._run();
        }
        const elapsed = this.time() - start;
        if (elapsed >= this.slowCallbackDuration) logger.warning(`Executing ${describeEntry(entry)} took ${elapsed.toFixed(3)} seconds`);
      }
    } else {
      this._iterationStarted = started;
      this._iterationPolled = polled;
      return this._runReady(count, 0);
    }
    if (observer !== null && observer === this._iterationObserver) this.#reportIteration(observer, started, polled, ran);
    return true;
  }

  /**
   * The timers due by `now`, from the heap to the ready queue. A function
   * of its own: V8 compiles the function whose loop runs long while inside
   * that loop (on-stack replacement), and the property reads that follow a
   * loop's exit can have no type feedback then. On Node 24, with this loop
   * inside `_runOnce`, that code deoptimized at the loop's exit once per
   * wake-up after the benchmark's forced GCs (845 times in 8 runs of 100k
   * timers: docs/benchmarks.md, "The forced GC's cost").
   */
  #moveDueTimers(heap: TimerHeap, now: number): void {
    const ready = this._ready;
    for (;;) {
      const head = heap.peek();
      if (head === undefined || head._when > now) return;
      heap.pop();
      head._scheduled = false;
      if (head._callback === null) this._timerCancelledCount--;
      else ready.push(head);
    }
  }

  /**
   * @internal Run the next `count` ready handles, the rest of this
   * iteration (`ran` have run so far). After a run of handles that resume
   * async-function tasks from `sleep(0)`, at most MAX_RESUMES_IN_A_ROW
   * long, the iteration pauses for one microtask, so the Promise jobs those
   * resumes queued run first: each resumed task goes on to its next await
   * before the handles queued after its resume run, as asyncio runs a
   * task's step in its place. Returns false when the rest runs from that
   * microtask; only handles ready when the iteration began run in it.
   */
  _runReady(count: number, ran: number): boolean {
    const ready = this._ready;
    // The observer is read before the loop, not after it: V8 compiles this
    // function while inside the loop (on-stack replacement), and a property
    // read made only at the loop's exit could have no type feedback then;
    // after the benchmark's forced GCs that code deoptimized at every exit,
    // once per wake-up (docs/benchmarks.md, the timer rows). An observer set
    // or replaced during the iteration sees the next one, whose times it measures.
    const observer = this._iterationObserver;
    let resumes = 0;
    while (count > 0) {
      const entry = ready.shift();
      count--;
      if (typeof entry === 'function') {
        // callSoon's bare callback (SoonHandle). Written out here and in
        // _runOnce's debug loop rather than shared: a helper for it, and one
        // for callSoon's "plan an iteration if idle" test, made a callSoon
        // chain 2-8% slower in the medians of five alternating rounds
        // (Node 20 and 24, 2026-12-05).
        ran++;
        try {
          entry();
        } catch (error) {
          reportCallbackError(entry, error, this);
        }
        continue;
      }
      if (entry === null) continue;
      const handle = entry;
      if (handle._callback === null) continue;
      ran++;
      handle._run();
      if (handle._callback === resumeSleep && count > 0 && (++resumes === MAX_RESUMES_IN_A_ROW || !isResume(ready.peek()))) {
        this._iterationLeft = count;
        this._iterationRan = ran;
        void RESOLVED.then(this._resumeIterationBound);
        return false;
      }
    }
    if (observer !== null && observer === this._iterationObserver) this.#reportIteration(observer, this._iterationStarted, this._iterationPolled, ran);
    return true;
  }

  #reportIteration(observer: (stats: IterationStats) => void, started: number, polled: number, callbacks: number): void {
    const ended = performance.now();
    const stats: IterationStats = {
      callbacks,
      waitSeconds: this._lastIterationEnd === 0 ? 0 : Math.max(0, started - this._lastIterationEnd) / 1000,
      pollSeconds: (polled - started) / 1000,
      callbackSeconds: (ended - polled) / 1000,
      ready: this._ready.length,
      timers: this._scheduled.length,
    };
    this._lastIterationEnd = ended;
    try {
      observer(stats);
    } catch (error) {
      this.callExceptionHandler({ message: 'Exception in the iteration observer', exception: error });
    }
  }
}

/** Whether a ready entry is a task's `sleep(0)` resume. */
function isResume(entry: ReadyEntry): boolean {
  return entry !== null && typeof entry !== 'function' && entry._callback === resumeSleep;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object' && typeof (value as { toString?: unknown }).toString === 'function') {
    const text = String(value);
    if (text !== '[object Object]') return text;
    try {
      return JSON.stringify(value);
    } catch {
      return text;
    }
  }
  return String(value);
}

export { wrapThenable, isCoroutineSource };

/** An exception context is an object (asyncio's dict): anything else is a TypeError naming it. */
function checkExceptionContext(context: unknown): void {
  if (context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new TypeError(`context must be an object with a message, got ${context === null ? 'null' : Array.isArray(context) ? 'an array' : typeof context}`);
  }
}
