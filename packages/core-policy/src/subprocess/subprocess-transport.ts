import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import {
  CancelledError,
  ProcessLookupError,
  errnoNumber,
  fileobjToFd,
  osErrorFromErrno,
  toOSError,
  type BaseTransport,
  type SubprocessProtocol as SubprocessProtocolContract,
  type SubprocessTransport,
  type ReadTransport,
  type WriteTransport,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import { sysModule } from '../net/socket-module.js';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { DEVNULL, PIPE, STDOUT, type SubprocessOptions } from '../base/subprocess-options.js';

interface FdFunctions {
  pipe(options?: { blocking?: boolean }): [number, number];
  close(fd: number): void;
  /** Windows only: the server end of a new named pipe, and its name. */
  createPipeServer?(access: 'read' | 'write' | 'duplex'): { handle: number; name: string };
  connectPipeServer?(handle: number): void;
}

const isWindows = process.platform === 'win32';

/**
 * A child's stdio pipe on Windows (asyncio's windows_utils.pipe + Popen):
 * the parent end is a named pipe server HANDLE opened for overlapped I/O,
 * which the IOCP proactor reads or writes; the child end is the client,
 * opened by name with `fs.openSync`, a CRT fd of Node's own runtime that
 * `child_process.spawn` takes (a raw HANDLE it would not).
 */
function windowsChildPipe(childReads: boolean): [parentEnd: number, childEnd: number] {
  const sys = fdFunctions();
  if (sys.createPipeServer === undefined || sys.connectPipeServer === undefined) {
    throw new RangeError('subprocess pipes on Windows need @evloop/sys with named pipes (createPipeServer)');
  }
  // The child's stdin is duplex, as asyncio's Popen makes it: the parent's
  // write transport keeps a read in flight on it, which completes when the
  // child closes its end (IOCP has no readiness poll to notice that).
  const server = sys.createPipeServer(childReads ? 'duplex' : 'read');
  let childEnd = -1;
  try {
    childEnd = fs.openSync(server.name, childReads ? fs.constants.O_RDONLY : fs.constants.O_WRONLY);
    sys.connectPipeServer(server.handle);
  } catch (error) {
    if (childEnd !== -1) fs.closeSync(childEnd);
    sys.close(server.handle);
    throw toOSError(error);
  }
  return [server.handle, childEnd];
}

/** The signals a child can be sent on Windows, where both end it with TerminateProcess. */
const WINDOWS_SIGNALS = new Set<NodeJS.Signals | number>(['SIGTERM', 'SIGKILL', osConstants.signals.SIGTERM, osConstants.signals.SIGKILL]);
/** The exit code of a child ended by TerminateProcess (libuv passes 1, as asyncio's terminate() does). */
const WINDOWS_TERMINATED_CODE = 1;

function fdFunctions(): FdFunctions {
  return sysModule() as unknown as FdFunctions;
}

/**
 * What spawning threw or emitted, as an OSError. Node's spawn errors carry
 * libuv's errno (on Windows not the platform's numbers: ENOENT is -4058), so
 * the code decides.
 */
function spawnError(error: unknown): unknown {
  const record = error as { code?: unknown; syscall?: unknown } | null;
  if (record !== null && typeof record === 'object' && typeof record.code === 'string') {
    const errno = errnoNumber(record.code);
    if (errno !== undefined) return osErrorFromErrno(errno, typeof record.syscall === 'string' ? record.syscall : 'spawn');
  }
  return toOSError(error);
}

function signalNumber(signal: string | null): number {
  if (signal === null) return 0;
  return (osConstants.signals as Record<string, number>)[signal] ?? 0;
}

/** The internal protocol of one pipe of the child (asyncio's WriteSubprocessPipeProto / ReadSubprocessPipeProto). */
class SubprocessPipeProtocol {
  readonly #process: SubprocessTransportImpl;
  readonly #fd: number;
  pipe: BaseTransport | null = null;
  disconnected = false;

  constructor(process: SubprocessTransportImpl, fd: number) {
    this.#process = process;
    this.#fd = fd;
  }

  connectionMade(transport: BaseTransport): void {
    this.pipe = transport;
  }

  connectionLost(error: unknown): void {
    this.disconnected = true;
    this.#process._pipeConnectionLost(this.#fd, error);
  }

  pauseWriting(): void {
    this.#process._protocol.pauseWriting?.();
  }

  resumeWriting(): void {
    this.#process._protocol.resumeWriting?.();
  }

  dataReceived(data: Buffer): void {
    this.#process._pipeDataReceived(this.#fd, data);
  }
}

/**
 * asyncio's `_UnixSubprocessTransport`. The child is spawned by Node's
 * `child_process` with its stdio bound to pipe fds the loop owns; Node reaps
 * it (never a zombie) and reports its exit, which does not wait for the
 * pipes: `wait()` returns when the child exits even if a grandchild still
 * holds a pipe open.
 */
export class SubprocessTransportImpl implements SubprocessTransport {
  /** @internal */ readonly _loop: BaseEventLoop;
  /** @internal */ _protocol: SubprocessProtocolContract;
  /** @internal */ _child: ChildProcess | null = null;
  /** @internal */ _pid = -1;
  /** @internal */ _returncode: number | null = null;
  /** @internal */ _closed = false;
  /** @internal */ _finished = false;
  /** @internal */ readonly _pipes = new Map<number, SubprocessPipeProtocol | null>();
  /** @internal Calls made before the protocol saw connectionMade (asyncio's _pending_calls). */
  /** @internal */ _pending: Array<() => void> | null = [];
  /** @internal */ readonly _exitWaiters: Array<Future<number>> = [];
  /** @internal */ readonly _parentEnds = new Map<number, number>();
  #extra: Record<string, unknown>;

  constructor(loop: BaseEventLoop, protocol: SubprocessProtocolContract, extra: Record<string, unknown> = {}) {
    this._loop = loop;
    this._protocol = protocol;
    this.#extra = extra;
  }

  /** @internal Spawn the child; throws (synchronously) what spawning throws, as an OSError. */
  _spawn(file: string, args: string[], options: SubprocessOptions): Promise<void> {
    const stdio: Array<number | 'ignore' | 'inherit'> = [];
    const childEnds: number[] = [];
    const streams = [options.stdin, options.stdout, options.stderr];
    try {
      for (let fd = 0; fd < 3; fd++) {
        const wanted = streams[fd];
        if (wanted === undefined || wanted === null) {
          stdio.push('inherit');
        } else if (wanted === PIPE) {
          let parentEnd: number;
          let childEnd: number;
          if (isWindows) {
            [parentEnd, childEnd] = windowsChildPipe(fd === 0);
          } else {
            const [readEnd, writeEnd] = fdFunctions().pipe({ blocking: true });
            [parentEnd, childEnd] = fd === 0 ? [writeEnd, readEnd] : [readEnd, writeEnd];
          }
          this._parentEnds.set(fd, parentEnd);
          childEnds.push(childEnd);
          stdio.push(childEnd);
          this._pipes.set(fd, null);
        } else if (wanted === STDOUT) {
          if (fd !== 2) throw new RangeError('STDOUT can only be used for stderr');
          stdio.push(stdio[1] === 'inherit' ? 1 : (stdio[1] as number | 'ignore'));
        } else if (wanted === DEVNULL) {
          stdio.push('ignore');
        } else if (typeof wanted === 'number' && wanted < 0) {
          throw new RangeError(`invalid ${['stdin', 'stdout', 'stderr'][fd]} value ${wanted}`);
        } else {
          stdio.push(fileobjToFd(wanted));
        }
      }
    } catch (error) {
      this._closeChildEnds(childEnds);
      this._closeFds([...this._parentEnds.values()]);
      this._parentEnds.clear();
      throw error;
    }
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        stdio,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.argv0 === undefined ? {} : { argv0: options.argv0 }),
        ...(options.uid === undefined ? {} : { uid: options.uid }),
        ...(options.gid === undefined ? {} : { gid: options.gid }),
        detached: Boolean(options.startNewSession),
        windowsHide: true,
      });
    } catch (error) {
      this._closeChildEnds(childEnds);
      this._closeFds([...this._parentEnds.values()]);
      this._parentEnds.clear();
      throw spawnError(error);
    } finally {
      // The child has its copies now (or never will).
    }
    this._closeChildEnds(childEnds);
    this._child = child;
    return new Promise<void>((resolve, reject) => {
      if (child.pid !== undefined) {
        this._pid = child.pid;
        child.once('exit', (code, signal) => this._processExited(code ?? (isWindows ? WINDOWS_TERMINATED_CODE : -signalNumber(signal))));
        child.on('error', (error) => logger.error(`child process ${this._pid}: ${String(error)}`));
        resolve();
        return;
      }
      child.once('error', (error) => {
        this._child = null;
        this._closeFds([...this._parentEnds.values()]);
        this._parentEnds.clear();
        const typed = spawnError(error);
        reject(typed);
      });
    });
  }

  /** @internal The child ends are CRT fds of Node's runtime on Windows (fs.openSync), fds from @evloop/sys elsewhere. */
  _closeChildEnds(fds: number[]): void {
    if (!isWindows) {
      this._closeFds(fds);
      return;
    }
    for (const fd of fds) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  /** @internal */
  _closeFds(fds: number[]): void {
    for (const fd of fds) {
      try {
        fdFunctions().close(fd);
      } catch {
        // already closed
      }
    }
  }

  /** @internal Connect the parent ends of the pipes to pipe transports, then tell the protocol. */
  *_connectPipes(): Generator<unknown, void, unknown> {
    const loop = this._loop;
    const waiters: Array<Future<void>> = [];
    for (const [fd, parentEnd] of this._parentEnds) {
      const protocol = new SubprocessPipeProtocol(this, fd);
      const waiter = loop.createFuture<void>();
      if (fd === 0) loop._makeWritePipeTransport(parentEnd, protocol, waiter);
      else loop._makeReadPipeTransport(parentEnd, protocol, waiter);
      this._pipes.set(fd, protocol);
      waiters.push(waiter);
    }
    this._parentEnds.clear();
    for (const waiter of waiters) yield* waiter;
    loop.callSoon(() => {
      try {
        this._protocol.connectionMade?.(this);
      } catch (error) {
        loop.callExceptionHandler({ message: 'protocol.connectionMade() failed', exception: error, transport: this });
      }
    });
    const pending = this._pending ?? [];
    this._pending = null;
    for (const call of pending) loop.callSoon(call);
  }

  /** @internal */
  _schedule(call: () => void): void {
    if (this._pending !== null) this._pending.push(call);
    else this._loop.callSoon(call);
  }

  /** @internal */
  _pipeDataReceived(fd: number, data: Buffer): void {
    this._schedule(() => this._protocol.pipeDataReceived?.(fd, data));
  }

  /** @internal */
  _pipeConnectionLost(fd: number, error: unknown): void {
    this._schedule(() => {
      this._protocol.pipeConnectionLost?.(fd, error);
      this._tryFinish();
    });
  }

  /** @internal */
  _processExited(returncode: number): void {
    if (this._returncode !== null) return;
    if (this._loop.isClosed()) {
      this._returncode = returncode;
      return;
    }
    if (this._loop.getDebug()) logger.info(`${this.toString()} exited with return code ${returncode}`);
    this._returncode = returncode;
    this._schedule(() => this._protocol.processExited?.());
    this._schedule(() => this._tryFinish());
    for (const waiter of this._exitWaiters.splice(0)) {
      if (!waiter.done()) waiter.setResult(returncode);
    }
  }

  /** @internal Resolves with the return code once the child has exited. */
  _wait(): Future<number> {
    const waiter = this._loop.createFuture<number>();
    if (this._returncode !== null) waiter.setResult(this._returncode);
    else this._exitWaiters.push(waiter);
    return waiter;
  }

  /** @internal connectionLost once the child exited and every pipe is closed. */
  _tryFinish(): void {
    if (this._finished || this._returncode === null) return;
    for (const pipe of this._pipes.values()) if (pipe !== null && !pipe.disconnected) return;
    this._finished = true;
    this._loop.callSoon(() => {
      try {
        this._protocol.connectionLost?.(null);
      } finally {
        this._child = null;
      }
    });
  }

  getPid(): number {
    return this._pid;
  }

  getReturncode(): number | null {
    return this._returncode;
  }

  getPipeTransport(fd: 0): WriteTransport | null;
  getPipeTransport(fd: 1 | 2): ReadTransport | null;
  getPipeTransport(fd: number): BaseTransport | null;
  getPipeTransport(fd: number): BaseTransport | null {
    return this._pipes.get(fd)?.pipe ?? null;
  }

  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return name in this.#extra ? this.#extra[name] : defaultValue;
  }

  setProtocol(protocol: SubprocessProtocolContract): void {
    this._protocol = protocol;
  }

  getProtocol(): SubprocessProtocolContract {
    return this._protocol;
  }

  isClosing(): boolean {
    return this._closed;
  }

  /** @internal */
  _checkProcess(): ChildProcess {
    if (this._closed || this._child === null) throw new ProcessLookupError(errnoNumber('ESRCH') ?? 3, 'kill', 'the process transport is closed', 'ESRCH');
    return this._child;
  }

  /**
   * Send a signal (a name or a number) to the child. Does nothing once it has
   * exited. On Windows only SIGTERM and SIGKILL exist, both TerminateProcess
   * (asyncio's Windows send_signal also takes CTRL_C_EVENT and
   * CTRL_BREAK_EVENT, which Node cannot send): anything else is a RangeError.
   */
  sendSignal(signal: NodeJS.Signals | number): void {
    const child = this._checkProcess();
    if (isWindows && !WINDOWS_SIGNALS.has(signal)) {
      throw new RangeError(`Unsupported signal on Windows: ${String(signal)} (only SIGTERM and SIGKILL, which both end the child with TerminateProcess)`);
    }
    if (this._returncode !== null) return;
    if (isWindows) {
      child.kill(signal);
      return;
    }
    try {
      process.kill(child.pid!, signal);
    } catch (error) {
      const typed = toOSError(error);
      if ((typed as { code?: string }).code === 'ESRCH') return;
      throw typed;
    }
  }

  terminate(): void {
    this.sendSignal('SIGTERM');
  }

  kill(): void {
    this.sendSignal('SIGKILL');
  }

  /** Close the pipes; a child still running is killed (as asyncio does). */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    for (const pipe of this._pipes.values()) pipe?.pipe?.close();
    this._closeFds([...this._parentEnds.values()]);
    this._parentEnds.clear();
    const child = this._child;
    if (child !== null && this._returncode === null && child.exitCode === null && child.signalCode === null) {
      if (this._loop.getDebug()) logger.warning(`Close running child process: kill ${this.toString()}`);
      try {
        child.kill('SIGKILL');
      } catch {
        // it exited meanwhile
      }
    }
  }

  toString(): string {
    const state = this._closed ? 'closed' : this._returncode !== null ? `returncode=${this._returncode}` : 'running';
    return `<SubprocessTransport pid=${this._pid} ${state}>`;
  }
}

/**
 * Spawn `file` with `args` (options already checked) and connect its pipes
 * through the loop's pipe hooks: what a family's `_makeSubprocessTransport`
 * does on POSIX. The future resolves once the pipes are connected; if it
 * is cancelled before, the child is killed and waited for, so nothing is
 * left behind.
 */
export function startSubprocessTransport(
  loop: BaseEventLoop,
  protocol: SubprocessProtocolContract,
  file: string,
  args: string[],
  options: SubprocessOptions,
): Future<SubprocessTransport> {
  return loop.createTask(function* start(): Generator<unknown, SubprocessTransport, unknown> {
    const transport = new SubprocessTransportImpl(loop, protocol);
    try {
      yield transport._spawn(file, args, options);
      yield* transport._connectPipes();
    } catch (error) {
      transport.close();
      if (transport._child !== null && transport._returncode === null) {
        // Wait for the kill to land, even if we are being cancelled.
        try {
          yield* transport._wait();
        } catch (waitError) {
          if (!CancelledError.isInstance(waitError)) throw waitError;
        }
      }
      throw error;
    }
    return transport;
  }, { name: `subprocess ${file}` });
}
