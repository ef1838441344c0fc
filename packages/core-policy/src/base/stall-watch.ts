import { type ReadyEntry, describeEntry } from '../loop/handles.js';
import { logger } from '../loop/logger.js';

/** What the stall watch reads of its loop. */
interface WatchedLoop {
  slowCallbackDuration: number;
  readonly _ready: { readonly length: number; [Symbol.iterator](): Iterator<ReadyEntry> };
  _running: boolean;
  _inIteration: boolean;
  _immediate: unknown;
  _microtaskQueued: boolean;
  _scheduleIteration(): void;
}

function firstReady(loop: WatchedLoop): string {
  let entry: ReadyEntry | undefined;
  for (entry of loop._ready) if (entry !== null) break;
  if (entry === undefined || entry === null) return '';
  const traceback = typeof entry === 'function' ? undefined : entry._sourceTraceback;
  const frame = traceback
    ?.split('\n')
    .map((line) => line.trim())
    .find((line) => line.startsWith('at ') && !/[\\/]core-policy[\\/](src|dist)[\\/]|\(node:|at node:/.test(line));
  return `; the first: ${describeEntry(entry)}${frame === undefined ? '' : ` scheduled ${frame}`}`;
}

/**
 * Debug mode's stall report, beside the slow-callback one: a loop that does
 * not iterate while callbacks are ready. Two cases:
 *
 * - the next iteration was planned (a `setImmediate` or a microtask) but ran
 *   late, because something outside evloop's callbacks held the thread (a
 *   synchronous Node callback, a long run of Promise jobs): reported when
 *   the iteration finally starts, with how long the ready work waited;
 * - no iteration is planned at all while work is ready (a lost wake-up): a
 *   watchdog timer (unref'd, only while the loop runs in debug mode) reports
 *   it and plans the iteration, so the loop goes on.
 */
export class StallWatch {
  /** performance.now() when ready work started waiting for a planned iteration (0: none waiting). */
  #waitingSince = 0;
  /** performance.now() when the last iteration started. */
  #lastIteration = performance.now();
  #timer: NodeJS.Timeout | null = null;
  #reported = false;

  constructor(private readonly loop: WatchedLoop) {}

  /** The loop runs in debug mode: watch it for lost wake-ups. */
  watch(): void {
    this.#lastIteration = performance.now();
    this.#ensureTimer();
  }

  /** An iteration is planned while work is ready. */
  planned(): void {
    if (this.#waitingSince === 0) this.#waitingSince = performance.now();
    this.#ensureTimer();
  }

  /** An iteration starts: report how long ready work waited for it, if too long. */
  iterationStarted(): void {
    const now = performance.now();
    this.#lastIteration = now;
    this.#reported = false;
    if (this.#waitingSince === 0) return;
    const waited = (now - this.#waitingSince) / 1000;
    this.#waitingSince = 0;
    if (waited >= this.loop.slowCallbackDuration && this.loop._ready.length > 0) {
      logger.warning(
        `The loop did not iterate for ${waited.toFixed(3)} seconds while ${this.loop._ready.length} callbacks were ready${firstReady(this.loop)}: ` +
          'something outside its callbacks held the thread (a synchronous Node callback, a long run of Promise jobs)',
      );
    }
  }

  /** The loop stopped running: hold no timer. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#waitingSince = 0;
  }

  #ensureTimer(): void {
    if (this.#timer !== null) return;
    const period = Math.min(1000, Math.max(10, this.loop.slowCallbackDuration * 1000));
    this.#timer = setInterval(() => this.#tick(), period);
    this.#timer.unref();
  }

  #tick(): void {
    const loop = this.loop;
    if (!loop._running) {
      this.stop();
      return;
    }
    if (loop._inIteration || loop._ready.length === 0 || loop._immediate !== null || loop._microtaskQueued || this.#reported) return;
    const idle = (performance.now() - this.#lastIteration) / 1000;
    if (idle < loop.slowCallbackDuration) return;
    this.#reported = true;
    logger.warning(
      `The loop stopped iterating: ${loop._ready.length} callbacks have been ready for up to ${idle.toFixed(3)} seconds with no iteration planned${firstReady(loop)}; ` +
        'planning one now',
    );
    loop._scheduleIteration();
  }
}
