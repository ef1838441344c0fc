import type { AbstractEventLoop } from './loop.js';

/**
 * asyncio's `AbstractEventLoopPolicy`. The context is the thread: the main
 * thread and each worker thread have their own state. `L` is the loop type
 * the policy makes (core-policy's policies make `BaseEventLoop`s).
 *
 * - `getEventLoop()` returns the running loop when called from a running
 *   callback or coroutine; otherwise the loop set for this thread, creating
 *   one on demand in the main thread only (a worker thread gets `RuntimeError`).
 * - `setEventLoop(loop)` sets it (or clears it with null).
 * - `newEventLoop()` makes a new loop per the policy's rules.
 */
export interface AbstractEventLoopPolicy<L extends AbstractEventLoop = AbstractEventLoop> {
  getEventLoop(): L;
  setEventLoop(loop: L | null): void;
  newEventLoop(): L;
}
