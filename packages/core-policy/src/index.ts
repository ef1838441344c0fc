/**
 * @evloop/core-policy: asyncio's event loop in TypeScript.
 *
 * src/ is laid out in layers, lowest first. A file may import from its own
 * folder and from folders earlier in this list, never from a later one
 * (test/layers.test.ts checks every import). The one exception: any layer
 * may name the loop class in a type-only import (`import type {
 * BaseEventLoop }`), since every layer talks to the loop it is given, as
 * every asyncio module refers to the loop base_events defines; types are
 * erased, so that adds no load-time dependency.
 *
 *   1. loop/        thread state, the running loop and policy registry,
 *                   handles, timer heap, ready queue, signal handlers,
 *                   executor, logger, backend discovery
 *   2. futures/     Future, Task, coroutine objects, combinators (gather, ...)
 *   3. net/         addresses, the @evloop/sys socket module, protocols,
 *                   loop-free socket helpers
 *   4. tls/         SSLContext, SSLProtocol, SSLTransport, TLS option rules
 *                   (typed on the transport interfaces, not on a family)
 *   5. base/        BaseEventLoop: the loop core and every high-level method
 *                   (connections, servers, datagrams, startTls, names, pipes,
 *                   subprocesses), reaching the family through hooks; Server
 *   6. streams/     StreamReader/StreamWriter, openConnection, startServer
 *   7. subprocess/  the subprocess transport (child_process + the loop's pipe
 *                   hooks), Process, createSubprocessExec/Shell
 *   8. selector/    SelectorEventLoop: the hooks on a readiness backend,
 *                   selector transports, pipe transports, sock* on readiness
 *   9. proactor/    ProactorEventLoop: the hooks on a completion backend
 *  10. policy/      the policies, loopForBackend (descriptor -> loop), run()
 *
 * This file (the package entry) sits above all of them.
 */
export {
  CancelledError,
  InvalidStateError,
  TimeoutError,
  RuntimeError,
  NotImplementedError,
  SendfileNotAvailableError,
  IncompleteReadError,
  LimitOverrunError,
  OSError,
  BlockingIOError,
  ChildProcessError,
  ConnectionError,
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionRefusedError,
  ConnectionResetError,
  FileExistsError,
  FileNotFoundError,
  InterruptedError,
  IsADirectoryError,
  NotADirectoryError,
  PermissionError,
  ProcessLookupError,
  TimeoutOSError,
  KeyError,
  ExecutorFunctionError,
  SSLError,
  SSLCertVerificationError,
  rethrowIfCancelled,
  EVENT_READ,
  EVENT_WRITE,
  EVENT_PRIORITY,
} from '@evloop/interface';
// The contracts a program names in its own code: one import from this package is enough.
export type {
  AbstractEventLoop,
  AbstractEventLoopPolicy,
  AbstractServer,
  Address,
  AddrInfo,
  Awaitable,
  AwaitableLike,
  BackendDescriptor,
  BaseTransport,
  CoroutineSource,
  SendfileSource,
  DatagramTransport,
  ExceptionContext,
  ExceptionHandler,
  Executor,
  ExecutorFunction,
  FutureLike,
  GeneratorCoroutine,
  HandleLike,
  InetAddress,
  IPv4Address,
  IPv6Address,
  ReadTransport,
  ServerSocket,
  SubprocessTransport,
  TaskLike,
  TimerHandleLike,
  Transport,
  TransportExtraInfo,
  TransportSocket,
  UnixAddress,
  WriteTransport,
} from '@evloop/interface';
export { BaseEventLoop, type LoopClock, type IterationStats } from './base/base-event-loop.js';
export { SelectorEventLoop } from './selector/selector-event-loop.js';
export { MemorySelector, MemoryFile, memoryPipe, memorySocketPair, MEMORY_FD_BASE, MEMORY_CAPACITY } from './selector/memory-selector.js';
export { ProactorEventLoop } from './proactor/proactor-event-loop.js';
export { Handle, TimerHandle } from './loop/handles.js';
export { Future, isFuture } from './futures/future.js';
export { Coroutine, isCoroutineObject } from './futures/coroutine.js';
export { Task, currentTask, allTasks, isGenerator } from './futures/task.js';
export type { TaskOptions } from './futures/task.js';
export { TaskGroup, taskGroup, type TaskGroupBody } from './futures/task-group.js';
export { Timeout, timeout, timeoutAt, type TimeoutBody } from './futures/timeouts.js';
export { ExceptionGroup } from './futures/exception-group.js';
export { ScopedCoroutine } from './futures/scope.js';
export { eagerTaskFactory, createEagerTaskFactory, type TaskFactory } from './futures/eager.js';
export { cancelOnAbort } from './futures/abort.js';
export { taskTree, formatTaskTree, enableTaskDump, taskDumpPath, type TaskNode } from './futures/task-tree.js';
export { DuplexProtocol, DuplexTransport, transportToDuplex, connectDuplex } from './net/node-streams.js';
export {
  createTask,
  ensureFuture,
  sleep,
  gather,
  waitFor,
  wait,
  shield,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  ALL_COMPLETED,
  type ReturnWhen,
  type GatherOptions,
  type GatherResults,
  type ResultOf,
} from './futures/combinators.js';
export { BaseDefaultEventLoopPolicy, DefaultEventLoopPolicy, type DefaultEventLoopPolicyOptions } from './policy/policies.js';
export {
  getEventLoopPolicy,
  setEventLoopPolicy,
  getEventLoop,
  setEventLoop,
  newEventLoop,
  getRunningLoop,
  type EventLoopPolicy,
} from './loop/running-loop.js';
export { run, type RunOptions } from './policy/run.js';
export { loopForBackend } from './policy/loop-for-backend.js';
export { listBackends, resolveBackend, BACKEND_PREFERENCE, type BackendReport } from './loop/discovery.js';
export { BaseProtocol, Protocol, BufferedProtocol, DatagramProtocol, SubprocessProtocol } from './net/protocols.js';
export { CONSUMES_RECEIVED_DATA } from './tls/raw-transport.js';
export { logger, setLogger, consoleLogger, type Logger } from './loop/logger.js';
export { ThreadPoolExecutor } from './loop/executor.js';
export { PIPE, STDOUT, DEVNULL, type SubprocessOptions, type StdioOption } from './base/subprocess-options.js';
export { Process, createSubprocessExec, createSubprocessShell, type CreateSubprocessOptions, type PipedStream, type ProcessWithPipes } from './subprocess/process.js';
export { UnixReadPipeTransport, UnixWritePipeTransport, type PipeLike } from './selector/unix-pipe-transports.js';
export {
  StreamReader,
  StreamReaderProtocol,
  StreamWriter,
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  type ClientConnectedCallback,
  type OpenConnectionOptions,
  type OpenUnixConnectionOptions,
  type StartServerOptions,
  type StartUnixServerOptions,
  type Separator,
  type StreamReaderOptions,
} from './streams/streams.js';
export { Server } from './base/server.js';
export { SSLContext, createDefaultContext, CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED, type VerifyMode, type SSLContextPurpose, type TLSVersion } from './tls/ssl-context.js';
export { SSLTransport } from './tls/ssl-transport.js';
export { SSLProtocol, SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT } from './tls/ssl-protocol.js';
export { NativeSSLProtocol, NativeSslObject } from './tls/native-ssl-protocol.js';
export { setTlsEngine, tlsEngine, type TlsEngineChoice, type TlsEngineStatus } from './tls/native-tls.js';
export type { SSLOption, StartTlsOptions } from './tls/ssl-connection.js';
export { SelectorSocketTransport, SelectorDatagramTransport, MAX_READ_SIZE, LOG_THRESHOLD_FOR_CONNLOST_WRITES } from './selector/selector-transports.js';
export { ACCEPT_RETRY_DELAY } from './selector/selector-sockets.js';
export type { CreateConnectionOptions, CreateUnixConnectionOptions, CreateServerOptions, CreateUnixServerOptions, CreateDatagramEndpointOptions } from './base/network.js';
export { AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV, NI_NUMERICHOST, NI_NUMERICSERV, type AddrInfoOptions } from './net/addresses.js';
export { setSysModule, type SocketLike, type SocketAddress, type SysModule } from './net/socket-module.js';
