import type { AbstractEventLoop, Address, FutureLike, ServerSocket } from './loop.js';

/**
 * asyncio's `Server`: what `createServer`/`createUnixServer` resolve to. `A`
 * is the address type of its sockets (`InetAddress` for TCP, a path for Unix).
 *
 * - `close()` stops listening and closes the listening sockets; connections
 *   already accepted stay open. A Unix server removes its socket file.
 * - `closeClients()` closes every accepted connection, `abortClients()`
 *   aborts them (asyncio 3.13).
 * - `waitClosed()` resolves once the server is closed and every connection
 *   it accepted is gone (asyncio 3.12+).
 * - `serveForever()` listens until cancelled; cancelling it closes the server.
 * - `sockets` is empty once closed.
 */
export interface AbstractServer<A extends Address | null = Address | null> {
  close(): void;
  closeClients(): void;
  abortClients(): void;
  waitClosed(): FutureLike<void>;
  readonly sockets: readonly ServerSocket<A>[];
  isServing(): boolean;
  startServing(): FutureLike<void>;
  serveForever(): FutureLike<void>;
  getLoop(): AbstractEventLoop;
}
