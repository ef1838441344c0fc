import type { CoroutineSource } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { Task, type TaskOptions } from './task.js';

/** What `loop.setTaskFactory()` takes (asyncio's task factory): makes the task `createTask` returns. */
export type TaskFactory = <T>(loop: BaseEventLoop, coroutine: CoroutineSource<T>, options: { name?: string }) => Task<T>;

/**
 * asyncio's `eager_task_factory` (Python 3.12): with
 * `loop.setTaskFactory(eagerTaskFactory)`, every `createTask` runs the
 * coroutine's first step at once, so one that completes without waiting
 * (a cache hit) costs no loop iteration and is done when `createTask` returns.
 */
export const eagerTaskFactory: TaskFactory = (loop, coroutine, options) => new Task(coroutine, { ...options, loop, eagerStart: true });

/**
 * asyncio's `create_eager_task_factory`: an eager factory for a `Task`
 * subclass, whose constructor takes `(coroutine, options)` as `Task`'s does.
 */
export function createEagerTaskFactory(taskClass: new <T>(coroutine: CoroutineSource<T>, options: TaskOptions) => Task<T>): TaskFactory {
  if (typeof taskClass !== 'function') throw new TypeError(`taskClass must be a constructor, got ${taskClass === null ? 'null' : typeof taskClass}`);
  return (loop, coroutine, options) => new taskClass(coroutine, { ...options, loop, eagerStart: true });
}
