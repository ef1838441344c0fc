import fs from 'node:fs';
import { RuntimeError, type AbstractServer, type BaseProtocol } from '@evloop/interface';
import type { Future } from '../futures/future.js';
import type { SocketLike } from '../net/socket-module.js';
import type { BaseEventLoop } from './base-event-loop.js';

/** A connection a server accepted, as the server sees it. */
export interface ServedTransport {
  close(): void;
  abort(): void;
}

/**
 * What a transport tells the server that accepted it (asyncio's
 * `Server._attach`/`_detach`): every family's transports call these, so
 * `waitClosed()` and `closeClients()` know the live connections.
 */
export interface TransportOwner {
  _attach(transport: ServedTransport): void;
  _detach(transport: ServedTransport): void;
}

/** A Unix socket file the server made, removed on close if it is still the same file (asyncio 3.13's `cleanup_socket`). */
export interface UnixSocketFile {
  path: string;
  dev: number;
  ino: number;
}

/**
 * asyncio's `Server`: the listening sockets of `createServer` /
 * `createUnixServer` and the connections accepted on them. `close()` stops
 * listening (connections stay); `waitClosed()` resolves once the server is
 * closed and every connection is gone.
 */
export class Server implements AbstractServer, TransportOwner {
  /** @internal */ _loop: BaseEventLoop;
  /** @internal */ _sockets: SocketLike[] | null;
  /** @internal */ _protocolFactory: () => BaseProtocol;
  /** @internal */ _backlog: number;
  /** @internal */ _serving = false;
  /** @internal */ _activeCount = 0;
  /** @internal */ _waiters: Future<void>[] | null = [];
  /** @internal */ _servingForever: Future<void> | null = null;
  /** @internal */ _clients = new Set<ServedTransport>();
  /** @internal */ _unixFiles: UnixSocketFile[];

  constructor(loop: BaseEventLoop, sockets: SocketLike[], protocolFactory: () => BaseProtocol, backlog: number, unixFiles: UnixSocketFile[] = []) {
    this._loop = loop;
    this._sockets = sockets;
    this._protocolFactory = protocolFactory;
    this._backlog = backlog;
    this._unixFiles = unixFiles;
    loop._serverOpened(this);
  }

  /** The listening sockets (empty once closed). */
  get sockets(): readonly SocketLike[] {
    return this._sockets === null ? [] : [...this._sockets];
  }

  getLoop(): BaseEventLoop {
    return this._loop;
  }

  isServing(): boolean {
    return this._serving;
  }

  /** A transport this server accepted is open (the `TransportOwner` contract every family's transports use). */
  _attach(transport: ServedTransport): void {
    this._activeCount++;
    this._clients.add(transport);
  }

  /** That transport is gone; `waitClosed()` may now resolve. */
  _detach(transport: ServedTransport): void {
    this._activeCount--;
    this._clients.delete(transport);
    if (this._activeCount === 0 && this._sockets === null) this._wakeup();
  }

  private _wakeup(): void {
    const waiters = this._waiters;
    this._waiters = null;
    if (waiters === null) return;
    for (const waiter of waiters) if (!waiter.done()) waiter.setResult(undefined);
  }

  /** Stop listening and close the listening sockets; accepted connections stay open. */
  close(): void {
    const sockets = this._sockets;
    if (sockets === null) return;
    this._sockets = null;
    for (const sock of sockets) this._loop._stopServing(sock);
    this._serving = false;
    for (const file of this._unixFiles) removeIfSame(file);
    this._unixFiles = [];
    this._loop._serverClosed(this);
    if (this._servingForever !== null && !this._servingForever.done()) {
      this._servingForever.cancel();
      this._servingForever = null;
    }
    if (this._activeCount === 0) this._wakeup();
  }

  /** Close the server and every connection it accepted (asyncio 3.13's `close_clients`). */
  closeClients(): void {
    for (const transport of [...this._clients]) transport.close();
  }

  /** As `closeClients`, dropping their buffered data (asyncio 3.13's `abort_clients`). */
  abortClients(): void {
    for (const transport of [...this._clients]) transport.abort();
  }

  /** Listen and accept (when created with `startServing: false`); idempotent. */
  startServing(): Future<void> {
    const done = this._loop.createFuture<void>();
    this._start();
    done.setResult(undefined);
    return done;
  }

  /** @internal */
  _start(): void {
    if (this._serving || this._sockets === null) return;
    this._serving = true;
    for (const sock of this._sockets) {
      sock.listen(this._backlog);
      this._loop._startServing(this._protocolFactory, sock, this, this._backlog);
    }
  }

  /** Resolves once the server is closed and all its connections are gone. */
  waitClosed(): Future<void> {
    const waiter = this._loop.createFuture<void>();
    if (this._waiters === null) waiter.setResult(undefined);
    else this._waiters.push(waiter);
    return waiter;
  }

  /** Serve until cancelled; cancelling closes the server and waits for it. */
  serveForever(): Future<void> {
    if (this._servingForever !== null) throw new RuntimeError(`server ${this.toString()} is already being awaited on serveForever()`);
    if (this._sockets === null) throw new RuntimeError(`server ${this.toString()} is closed`);
    this._start();
    const forever = this._loop.createFuture<void>();
    this._servingForever = forever;
    const server = this;
    return this._loop.createTask(function* serveForever(): Generator<unknown, void, unknown> {
      try {
        yield* forever;
      } catch (error) {
        try {
          server.close();
          yield* server.waitClosed();
        } finally {
          server._servingForever = null;
        }
        throw error;
      }
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.waitClosed();
  }

  toString(): string {
    return `<Server sockets=${this._sockets === null ? 'closed' : this._sockets.map((sock) => String(sock.getsockname())).join(',')}>`;
  }
}

function removeIfSame(file: UnixSocketFile): void {
  try {
    const stat = fs.statSync(file.path);
    if (stat.dev === file.dev && stat.ino === file.ino) fs.unlinkSync(file.path);
  } catch {
    // already gone, or not ours to remove
  }
}
