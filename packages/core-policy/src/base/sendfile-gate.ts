import { BrokenPipeError, ConnectionAbortedError, ConnectionError, ConnectionResetError, OSError, RuntimeError } from '@evloop/interface';
import type { Future } from '../futures/future.js';
import type { BaseTransport } from './base-transport.js';

/**
 * The transport's half of a native sendfile, shared by the selector and
 * proactor socket transports (asyncio's `_empty_waiter`): while the loop
 * sends a file through the socket, `_sendfileWaiter` is set; it resolves
 * once the write buffer has drained and fails if the connection is lost
 * first, and writes raise meanwhile.
 */
export interface SendfileGateHost extends BaseTransport {
  _sendfileWaiter: Future<void> | null;
}

/** Refuses a write while a sendfile owns the socket. */
export function checkNoSendfile(host: SendfileGateHost): void {
  if (host._sendfileWaiter !== null) throw new RuntimeError('unable to write; sendfile is in progress');
}

/** Starts a sendfile: the returned future resolves when the writes queued before it are out (at once when `drained`). */
export function beginSendfile(host: SendfileGateHost, drained: boolean): Future<void> {
  if (host._sendfileWaiter !== null) throw new RuntimeError('sendfile is already in progress on this transport');
  const waiter = (host._sendfileWaiter = host._loop.createFuture<void>());
  if (drained) waiter.setResult(undefined);
  return waiter;
}

/** The write buffer has drained: a sendfile waiting for that may start. */
export function sendfileDrained(host: SendfileGateHost): void {
  const waiter = host._sendfileWaiter;
  if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
}

/** The connection is lost: a sendfile still waiting for the buffer to drain fails with `error`. */
export function sendfileLost(host: SendfileGateHost, error: unknown): void {
  const waiter = host._sendfileWaiter;
  if (waiter !== null && !waiter.done()) waiter.setException(error ?? new ConnectionError(0, 'sendfile', 'Connection is closed'));
}

/**
 * The sendfile is over. A failure of its own (not a cancellation, not the
 * transport closing under it) fails the transport, as a failed write does.
 */
export function endSendfile(host: SendfileGateHost, error: unknown): void {
  const waiter = host._sendfileWaiter;
  host._sendfileWaiter = null;
  if (waiter !== null && !waiter.done()) waiter.cancel();
  if (!OSError.isInstance(error) || host._connLost !== 0 || host._sock === null) return;
  if (ConnectionResetError.isInstance(error) || ConnectionAbortedError.isInstance(error) || BrokenPipeError.isInstance(error)) host._forceClose(error);
  else host._fatalError(error, 'Fatal write error on socket transport');
}
