import fs from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BackendDescriptor, BaseSelector, ExceptionContext } from '@evloop/interface';
import { describe } from 'vitest';
import { CONSUMES_RECEIVED_DATA, SelectorEventLoop, loopForBackend, setLogger, waitFor, type BaseEventLoop, type Future, type Server } from '@evloop/core-policy';
import type { BaseTransport, Transport } from '@evloop/interface';
import * as sys from '@evloop/sys';

/**
 * Where a suite gets its loops. Give the backend's descriptor and the loop
 * is the one its kind calls for (`loopForBackend`: a selector loop, or a
 * proactor loop), so every suite runs on either family; `createSelector`
 * alone is the shorthand for a selector backend.
 */
export interface LoopSource {
  /** The backend under test; its `kind` decides the loop class. */
  backend?: BackendDescriptor;
  /** Selector backends only: loops are `new SelectorEventLoop(createSelector())`. */
  createSelector?: () => BaseSelector;
}

export interface LoopFamily {
  kind: 'selector' | 'proactor';
  /** A new loop on the backend under test. */
  create(): BaseEventLoop;
}

/**
 * `describe` for tests that only make sense on one family (fd watching on a
 * selector loop); on the other family the block is skipped with the reason
 * in its title.
 */
export function describeFor(family: LoopFamily, kind: LoopFamily['kind'], title: string, why: string, body: () => void): void {
  if (family.kind === kind) describe(title, body);
  else describe.skip(`${title} (skipped on a ${family.kind} loop: ${why})`, body);
}

/** The loop factory and family of a suite's backend. */
export function loopFamily(source: LoopSource): LoopFamily {
  const { backend, createSelector } = source;
  if (backend !== undefined) return { kind: backend.kind, create: () => loopForBackend(backend) };
  if (createSelector !== undefined) return { kind: 'selector', create: () => new SelectorEventLoop(createSelector()) };
  throw new TypeError('a conformance suite needs the backend descriptor (backend) or, for a selector backend, createSelector');
}

/**
 * How many fds this process has open (Linux and macOS have a per-process fd
 * directory); null on Windows, which has none (under Wine /dev/fd is the host's).
 */
export function openFdCount(): number | null {
  if (process.platform === 'win32') return null;
  for (const directory of ['/proc/self/fd', '/dev/fd']) {
    try {
      return fs.readdirSync(directory).length;
    } catch {
      // try the next one
    }
  }
  return null;
}

export interface LoopHarness {
  loop: BaseEventLoop;
  /** Exception-handler calls seen so far; the harness fails the test if any is left unclaimed. */
  errors: ExceptionContext[];
  /** Take the handler calls the test expected, so the final check does not flag them. */
  claimErrors(): ExceptionContext[];
}

/**
 * Run `body` with a fresh loop, then check what every test must leave behind:
 * the loop closed, no fd leaked, and no exception that the test did not
 * expect reached the exception handler.
 */
/** Node handles and requests the loop could leave behind (timers, immediates). */
function loopResources(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout' || name === 'Immediate').length;
}

export async function withLoop(createLoop: () => BaseEventLoop, body: (harness: LoopHarness) => Promise<void> | void): Promise<void> {
  const before = openFdCount();
  const resourcesBefore = loopResources();
  const loop = createLoop();
  const errors: ExceptionContext[] = [];
  loop.setExceptionHandler((_loop, context) => {
    errors.push(context);
  });
  const harness: LoopHarness = {
    loop,
    errors,
    claimErrors: () => errors.splice(0, errors.length),
  };
  try {
    await body(harness);
  } finally {
    if (loop.isRunning()) loop.stop();
    if (!loop.isRunning()) loop.close();
  }
  if (errors.length > 0) {
    const detail = errors.map((context) => `${context.message}: ${String(context.exception)}`).join('\n');
    throw new Error(`unexpected exceptions reached the loop's handler:\n${detail}`);
  }
  // Let timers the test itself set and already cancelled drop out.
  await new Promise((resolve) => setImmediate(resolve));
  const resourcesAfter = loopResources();
  if (resourcesAfter > resourcesBefore) {
    throw new Error(`libuv handle leak: ${resourcesBefore} timers/immediates before the test, ${resourcesAfter} after (${process.getActiveResourcesInfo().join(', ')})`);
  }
  let after = openFdCount();
  // Node closes fds synchronously; Bun closes some of its own (child process
  // pipes, its TLS sockets) a moment later, so a count above the start is
  // taken again a few times before it is called a leak.
  for (let retry = 0; retry < 20 && before !== null && after !== null && after > before; retry++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    after = openFdCount();
  }
  if (before !== null && after !== null && after > before) {
    throw new Error(`fd leak: ${before} fds open before the test, ${after} after`);
  }
}

const localRequire = createRequire(import.meta.url);

/**
 * Run a CommonJS snippet in a fresh Node process that has `core` (the built
 * @evloop/core-policy) and `backendModule` (the built backend package, or
 * the module at an absolute path that exports `backend`) in scope, with the
 * loop forced onto that backend. Returns its exit status,
 * output and how long it took.
 */
export function runChild(
  backendPackage: string,
  backendName: string,
  source: string,
  options: { timeoutMs?: number; env?: Record<string, string>; execArgv?: string[] } = {},
): { status: number | null; signal: string | null; stdout: string; stderr: string; elapsedMs: number } {
  const coreEntry = localRequire.resolve('@evloop/core-policy');
  // A module given by its path is a backend that discovery cannot find (an
  // emulation): the child's default policy makes its loops on that module's
  // backend instead.
  const usePolicy = path.isAbsolute(backendPackage)
    ? 'core.setEventLoopPolicy(new (class extends core.DefaultEventLoopPolicy { get backend() { return backendModule.backend; } })());\n'
    : '';
  const prelude =
    `const core = require(${JSON.stringify(coreEntry)});\n` +
    `const backendModule = require(${JSON.stringify(backendPackage)});\n` +
    usePolicy;
  const started = Date.now();
  const result = spawnSync(process.execPath, [...(options.execArgv ?? []), '-e', prelude + source], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 15_000,
    env: { ...process.env, EVLOOP_BACKEND: backendName, ...options.env },
  });
  return {
    status: result.status,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    elapsedMs: Date.now() - started,
  };
}

/** Capture what evloop logs (the default exception handler, debug warnings) until `restore()`. */
export function collectLogs(): { messages: string[]; restore(): void } {
  const messages: string[] = [];
  const previous = setLogger({
    error: (message) => messages.push(`error: ${message}`),
    warning: (message) => messages.push(`warning: ${message}`),
    info: (message) => messages.push(`info: ${message}`),
    debug: (message) => messages.push(`debug: ${message}`),
  });
  return { messages, restore: () => void setLogger(previous) };
}

/** The port a server bound on loopback (its first socket). */
export function serverPort(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/**
 * A loopback TCP port that refuses connections: a socket bound to it that
 * never listens, held until `close()`. A port closed before the connect can
 * be taken again in between (by a parallel test, or as the connecting
 * socket's own ephemeral port, which connects to itself); a CI run under
 * Wine failed that way.
 */
export function refusingTcpPort(host = '127.0.0.1'): { port: number; close(): void } {
  const holder = new sys.Socket(host.includes(':') ? sys.AF_INET6 : sys.AF_INET, sys.SOCK_STREAM);
  try {
    holder.bind([host, 0]);
    return { port: (holder.getsockname() as [string, number])[1], close: () => holder.close() };
  } catch (error) {
    holder.close();
    throw error;
  }
}

/** What `receivedViewsRun` saw: every chunk copied, the views kept (unmarked only), and how many came where an earlier one had. */
export interface ReceivedViews {
  copies: Buffer[];
  kept: Uint8Array[];
  repeats: number;
}

/**
 * One connection made by `connect` sends `pieces` one at a time to an echo
 * peer and waits for each to come back, with a protocol marked
 * `CONSUMES_RECEIVED_DATA` or not; checks every byte came back in order,
 * closes, and says where the received views were (for the reuse tests).
 */
export async function receivedViewsRun(
  loop: BaseEventLoop,
  connect: (factory: () => object) => PromiseLike<readonly [Transport, unknown]> | Future<readonly [Transport, unknown]>,
  pieces: Buffer[],
  marked: boolean,
): Promise<ReceivedViews> {
  const within = <T,>(future: PromiseLike<T> | Future<T>): Promise<T> => waitFor(future as Future<T>, 5) as unknown as Promise<T>;
  const result: ReceivedViews = { copies: [], kept: [], repeats: 0 };
  const places: { buffer: ArrayBufferLike; offset: number }[] = [];
  let received = 0;
  let want = 0;
  let enough = loop.createFuture<void>();
  const lost = loop.createFuture<unknown>();
  const protocol = {
    [CONSUMES_RECEIVED_DATA]: marked,
    connectionMade: (_transport: BaseTransport) => {},
    dataReceived: (data: Uint8Array) => {
      result.copies.push(Buffer.from(data));
      if (!marked) result.kept.push(data);
      // Handed out where an earlier receive was (the same memory, the same offset)?
      if (places.some((place) => place.buffer === data.buffer && place.offset === data.byteOffset)) result.repeats++;
      else places.push({ buffer: data.buffer, offset: data.byteOffset });
      received += data.length;
      if (received >= want && !enough.done()) enough.setResult(undefined);
    },
    connectionLost: (error: unknown) => lost.setResult(error),
  };
  const [transport] = await within(connect(() => protocol));
  for (const piece of pieces) {
    want += piece.length;
    enough = loop.createFuture<void>();
    if (received >= want) enough.setResult(undefined);
    transport.write(piece);
    await within(enough);
  }
  if (!Buffer.concat(result.copies).equals(Buffer.concat(pieces))) throw new Error('the echo came back different');
  transport.close();
  const error = await within(lost);
  if (error !== null) throw new Error(`connectionLost(${String(error)}) after close()`);
  return result;
}

/**
 * Bun opens fds of its own the first time `node:net` is used (copies of
 * stdout and stderr) and keeps them for good. Opening them before any test
 * counts fds keeps the fd-leak check about the test. A no-op elsewhere.
 */
export async function openRuntimeNetFds(): Promise<void> {
  if (typeof (process.versions as { bun?: string }).bun !== 'string') return;
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  client.write('x');
  await new Promise<void>((resolve) => client.once('data', () => resolve()));
  client.end();
  await new Promise<void>((resolve) => client.once('close', () => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

let gcFunction: (() => void) | null | undefined;
/** `gc()` when this process can run it (turned on at run time), else null. */
export function gc(): (() => void) | null {
  if (gcFunction === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as () => void;
    } catch {
      gcFunction = null;
    }
  }
  return gcFunction;
}
