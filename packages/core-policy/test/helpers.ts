import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BaseSelector, ExceptionContext } from '@evloop/interface';
import { MemorySelector, SelectorEventLoop, type BaseEventLoop } from '@evloop/core-policy';

export const packagesDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The selector of core-policy's own tests: the pure-TypeScript
 * MemorySelector, which passes the selector conformance suite, so these
 * tests need no native build and no backend package. Loops on real kernels
 * are tested by each backend's suites and by tests/integration.
 */
export function testSelector(): BaseSelector {
  return new MemorySelector();
}

/** The built entry of core-policy (for child processes and workers). */
/** Run `main` on a fresh loop over the in-memory selector, and close the loop. */
export async function onLoop<T>(main: (loop: SelectorEventLoop) => Promise<T>): Promise<T> {
  const loop = new SelectorEventLoop(testSelector());
  try {
    return await loop.runUntilComplete(() => main(loop));
  } finally {
    loop.close();
  }
}

export function builtEntry(directory: 'core-policy'): string {
  return path.join(packagesDirectory, directory, 'dist', 'index.cjs');
}

export interface LoopHarness {
  loop: BaseEventLoop;
  /** Exception-handler calls seen so far; the harness fails the test if any is left unclaimed. */
  errors: ExceptionContext[];
  /** Take the handler calls the test expected, so the final check does not flag them. */
  claimErrors(): ExceptionContext[];
}

function openFdCount(): number | null {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}

function timersAndImmediates(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout' || name === 'Immediate').length;
}

/**
 * Run `body` with a fresh loop, then check what every test must leave
 * behind: the loop closed, no fd and no Node timer leaked, and no exception
 * the test did not claim reached the exception handler.
 */
export async function withLoop(createLoop: () => BaseEventLoop, body: (harness: LoopHarness) => Promise<void> | void): Promise<void> {
  const fdsBefore = openFdCount();
  const timersBefore = timersAndImmediates();
  const loop = createLoop();
  const errors: ExceptionContext[] = [];
  loop.setExceptionHandler((_loop, context) => {
    errors.push(context);
  });
  try {
    await body({ loop, errors, claimErrors: () => errors.splice(0, errors.length) });
  } finally {
    if (loop.isRunning()) loop.stop();
    if (!loop.isRunning()) loop.close();
  }
  if (errors.length > 0) {
    throw new Error(`unexpected exceptions reached the loop's handler:\n${errors.map((context) => `${context.message}: ${String(context.exception)}`).join('\n')}`);
  }
  await new Promise((resolve) => setImmediate(resolve));
  const timersAfter = timersAndImmediates();
  if (timersAfter > timersBefore) throw new Error(`libuv handle leak: ${timersBefore} timers/immediates before the test, ${timersAfter} after`);
  const fdsAfter = openFdCount();
  if (fdsBefore !== null && fdsAfter !== null && fdsAfter > fdsBefore) throw new Error(`fd leak: ${fdsBefore} fds open before the test, ${fdsAfter} after`);
}
