import {
  BrokenPipeError,
  ConnectionResetError,
  type BaseTransport,
  type ReadTransport,
  type SubprocessTransport,
  type Transport,
} from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { Coroutine } from '../futures/coroutine.js';
import type { Future } from '../futures/future.js';
import { DEFAULT_LIMIT, StreamReader, StreamReaderProtocol, StreamWriter } from '../streams/streams.js';
import { gather } from '../futures/combinators.js';
import type { SubprocessOptions } from '../base/subprocess-options.js';
import type { SubprocessTransportImpl } from './subprocess-transport.js';

export interface CreateSubprocessOptions extends SubprocessOptions {
  /** The StreamReader buffer limit for stdout and stderr. */
  limit?: number;
}

/**
 * asyncio's `SubprocessStreamProtocol`: the child's stdout/stderr feed
 * StreamReaders, its stdin is a StreamWriter with drain().
 */
class SubprocessStreamProtocol {
  readonly #loop: BaseEventLoop;
  readonly #limit: number;
  stdin: StreamWriter | null = null;
  stdout: StreamReader | null = null;
  stderr: StreamReader | null = null;
  transport: SubprocessTransport | null = null;
  /** Drain bookkeeping for stdin (pause/resume writing, connection lost). */
  readonly #stdinFlow: StreamReaderProtocol;
  #processExited = false;
  readonly #pipeFds: number[] = [];

  constructor(limit: number, loop: BaseEventLoop) {
    this.#loop = loop;
    this.#limit = limit;
    this.#stdinFlow = new StreamReaderProtocol(null, null, { loop });
  }

  connectionMade(transport: BaseTransport): void {
    const process = transport as SubprocessTransport;
    this.transport = process;
    const stdoutPipe = process.getPipeTransport(1);
    if (stdoutPipe !== null) {
      this.stdout = new StreamReader({ limit: this.#limit, loop: this.#loop });
      this.stdout.setTransport(stdoutPipe as ReadTransport);
      this.#pipeFds.push(1);
    }
    const stderrPipe = process.getPipeTransport(2);
    if (stderrPipe !== null) {
      this.stderr = new StreamReader({ limit: this.#limit, loop: this.#loop });
      this.stderr.setTransport(stderrPipe as ReadTransport);
      this.#pipeFds.push(2);
    }
    const stdinPipe = process.getPipeTransport(0);
    if (stdinPipe !== null) {
      this.#stdinFlow.connectionMade(stdinPipe);
      this.stdin = new StreamWriter(stdinPipe as Transport, this.#stdinFlow, null, this.#loop);
    }
  }

  pauseWriting(): void {
    this.#stdinFlow.pauseWriting();
  }

  resumeWriting(): void {
    this.#stdinFlow.resumeWriting();
  }

  pipeDataReceived(fd: number, data: Uint8Array): void {
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    reader?.feedData(data);
  }

  pipeConnectionLost(fd: number, error: unknown): void {
    if (fd === 0) {
      this.transport?.getPipeTransport(0)?.close();
      this.#stdinFlow.connectionLost(error ?? null);
      return;
    }
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    if (reader !== null) {
      if (error === null || error === undefined) reader.feedEof();
      else reader.setException(error);
    }
    const index = this.#pipeFds.indexOf(fd);
    if (index !== -1) this.#pipeFds.splice(index, 1);
    this.#maybeCloseTransport();
  }

  processExited(): void {
    this.#processExited = true;
    this.#maybeCloseTransport();
  }

  connectionLost(_error: unknown): void {}

  #maybeCloseTransport(): void {
    if (this.#pipeFds.length === 0 && this.#processExited) {
      this.transport?.close();
      this.transport = null;
    }
  }
}

/** asyncio's `asyncio.subprocess.Process`. */
export class Process {
  readonly #transport: SubprocessTransportImpl;
  readonly #protocol: SubprocessStreamProtocol;
  readonly #loop: BaseEventLoop;
  readonly stdin: StreamWriter | null;
  readonly stdout: StreamReader | null;
  readonly stderr: StreamReader | null;
  readonly pid: number;

  /** @internal */
  constructor(transport: SubprocessTransportImpl, protocol: SubprocessStreamProtocol, loop: BaseEventLoop) {
    this.#transport = transport;
    this.#protocol = protocol;
    this.#loop = loop;
    this.stdin = protocol.stdin;
    this.stdout = protocol.stdout;
    this.stderr = protocol.stderr;
    this.pid = transport.getPid();
  }

  /** The exit status: null while running, negative `-N` if killed by signal N. */
  get returncode(): number | null {
    return this.#transport.getReturncode();
  }

  /** Wait for the child to exit; resolves with its return code (does not wait for pipes). */
  wait(): Coroutine<number> {
    return new Coroutine('wait', () => this.#transport._wait());
  }

  sendSignal(signal: NodeJS.Signals | number): void {
    this.#transport.sendSignal(signal);
  }

  terminate(): void {
    this.#transport.terminate();
  }

  kill(): void {
    this.#transport.kill();
  }

  /**
   * Send `input` to stdin (then close it), read stdout and stderr to EOF,
   * and wait for the child: `[stdout, stderr]` (null where not a PIPE). A
   * child that exits without reading its input is not an error.
   */
  communicate(input?: Uint8Array | null): Coroutine<[Buffer | null, Buffer | null]> {
    return new Coroutine('communicate', (loop) =>
      loop.createTask(this.#communicate(input ?? null), { name: `communicate ${this.pid}` }) as Future<[Buffer | null, Buffer | null]>,
    );
  }

  *#communicate(input: Uint8Array | null): Generator<unknown, [Buffer | null, Buffer | null], unknown> {
    const feed = this.stdin === null ? null : this.#feedStdin(input);
    const stdout = this.stdout === null ? null : this.stdout.read();
    const stderr = this.stderr === null ? null : this.stderr.read();
    const parts = [feed, stdout, stderr].filter((part) => part !== null);
    const results = (yield* gather(...(parts as Array<Coroutine<unknown>>))) as unknown[];
    yield* this.wait();
    let index = feed === null ? 0 : 1;
    const out = stdout === null ? null : (results[index++] as Buffer);
    const err = stderr === null ? null : (results[index++] as Buffer);
    return [out, err];
  }

  #feedStdin(input: Uint8Array | null): Coroutine<void> {
    const stdin = this.stdin!;
    return new Coroutine('feedStdin', (loop) =>
      loop.createTask(function* feed(): Generator<unknown, void, unknown> {
        try {
          if (input !== null && input.length > 0) {
            stdin.write(input);
            yield* stdin.drain();
          }
        } catch (error) {
          // The child exited or closed stdin without reading everything.
          if (!BrokenPipeError.isInstance(error) && !ConnectionResetError.isInstance(error)) throw error;
        }
        stdin.close();
      }) as Future<void>,
    );
  }

  toString(): string {
    return `<Process ${this.pid}>`;
  }
}

function splitArgs(rest: Array<string | CreateSubprocessOptions>): [string[], CreateSubprocessOptions] {
  const last = rest[rest.length - 1];
  if (last !== undefined && typeof last === 'object' && last !== null && !Array.isArray(last)) {
    return [rest.slice(0, -1) as string[], last];
  }
  return [rest as string[], {}];
}

function create(program: string, args: string[], options: CreateSubprocessOptions, shell: boolean): Coroutine<Process> {
  const { limit = DEFAULT_LIMIT, ...rest } = options;
  if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`limit must be a positive integer, got ${String(limit)}`);
  return new Coroutine(shell ? 'createSubprocessShell' : 'createSubprocessExec', (loop) => {
    const factory = () => new SubprocessStreamProtocol(limit, loop);
    return loop.createTask(function* made(): Generator<unknown, Process, unknown> {
      // Started inside this task, so cancelling it reaches the spawn and kills the child.
      const started = shell
        ? loop.subprocessShell(factory, program, { ...rest })
        : loop.subprocessExec(factory, program, args, { ...rest, stdin: rest.stdin ?? null, stdout: rest.stdout ?? null, stderr: rest.stderr ?? null });
      const [transport, protocol] = yield* started;
      return new Process(transport as SubprocessTransportImpl, protocol as SubprocessStreamProtocol, loop);
    });
  });
}

/**
 * asyncio's `create_subprocess_exec`: `createSubprocessExec(program, ...args, options?)`.
 * stdin/stdout/stderr default to inheriting this process's; pass PIPE for streams.
 */
export function createSubprocessExec(program: string, ...rest: Array<string | CreateSubprocessOptions>): Coroutine<Process> {
  if (typeof program !== 'string') throw new TypeError('program must be a string');
  const [args, options] = splitArgs(rest);
  if (args.some((arg) => typeof arg !== 'string')) throw new TypeError('args must be strings');
  return create(program, args, options, false);
}

/** asyncio's `create_subprocess_shell`: run `command` with `/bin/sh -c`. */
export function createSubprocessShell(command: string, options: CreateSubprocessOptions = {}): Coroutine<Process> {
  if (typeof command !== 'string') throw new TypeError('command must be a string');
  return create(command, [], { ...options, stdin: options.stdin ?? null, stdout: options.stdout ?? null, stderr: options.stderr ?? null }, true);
}

