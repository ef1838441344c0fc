import { RuntimeError, type AbstractEventLoop, type CoroutineSource } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { newEventLoop, peekRunningLoop, setEventLoop } from '../loop/running-loop.js';
import { allTasks } from '../futures/task.js';
import { gather } from '../futures/combinators.js';

export interface RunOptions {
  /** Makes the loop (default: the policy's `newEventLoop()`). */
  loopFactory?: () => AbstractEventLoop;
  /** Debug mode for the loop (default: the loop's own, which follows `EVLOOP_DEBUG`). */
  debug?: boolean;
}

/**
 * asyncio's `run`: make a new loop, run `main` to completion, cancel every
 * task still pending and wait for them, close the loop, and give back
 * `main`'s result. Pass a function (`() => main()`) so an async `main` runs
 * inside its task from the first line and can be cancelled.
 */
export async function run<T>(main: CoroutineSource<T>, options: RunOptions = {}): Promise<T> {
  if (peekRunningLoop() !== null) throw new RuntimeError('run() cannot be called from a running event loop');
  if (options.loopFactory !== undefined && typeof options.loopFactory !== 'function') {
    throw new TypeError('loopFactory must be a function');
  }
  const loop = (options.loopFactory ?? newEventLoop)() as BaseEventLoop;
  setEventLoop(loop);
  try {
    if (options.debug !== undefined) loop.setDebug(options.debug);
    return await loop.runUntilComplete(main);
  } finally {
    try {
      await cancelAllTasks(loop);
      await loop.runUntilComplete(loop.shutdownAsyncgens());
    } finally {
      setEventLoop(null);
      loop.close();
    }
  }
}

async function cancelAllTasks(loop: BaseEventLoop): Promise<void> {
  const pending = allTasks(loop);
  if (pending.size === 0) return;
  for (const task of pending) task.cancel();
  await loop.runUntilComplete(gather(...pending, { returnExceptions: true }));
  for (const task of pending) {
    if (task.cancelled()) continue;
    const error = task.exception();
    if (error !== null) {
      loop.callExceptionHandler({ message: 'unhandled exception during run() shutdown', exception: error, task });
    }
  }
}
