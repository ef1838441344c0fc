import type { HandleLike, TimerHandleLike } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { state } from './thread-state.js';

/** A name for a callback in messages (`Exception in callback ...`, slow-callback warnings). */
export function describeCallback(callback: (...args: never[]) => unknown): string {
  const name = callback.name;
  return name ? `${name}()` : '<anonymous>()';
}

/** A callback scheduled on a loop (asyncio's `Handle`). */
export class Handle implements HandleLike {
  /** @internal */ _callback: ((...args: any[]) => unknown) | null;
  /** @internal */ _args: unknown[] | null;
  // No `_loop` field: a handle runs only inside its loop's iteration, where
  // that loop is the running one (`_reportError`). Three fields instead of
  // four made 1M queued `callSoon`s about a quarter cheaper to collect on
  // Node 20 (docs/benchmarks.md); a `TimerHandle` keeps its loop.
  /** @internal */ _cancelled = false;
  /** Where it was made: set in debug mode only, so other handles carry no field for it. */
  /** @internal */ declare _sourceTraceback: string | undefined;
  /** @internal Whether running it resumes an async-function task's `sleep(0)` (see `BaseEventLoop._runReady`); on the prototype. */
  /** @internal */ declare readonly _resumes: boolean;

  constructor(callback: (...args: any[]) => unknown, args: unknown[] | null, loop: BaseEventLoop) {
    this._callback = callback;
    this._args = args;
    if (loop._debug) this._sourceTraceback = new Error().stack?.split('\n').slice(2).join('\n');
  }

  cancel(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    // Drop references so a cancelled handle keeps nothing alive.
    this._callback = null;
    this._args = null;
  }

  cancelled(): boolean {
    return this._cancelled;
  }

  /** @internal Run the callback; an exception goes to the loop's exception handler. */
  _run(): void {
    const callback = this._callback!;
    const args = this._args;
    try {
      if (args === null) callback();
      else callback(...args);
    } catch (error) {
      this._reportError(callback, error);
    }
  }

  /** @internal A callback that threw goes to the loop's exception handler, naming it. */
  _reportError(callback: (...args: any[]) => unknown, error: unknown): void {
    const context: Record<string, unknown> = {
      message: `Exception in callback ${describeCallback(callback)}`,
      exception: error,
      handle: this,
    };
    if (this._sourceTraceback !== undefined) context.sourceTraceback = this._sourceTraceback;
    // The loop running this handle: handles run only in `_runReady`.
    const loop = state().runningLoop;
    if (loop === null) throw error;
    loop.callExceptionHandler(context as never);
  }

  toString(): string {
    const state = this._cancelled ? 'cancelled' : this._callback ? describeCallback(this._callback) : '';
    return `<${this.constructor.name} ${state}>`;
  }
}
// Set after the class, not in a static block: a static block naming the
// class makes the bundler rename it (`_Handle`), which messages would show.
(Handle.prototype as { _resumes: boolean })._resumes = false;

/**
 * @internal A handle whose callback takes exactly one argument, kept in a
 * field instead of an argument array: 56 bytes less for what lives as long
 * as a connection (the reader a transport installs on its fd).
 */
export class OneArgHandle extends Handle {
  /** @internal */ _arg: unknown;

  constructor(callback: (arg: any) => unknown, arg: unknown, loop: BaseEventLoop) {
    super(callback, null, loop);
    this._arg = arg;
  }

  override cancel(): void {
    super.cancel();
    this._arg = undefined;
  }

  override _run(): void {
    const callback = this._callback!;
    try {
      callback(this._arg);
    } catch (error) {
      this._reportError(callback, error);
    }
  }

  override toString(): string {
    return `<Handle ${this._cancelled ? 'cancelled' : this._callback ? describeCallback(this._callback) : ''}>`;
  }
}

/** A callback scheduled for `when` on the loop's clock (asyncio's `TimerHandle`). */
export class TimerHandle extends Handle implements TimerHandleLike {
  /** @internal The loop whose heap holds it (`cancel()` counts it there). */
  /** @internal */ readonly _loop: BaseEventLoop;
  /** @internal */ readonly _when: number;
  /** @internal Insertion order, so timers due at the same time run FIFO. */
  /** @internal */ readonly _sequence: number;
  /** @internal Whether it is still in the loop's heap (made by the loop as it goes in). */
  /** @internal */ _scheduled: boolean;

  constructor(when: number, sequence: number, callback: (...args: any[]) => unknown, args: unknown[] | null, loop: BaseEventLoop) {
    super(callback, args, loop);
    this._loop = loop;
    this._when = when;
    this._sequence = sequence;
    this._scheduled = true;
  }

  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (!this._cancelled) this._loop._timerHandleCancelled(this);
    super.cancel();
  }

  override toString(): string {
    return `<TimerHandle when=${this._when.toFixed(3)} ${this._cancelled ? 'cancelled' : this._callback ? describeCallback(this._callback) : ''}>`;
  }
}
