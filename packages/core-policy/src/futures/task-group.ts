import { CancelledError, RuntimeError, type CoroutineSource } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { getRunningLoop } from '../loop/running-loop.js';
import { ExceptionGroup } from './exception-group.js';
import type { Future } from './future.js';
import { ScopedCoroutine, runBody } from './scope.js';
import { currentTask, type Task } from './task.js';

/** The body of a task group: a generator function (for `yield*`) or an async function (for `await`). */
export type TaskGroupBody<T> = (group: TaskGroup) => Generator<unknown, T, unknown> | PromiseLike<T> | T;

/**
 * asyncio's `TaskGroup` (Python 3.11): the tasks made with `createTask` are
 * children of the task that opened the group, and the group ends only when
 * all of them have. The first child to fail cancels the others and the
 * body; every failure then comes back together as one `ExceptionGroup`
 * (an `AggregateError`). Cancelling the parent cancels the children, and
 * the parent's `cancelling()` count is the same after the group as before
 * (asyncio's `uncancel()` rules), so a `timeout()` around a group and a
 * group around a `timeout()` both work.
 *
 * Open one with `taskGroup(body)`; the group itself is only handed to the body.
 */
export class TaskGroup {
  /** @internal */ _loop: BaseEventLoop;
  /** @internal */ _parent: Task<unknown>;
  /** @internal */ _tasks = new Set<Task<unknown>>();
  /** @internal */ _errors: unknown[] = [];
  /** @internal */ _exiting = false;
  /** @internal */ _aborting = false;
  /** @internal */ _parentCancelRequested = false;
  /** @internal */ _onCompleted: Future<boolean> | null = null;
  /** @internal */ readonly _onTaskDoneBound = (task: Task<unknown>) => this._onTaskDone(task);

  /** @internal Use `taskGroup(body)`. */
  constructor(loop: BaseEventLoop, parent: Task<unknown>) {
    this._loop = loop;
    this._parent = parent;
  }

  /**
   * Start `coroutine` as a child task. Refused (RuntimeError) once the group
   * is shutting down or finished.
   */
  createTask<T>(coroutine: CoroutineSource<T>, options: { name?: string } = {}): Task<T> {
    if (this._exiting && this._tasks.size === 0) throw new RuntimeError(`${this.toString()} is finished`);
    if (this._aborting) throw new RuntimeError(`${this.toString()} is shutting down`);
    const task = this._loop.createTask(coroutine, options);
    // An eager task may be done already: account for it at once.
    if (task.done()) this._onTaskDone(task as Task<unknown>);
    else {
      this._tasks.add(task as Task<unknown>);
      task.addDoneCallback(this._onTaskDoneBound as unknown as (future: Future<T>) => void);
    }
    return task;
  }

  toString(): string {
    const parts = [`tasks=${this._tasks.size}`];
    if (this._errors.length > 0) parts.push(`errors=${this._errors.length}`);
    if (this._aborting) parts.push('cancelling');
    else if (this._exiting) parts.push('exiting');
    return `<TaskGroup ${parts.join(' ')}>`;
  }

  /** @internal */
  _abort(): void {
    this._aborting = true;
    for (const task of this._tasks) if (!task.done()) task.cancel();
  }

  /** @internal */
  _onTaskDone(task: Task<unknown>): void {
    this._tasks.delete(task);
    if (this._onCompleted !== null && this._tasks.size === 0 && !this._onCompleted.done()) this._onCompleted.setResult(true);
    if (task.cancelled()) return;
    const error = task.exception();
    if (error === null) return;
    this._errors.push(error);
    if (this._parent.done()) {
      this._loop.callExceptionHandler({
        message: `Task ${task.getName()} has errored out but its parent task ${this._parent.getName()} is already completed`,
        exception: error,
        task,
      });
      return;
    }
    if (!this._aborting && !this._parentCancelRequested) {
      // Stop what the body is waiting for; the exit takes the cancellation back.
      this._abort();
      this._parentCancelRequested = true;
      this._parent.cancel();
    }
  }

  /** @internal asyncio's `__aexit__`: `failed`/`error` is how the body ended. */
  *_exit(failed: boolean, error: unknown): Generator<unknown, void, unknown> {
    this._exiting = true;
    let propagateCancellation: unknown = failed && CancelledError.isInstance(error) ? error : undefined;
    let hasPropagate = propagateCancellation !== undefined;
    if (failed && !this._aborting) this._abort();
    while (this._tasks.size > 0) {
      if (this._onCompleted === null) this._onCompleted = this._loop.createFuture<boolean>();
      try {
        yield* this._onCompleted;
      } catch (thrown) {
        if (!CancelledError.isInstance(thrown)) throw thrown;
        if (!this._aborting) {
          // The parent is cancelled from outside while children still run.
          propagateCancellation = thrown;
          hasPropagate = true;
          this._abort();
        }
      }
      this._onCompleted = null;
    }
    if (this._parentCancelRequested) {
      // This group asked for the parent's cancellation: take it back. If none
      // is left, the CancelledError was ours and does not propagate.
      if (this._parent.uncancel() === 0) hasPropagate = false;
    }
    if (hasPropagate && this._errors.length === 0) throw propagateCancellation;
    if (failed && !CancelledError.isInstance(error)) this._errors.push(error);
    if (this._errors.length > 0) {
      // A cancellation from outside is still pending: keep its count as it was.
      if (this._parent.cancelling() > 0) {
        this._parent.uncancel();
        this._parent.cancel();
      }
      const errors = this._errors;
      this._errors = [];
      throw new ExceptionGroup('unhandled errors in a TaskGroup', errors);
    }
  }
}

/**
 * Run `body` with a new `TaskGroup` in the current task; the result is the
 * body's return value, once every child task is done.
 *
 * ```js
 * // generator coroutine
 * const value = yield* taskGroup(function* (group) { group.createTask(work()); return 1; });
 * // async function
 * const value = await taskGroup(async (group) => { group.createTask(work()); return 1; });
 * ```
 *
 * Throws RuntimeError outside a task, TypeError when `body` is not a function.
 */
export function taskGroup<T>(body: TaskGroupBody<T>): ScopedCoroutine<T> {
  if (typeof body !== 'function') throw new TypeError(`body must be a function, got ${body === null ? 'null' : typeof body}`);
  return new ScopedCoroutine<T>('taskGroup', function* scope(): Generator<unknown, T, unknown> {
    const loop = getRunningLoop() as BaseEventLoop;
    const parent = currentTask(loop);
    if (parent === null) throw new RuntimeError('taskGroup() cannot determine the parent task: run it inside a task');
    const group = new TaskGroup(loop, parent);
    let result: T | undefined;
    let failed = false;
    let error: unknown;
    try {
      result = yield* runBody<TaskGroup, T>(body as (group: TaskGroup) => unknown, group);
    } catch (thrown) {
      failed = true;
      error = thrown;
    }
    yield* group._exit(failed, error);
    if (failed) throw error;
    return result as T;
  });
}
