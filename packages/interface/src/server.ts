import type { AbstractEventLoop, FutureLike } from './loop.js';

/**
 * asyncio's `Server`: what `createServer`/`createUnixServer` resolve to.
 *
 * - `close()` stops listening and closes the listening sockets; connections
 *   already accepted stay open. A Unix server removes its socket file.
 * - `waitClosed()` resolves once the server is closed and every connection
 *   it accepted is gone (asyncio 3.12+).
 * - `serveForever()` listens until cancelled; cancelling it closes the server.
 * - `sockets` is empty once closed.
 */
export interface AbstractServer {
  close(): void;
  waitClosed(): FutureLike<void>;
  readonly sockets: readonly unknown[];
  isServing(): boolean;
  startServing(): FutureLike<void>;
  serveForever(): FutureLike<void>;
  getLoop(): AbstractEventLoop;
}
