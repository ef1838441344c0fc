import { CancelledError } from '@evloop/interface';
import { isFuture, type Future } from './future.js';

/**
 * Cancel `future` (a Future or a Task) when `signal` aborts; the reason's
 * message (if it has one) becomes the cancellation message. A signal that is
 * already aborted cancels at once. The listener goes away when the future is
 * done, so a long-lived signal does not keep finished futures alive. Returns
 * the future, for chaining (`await cancelOnAbort(loop.createTask(work), signal)`).
 */
export function cancelOnAbort<F extends Future<unknown>>(future: F, signal: AbortSignal): F {
  if (!isFuture(future)) throw new TypeError(`future must be an evloop Future or Task, got ${describe(future)}`);
  if (!isAbortSignal(signal)) throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  if (future.done()) return future;
  const message = () => {
    const reason: unknown = signal.reason;
    if (reason instanceof Error) return reason.message || reason.name;
    return reason === undefined ? 'aborted' : String(reason);
  };
  if (signal.aborted) {
    future.cancel(message());
    return future;
  }
  const onAbort = () => void future.cancel(message());
  signal.addEventListener('abort', onAbort, { once: true });
  future.addDoneCallback(() => signal.removeEventListener('abort', onAbort));
  return future;
}

/** True when `error` is how Node reports an abort by `signal` (its reason, or an AbortError caused by it). */
export function isAbortBy(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  if (error === signal.reason) return true;
  return error !== null && typeof error === 'object' && (error as Error).name === 'AbortError' && (error as Error).cause === signal.reason;
}

/** The reason a task's signal aborts with: the CancelledError of the cancellation. */
export function abortReason(message: unknown): CancelledError {
  return new CancelledError(message === undefined ? '' : String(message));
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return value instanceof AbortSignal || (value !== null && typeof value === 'object' && typeof (value as AbortSignal).addEventListener === 'function' && 'aborted' in (value as object));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
