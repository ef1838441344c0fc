import type { AbstractEventLoop, FutureLike } from './loop.js';

/** asyncio's `Server`. */
export interface AbstractServer {
  close(): void;
  waitClosed(): FutureLike<void>;
  readonly sockets: readonly unknown[];
  isServing(): boolean;
  startServing(): FutureLike<void>;
  serveForever(): FutureLike<void>;
  getLoop(): AbstractEventLoop;
}
