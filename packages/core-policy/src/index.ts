export {
  CancelledError,
  InvalidStateError,
  TimeoutError,
  RuntimeError,
  NotImplementedError,
  IncompleteReadError,
  LimitOverrunError,
  OSError,
  KeyError,
  ExecutorFunctionError,
  SSLError,
  SSLCertVerificationError,
  EVENT_READ,
  EVENT_WRITE,
} from '@evloop/interface';
export { BaseEventLoop } from './base-event-loop.js';
export { SelectorEventLoop } from './selector-event-loop.js';
export { Handle, TimerHandle } from './handles.js';
export { Future, isFuture } from './future.js';
export { Coroutine, isCoroutineObject } from './coroutine.js';
export { Task, currentTask, allTasks, isGenerator } from './task.js';
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
} from './tasks.js';
export { BaseDefaultEventLoopPolicy, DefaultEventLoopPolicy, type DefaultEventLoopPolicyOptions } from './events.js';
export {
  getEventLoopPolicy,
  setEventLoopPolicy,
  getEventLoop,
  setEventLoop,
  newEventLoop,
  getRunningLoop,
} from './running.js';
export { run, type RunOptions } from './run.js';
export { listBackends, resolveBackend, BACKEND_PREFERENCE, type BackendReport } from './discovery.js';
export { BaseProtocol, Protocol, BufferedProtocol, DatagramProtocol, SubprocessProtocol } from './protocols.js';
export { logger, setLogger, consoleLogger, type Logger } from './logger.js';
export { ThreadPoolExecutor } from './executor.js';
export { PIPE, STDOUT, DEVNULL, type SubprocessOptions, type StdioOption } from './subprocess.js';
export { Process, createSubprocessExec, createSubprocessShell, type CreateSubprocessOptions } from './subprocess-streams.js';
export { UnixReadPipeTransport, UnixWritePipeTransport, type PipeLike } from './unix-pipe-transports.js';
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
} from './streams.js';
export { Server } from './server.js';
export { SSLContext, createDefaultContext, CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED, type VerifyMode, type SSLContextPurpose, type TLSVersion } from './ssl-context.js';
export { SSLTransport } from './ssl-transport.js';
export { SSLProtocol, SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT } from './ssl-protocol.js';
export type { SSLOption, StartTlsOptions } from './ssl-connection.js';
export { SelectorSocketTransport, SelectorDatagramTransport, MAX_READ_SIZE, LOG_THRESHOLD_FOR_CONNLOST_WRITES } from './selector-transports.js';
export { ACCEPT_RETRY_DELAY, type CreateConnectionOptions, type CreateUnixConnectionOptions, type CreateServerOptions, type CreateUnixServerOptions, type CreateDatagramEndpointOptions } from './selector-network.js';
export { AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV, NI_NUMERICHOST, NI_NUMERICSERV, type AddrInfoOptions } from './addresses.js';
export { setSysModule, type SocketLike, type SocketAddress, type SysModule } from './socket-module.js';
