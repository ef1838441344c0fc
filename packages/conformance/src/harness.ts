import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { BaseSelector, ExceptionContext } from '@evloop/interface';
import { SelectorEventLoop, setLogger, type Server } from '@evloop/core-policy';

/** How many fds this process has open (Linux and macOS have a per-process fd directory). */
export function openFdCount(): number | null {
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
  loop: SelectorEventLoop;
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

export async function withLoop(createSelector: () => BaseSelector, body: (harness: LoopHarness) => Promise<void> | void): Promise<void> {
  const before = openFdCount();
  const resourcesBefore = loopResources();
  const loop = new SelectorEventLoop(createSelector());
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
  const after = openFdCount();
  if (before !== null && after !== null && after > before) {
    throw new Error(`fd leak: ${before} fds open before the test, ${after} after`);
  }
}

const localRequire = createRequire(import.meta.url);

/**
 * Run a CommonJS snippet in a fresh Node process that has `core` (the built
 * @evloop/core-policy) and `backendModule` (the built backend package) in
 * scope, with the loop forced onto that backend. Returns its exit status,
 * output and how long it took.
 */
export function runChild(
  backendPackage: string,
  backendName: string,
  source: string,
  options: { timeoutMs?: number; env?: Record<string, string>; execArgv?: string[] } = {},
): { status: number | null; signal: string | null; stdout: string; stderr: string; elapsedMs: number } {
  const coreEntry = localRequire.resolve('@evloop/core-policy');
  const prelude =
    `const core = require(${JSON.stringify(coreEntry)});\n` +
    `const backendModule = require(${JSON.stringify(backendPackage)});\n`;
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
