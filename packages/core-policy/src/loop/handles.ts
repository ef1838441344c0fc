import type { HandleLike, TimerHandleLike } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { keepShape } from './shapes.js';
import { state } from './thread-state.js';

/** A name for a callback in messages (`Exception in callback ...`, slow-callback warnings). */
export function describeCallback(callback: (...args: never[]) => unknown): string {
  const name = callback.name;
  return name ? `${name}()` : '<anonymous>()';
}

/**
 * Whether any loop has had debug mode on. Until one has, making a handle
 * does not read its loop's flag, so the optimized code that makes handles
 * does not depend on the loop's shape, which goes when no loop is left
 * (shapes.ts).
 */
let debugSeen = false;

/** @internal A loop's debug mode was turned on: handles read their loop's flag from now on. */
export function _debugLoopSeen(): void {
  debugSeen = true;
}

/** A callback scheduled on a loop (asyncio's `Handle`). */
export class Handle implements HandleLike {
  /** @internal The callback; null once cancelled, which is what `cancelled()` reads. */
  /** @internal */ _callback: ((...args: any[]) => unknown) | null;
  // One field is all a handle with no arguments carries (32 bytes on
  // 64-bit V8): no `_cancelled` (a cancelled handle is one whose callback
  // was dropped), no loop (a handle runs only inside its loop's iteration,
  // where that loop is the running one, `_reportError`), and arguments only
  // on the subclasses that have them. 1M queued `callSoon`s are collected
  // with the young generation's copying, whose cost is their bytes
  // (docs/benchmarks.md, "The handle diet").
  /** @internal The arguments of a handle made with some (`ArgsHandle`, `TimerHandle`, or this constructor). */
  /** @internal */ declare _args: unknown[] | null | undefined;
  /** Where it was made: set in debug mode only, so other handles carry no field for it. */
  /** @internal */ declare _sourceTraceback: string | undefined;

  constructor(callback: (...args: any[]) => unknown, args: unknown[] | null, loop: BaseEventLoop) {
    this._callback = callback;
    // The loop's own paths never pass arguments here (they make an
    // `ArgsHandle`); a handle made with them elsewhere keeps them outside the object.
    if (args !== null) this._args = args;
    if (debugSeen && loop._debug) this._sourceTraceback = new Error().stack?.split('\n').slice(2).join('\n');
  }

  cancel(): void {
    // Dropping the callback marks it cancelled and keeps nothing alive.
    this._callback = null;
    if (this._args != null) this._args = null;
  }

  cancelled(): boolean {
    return this._callback === null;
  }

  /** @internal Run the callback; an exception goes to the loop's exception handler. */
  _run(): void {
    const callback = this._callback!;
    const args = this._args;
    try {
      if (args == null) callback();
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
    return `<Handle ${this._callback === null ? 'cancelled' : describeCallback(this._callback)}>`;
  }
}

/**
 * @internal What `callSoon(callback)` with no arguments returns: the ready
 * queue holds the bare callback, not this handle, which knows its place in
 * the queue (its sequence number) to take the callback out if cancelled.
 * Nothing on the loop's side refers to it, so where the caller drops it
 * (the usual `loop.callSoon(fn);`), V8's escape analysis can leave it
 * unmade, and 1M queued callbacks are no longer 1M objects for the young
 * generation to copy (docs/benchmarks.md, "callSoon without a handle in the
 * queue").
 */
export class SoonHandle {
  /** @internal */ _callback: ((...args: any[]) => unknown) | null;
  /** @internal */ readonly _loop: BaseEventLoop;
  /** @internal Its callback's sequence number in the loop's ready queue. */
  /** @internal */ readonly _sequence: number;

  // A base class of its own (Handle.prototype is put under its prototype
  // below, so it is a Handle): no `super()` through Handle's constructor and
  // its argument and debug checks, which kept V8 from inlining the making
  // of it into `callSoon`, and so from leaving it unmade.
  constructor(callback: (...args: any[]) => unknown, loop: BaseEventLoop, sequence: number) {
    this._callback = callback;
    this._loop = loop;
    this._sequence = sequence;
  }

  cancel(): void {
    const callback = this._callback;
    if (callback !== null) this._loop._cancelSoon(this._sequence, callback);
    this._callback = null;
  }
}
/** @internal */
export interface SoonHandle extends Omit<Handle, 'cancel'> {}
Object.setPrototypeOf(SoonHandle.prototype, Handle.prototype);

/** @internal An entry of a loop's ready queue: a handle, a bare callback (`SoonHandle`), or null where such a callback was cancelled. */
export type ReadyEntry = Handle | ((...args: never[]) => unknown) | null;

/** @internal A ready entry in messages: a handle's own text, `<Handle name()>` for a bare callback. */
export function describeEntry(entry: ReadyEntry): string {
  if (entry === null) return '<Handle cancelled>';
  return typeof entry === 'function' ? `<Handle ${describeCallback(entry)}>` : entry.toString();
}

/**
 * @internal A bare callback from the ready queue threw: the exception
 * handler gets a handle for it, as for any other callback (not the one
 * `callSoon` returned, which the queue does not keep).
 */
export function reportCallbackError(callback: (...args: any[]) => unknown, error: unknown, loop: BaseEventLoop): void {
  new Handle(callback, null, loop)._reportError(callback, error);
}

/**
 * @internal A handle whose callback takes exactly one argument, kept in a
 * field instead of an argument array: what lives as long as a connection
 * (the reader a transport installs on its fd) and every future's done
 * callback.
 */
export class OneArgHandle extends Handle {
  /** @internal */ _arg: unknown;

  constructor(callback: (arg: any) => unknown, arg: unknown, loop: BaseEventLoop) {
    super(callback, null, loop);
    this._arg = arg;
  }

  override cancel(): void {
    this._callback = null;
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
}

/**
 * @internal The callback of a task's `sleep(0)` resume handle (a
 * `OneArgHandle` holding the task, `Task._sleepZero`). `_runReady` knows
 * these handles by it: after a run of them the iteration pauses for one
 * microtask, so the tasks they resumed reach their next await first.
 */
export function resumeSleep(task: { _resumeSleep(): void }): void {
  task._resumeSleep();
}

/** @internal A handle with an argument array of its own (two or more arguments, or a proactor operation's). */
export class ArgsHandle extends Handle {
  /** @internal */ declare _args: unknown[] | null;

  constructor(callback: (...args: any[]) => unknown, args: unknown[], loop: BaseEventLoop) {
    super(callback, null, loop);
    this._args = args;
  }
}

/**
 * @internal The handle for `callback(...args)` with the least in it: no
 * argument array for none or one argument. (`callSoon` picks the same way
 * from `arguments`, without making the array at all.)
 */
export function handleFor(callback: (...args: any[]) => unknown, args: unknown[], loop: BaseEventLoop): Handle {
  if (args.length === 0) return new Handle(callback, null, loop);
  if (args.length === 1) return new OneArgHandle(callback, args[0], loop);
  return new ArgsHandle(callback, args, loop);
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
    super(callback, null, loop);
    // Always a field, so timers with and without arguments share one shape.
    this._args = args;
    this._loop = loop;
    this._when = when;
    this._sequence = sequence;
    this._scheduled = true;
  }

  when(): number {
    return this._when;
  }

  override cancel(): void {
    if (this._callback !== null) this._loop._timerHandleCancelled(this);
    super.cancel();
  }

  override toString(): string {
    return `<TimerHandle when=${this._when.toFixed(3)} ${this._callback === null ? 'cancelled' : describeCallback(this._callback)}>`;
  }
}

/**
 * A handle of each kind, made before any other and kept for good
 * (shapes.ts says why), with values of the kinds real ones hold (a
 * timer's `when` a fraction, as loop times are).
 */
const SHAPE_LOOP = { _debug: false } as unknown as BaseEventLoop;
keepShape('Handle', new Handle(resumeSleep, null, SHAPE_LOOP));
keepShape('OneArgHandle', new OneArgHandle(resumeSleep, null, SHAPE_LOOP));
keepShape('ArgsHandle', new ArgsHandle(resumeSleep, [], SHAPE_LOOP));
keepShape('SoonHandle', new SoonHandle(resumeSleep, SHAPE_LOOP, 0));
keepShape('TimerHandle', new TimerHandle(0.5, 0, resumeSleep, null, SHAPE_LOOP));
