import {
  ConnectionResetError,
  errnoNumber,
  type BaseTransport,
  type FutureLike,
  type Transport,
  type Address,
  type InetAddress,
  type TransportExtraInfo,
  type UnixAddress,
} from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { Coroutine, isCoroutineObject } from '../futures/coroutine.js';
import { Future, isFuture } from '../futures/future.js';
import { Protocol } from '../net/protocols.js';
import { OWNS_RECEIVED_DATA } from '../base/base-transport.js';
import { getEventLoop } from '../loop/running-loop.js';
import { DEFAULT_LIMIT, StreamReader } from './stream-reader.js';
import { isGenerator, isThenable, startAwaitable, type Task } from '../futures/task.js';
import type { CreateConnectionOptions, CreateServerOptions, CreateUnixConnectionOptions, CreateUnixServerOptions } from '../base/network.js';
import type { Server } from '../base/server.js';
import type { SSLContext } from '../tls/ssl-context.js';

export { DEFAULT_LIMIT, StreamReader, type Separator, type StreamReaderOptions } from './stream-reader.js';

/** Called for each client of `startServer`: a plain function, an async function or a generator function. */
export type ClientConnectedCallback<A extends Address = Address> = (reader: StreamReader, writer: StreamWriter<A>) => unknown;

/**
 * asyncio's `StreamReaderProtocol` (with its `FlowControlMixin`): feeds what
 * the transport receives into a `StreamReader`, keeps the writer's drain
 * waiting while the transport has paused writing, and, on a server, makes
 * the `StreamWriter` and calls the client callback.
 */
export class StreamReaderProtocol extends Protocol {
  /** @internal */ readonly _loop: BaseEventLoop;
  /** @internal */ _streamReader: StreamReader | null;
  /** @internal */ _streamWriter: StreamWriter | null = null;
  /** @internal */ _clientConnected: ClientConnectedCallback | null;
  /** @internal */ _transport: Transport | null = null;
  /** @internal */ _task: Task<unknown> | null = null;
  /** @internal */ _paused = false;
  /** @internal */ _connectionLost = false;
  /** @internal Over TLS, EOF closes the connection (TLS has no half-close), as asyncio's `_over_ssl`. */ _overSsl = false;
  /** @internal The transport's received chunks may be kept without a copy (`OWNS_RECEIVED_DATA`). */ _ownedData = false;
  /** @internal */ readonly _drainWaiters = new Set<Future<void>>();
  /** @internal A done future that `_drainHelper` hands out while writing may go on: no future per `drain()`. */
  _drained: Future<void> | null = null;
  /** @internal */ readonly _closed: Future<void>;

  constructor(streamReader: StreamReader | null, clientConnected: ClientConnectedCallback | null = null, options: { loop?: BaseEventLoop } = {}) {
    super();
    if (clientConnected !== null && typeof clientConnected !== 'function') {
      throw new TypeError(`clientConnected must be a function, got ${typeof clientConnected}`);
    }
    this._loop = options.loop ?? streamReader?._getLoop() ?? (getEventLoop() as BaseEventLoop);
    this._streamReader = streamReader;
    this._clientConnected = clientConnected;
    this._closed = this._loop.createFuture<void>();
  }

  /** @internal The stream goes on over a new transport (`StreamWriter.startTls`): asyncio's `_replace_transport`. */
  _replaceTransport(transport: Transport): void {
    this._transport = transport;
    this._overSsl = true;
    this._ownedData = false;
    this._streamReader?._replaceTransport(transport);
  }

  /** @internal Whether this protocol serves a connection a server accepted (it has a clientConnected callback). */
  _isServerSide(): boolean {
    return this._clientConnected !== null;
  }

  override connectionMade(transport: BaseTransport): void {
    const stream = transport as Transport;
    this._transport = stream;
    this._overSsl = stream.getExtraInfo('sslcontext') != null;
    this._ownedData = (stream as { [OWNS_RECEIVED_DATA]?: unknown })[OWNS_RECEIVED_DATA] === true;
    const reader = this._streamReader;
    reader?.setTransport(stream);
    const callback = this._clientConnected;
    if (callback === null) return;
    const writer = new StreamWriter(stream, this, reader, this._loop);
    this._streamWriter = writer;
    let coroutine: unknown;
    if (isAsyncFunction(callback)) {
      // Called inside the task, so its awaits are the task's and cancel() reaches them.
      coroutine = () => callback(reader!, writer);
    } else {
      const result = callback(reader!, writer);
      if (!isAwaitable(result)) return;
      coroutine = result;
    }
    const task = this._loop.createTask(coroutine as () => unknown);
    this._task = task;
    task.addDoneCallback(() => {
      if (task.cancelled()) {
        stream.close();
        return;
      }
      const error = task.exception();
      if (error !== null) {
        this._loop.callExceptionHandler({ message: 'Unhandled exception in the clientConnected callback of startServer', exception: error, transport: stream });
        stream.close();
      }
    });
  }

  override connectionLost(error: unknown): void {
    const lostWith = error ?? null;
    const reader = this._streamReader;
    if (reader !== null) {
      if (lostWith === null) reader.feedEof();
      else reader.setException(lostWith);
    }
    if (!this._closed.done()) {
      if (lostWith === null) this._closed.setResult(undefined);
      else {
        this._closed.setException(lostWith);
        // Only waitClosed() reports it; a closed stream nobody waits on is not an error.
        this._closed.exception();
      }
    }
    this._connectionLost = true;
    if (this._paused) {
      for (const waiter of this._drainWaiters) {
        if (waiter.done()) continue;
        if (lostWith === null) waiter.setResult(undefined);
        else waiter.setException(lostWith);
      }
    }
    this._streamReader = null;
    this._streamWriter = null;
    this._task = null;
    this._transport = null;
  }

  override dataReceived(data: Uint8Array): void {
    const reader = this._streamReader;
    if (reader === null) return;
    if (this._ownedData) reader._feedOwned(data as Buffer);
    else reader.feedData(data);
  }

  /** Keep the connection half-open, so the writer may still send after the peer's EOF. */
  override eofReceived(): boolean {
    this._streamReader?.feedEof();
    return !this._overSsl;
  }

  override pauseWriting(): void {
    this._paused = true;
  }

  override resumeWriting(): void {
    this._paused = false;
    for (const waiter of this._drainWaiters) if (!waiter.done()) waiter.setResult(undefined);
  }

  /** @internal A future that settles when writing may go on (at once unless paused). */
  _drainHelper(): Future<void> {
    if (!this._connectionLost && !this._paused) {
      if (this._drained === null) {
        this._drained = this._loop.createFuture<void>();
        this._drained.setResult(undefined);
      }
      return this._drained;
    }
    const future = this._loop.createFuture<void>();
    if (this._connectionLost) {
      future.setException(connectionLostError());
      return future;
    }
    this._drainWaiters.add(future);
    future.addDoneCallback(() => this._drainWaiters.delete(future));
    return future;
  }
}

/**
 * asyncio's `StreamWriter`: the transport's write side, plus `drain()` for
 * flow control and `waitClosed()`. `A` is the connection's address type
 * (`InetAddress` for TCP, a path for Unix): see `getExtraInfo`.
 */
export class StreamWriter<A extends Address = Address> {
  /** @internal */ _transport: Transport<A>;
  /** @internal */ readonly _protocol: StreamReaderProtocol;
  /** @internal */ readonly _reader: StreamReader | null;
  /** @internal */ readonly _loop: BaseEventLoop;

  constructor(transport: Transport<A>, protocol: StreamReaderProtocol, reader: StreamReader | null, loop: BaseEventLoop) {
    this._transport = transport;
    this._protocol = protocol;
    this._reader = reader;
    this._loop = loop;
  }

  get transport(): Transport<A> {
    return this._transport;
  }

  write(data: Uint8Array): void {
    this._transport.write(data);
  }

  writelines(list: Iterable<Uint8Array>): void {
    this._transport.writelines(list);
  }

  /** Send EOF after the buffered data (TCP half-close). */
  writeEof(): void {
    this._transport.writeEof();
  }

  canWriteEof(): boolean {
    return this._transport.canWriteEof();
  }

  /** Close the transport (after flushing what is buffered). Await `waitClosed()` to know it is done. */
  close(): void {
    this._transport.close();
  }

  isClosing(): boolean {
    return this._transport.isClosing();
  }

  /** The transport's extra information (`'peername'`, `'sockname'`, `'socket'`, `'peercert'`, ...), or `defaultValue` (null) when it has none. */
  getExtraInfo<K extends keyof TransportExtraInfo<A>>(name: K): TransportExtraInfo<A>[K] | null;
  getExtraInfo<K extends keyof TransportExtraInfo<A>, D>(name: K, defaultValue: D): TransportExtraInfo<A>[K] | D;
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return this._transport.getExtraInfo(name, defaultValue);
  }

  /**
   * Upgrade the connection to TLS (asyncio's `StreamWriter.start_tls`):
   * drain, then run the handshake with `loop.startTls` (as the server when
   * this writer came from `startServer`); the reader and writer go on over
   * TLS. Options: `serverHostname`, `sslHandshakeTimeout`, `sslShutdownTimeout`.
   */
  startTls(
    sslContext: object,
    options: { serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
  ): Coroutine<void> {
    return new Coroutine('startTls', (loop) => {
      const protocol = this._protocol;
      const serverSide = protocol._isServerSide();
      return loop.createTask(async () => {
        await this.drain();
        const transport: Transport = await loop.startTls(this._transport, protocol, sslContext as SSLContext, { ...options, serverSide });
        this._transport = transport;
        // The protocol and the reader go on over TLS: the reader pauses and resumes the TLS transport from now on.
        protocol._replaceTransport(transport);
        this._reader?._replaceTransport(transport);
      });
    });
  }

  /** Finishes when the connection is lost; throws the error it was lost with, if any. Cancelling it leaves the stream alone. */
  waitClosed(): Coroutine<void> {
    return new Coroutine('waitClosed', (loop) => follow(this._protocol._closed, loop, () => undefined, false));
  }

  /**
   * Wait until the transport's write buffer is below its high-water mark.
   * Throws the reader's exception if it has one, and the connection error
   * (or `ConnectionResetError`) once the connection is lost.
   */
  drain(): Coroutine<void> {
    return startAwaitable<void>('drain', (loop) => {
      const error = this._reader?.exception() ?? null;
      if (error !== null) {
        const failed = loop.createFuture<void>();
        failed.setException(error);
        return failed;
      }
      if (!this._transport.isClosing()) {
        const helper = this._protocol._drainHelper();
        return helper.getLoop() === loop ? helper : follow(helper, loop, () => undefined, true);
      }
      // Closing: give the loop a turn so connectionLost can run and its
      // error be raised here, rather than returning while the data is lost.
      const result = loop.createFuture<void>();
      let inner: Future<void> | null = null;
      const handle = loop.callSoon(() => {
        if (result.done()) return;
        inner = this._protocol._drainHelper();
        forward(inner, result);
      });
      result.addDoneCallback(() => {
        handle.cancel();
        if (result.cancelled()) inner?.cancel();
      });
      return result;
    });
  }

  toString(): string {
    return `<StreamWriter transport=${String(this._transport)}${this._reader === null ? '' : ` reader=${this._reader.toString()}`}>`;
  }
}

/** `openConnection`'s options: the reader's `limit` and the loop's `createConnection` options. */
export type OpenConnectionOptions = CreateConnectionOptions & { limit?: number };
/** `openUnixConnection`'s options: the reader's `limit` and the loop's `createUnixConnection` options. */
export type OpenUnixConnectionOptions = CreateUnixConnectionOptions & { limit?: number };
/** `startServer`'s options: each reader's `limit` and the loop's `createServer` options. */
export type StartServerOptions = CreateServerOptions & { limit?: number };
/** `startUnixServer`'s options: each reader's `limit` and the loop's `createUnixServer` options. */
export type StartUnixServerOptions = CreateUnixServerOptions & { limit?: number };

/**
 * Connect to `host`:`port` and return `[reader, writer]` (asyncio's
 * `open_connection`). The options are `limit` (the reader's) and those of
 * the loop's `createConnection`. Runs on the loop that awaits it.
 */
export function openConnection(host?: string | null, port?: number | string | null, options?: OpenConnectionOptions & { sock?: undefined }): Coroutine<[StreamReader, StreamWriter<InetAddress>]>;
export function openConnection(host: string | null | undefined, port: number | string | null | undefined, options: OpenConnectionOptions): Coroutine<[StreamReader, StreamWriter]>;
export function openConnection(host: string | null = null, port: number | string | null = null, options: OpenConnectionOptions = {}): Coroutine<[StreamReader, StreamWriter]> {
  return new Coroutine('openConnection', (loop) => {
    const { limit, ...connectionOptions } = options;
    return connectStream(loop, limit, (factory) => loop.createConnection(factory, host, port, connectionOptions));
  });
}

/** `openConnection` over a Unix socket at `path` (asyncio's `open_unix_connection`). */
export function openUnixConnection(path: string | null = null, options: OpenUnixConnectionOptions = {}): Coroutine<[StreamReader, StreamWriter<UnixAddress>]> {
  return new Coroutine('openUnixConnection', (loop) => {
    const { limit, ...connectionOptions } = options;
    // A Unix connection's addresses are paths.
    return connectStream(loop, limit, (factory) => loop.createUnixConnection(factory, path, connectionOptions)) as Future<[StreamReader, StreamWriter<UnixAddress>]>;
  });
}

/**
 * Start a server that calls `clientConnected(reader, writer)` for each
 * client (asyncio's `start_server`). When it returns an awaitable (an async
 * or generator function), that runs as a task; if the task fails, the error
 * goes to the loop's exception handler and the connection is closed. The
 * options are `limit` and those of the loop's `createServer`.
 */
export function startServer(
  clientConnected: ClientConnectedCallback<InetAddress>,
  host?: string | readonly string[] | null,
  port?: number | string | null,
  options?: StartServerOptions & { sock?: undefined },
): Coroutine<Server<InetAddress>>;
export function startServer(clientConnected: ClientConnectedCallback, host: string | readonly string[] | null | undefined, port: number | string | null | undefined, options: StartServerOptions): Coroutine<Server>;
export function startServer(
  clientConnected: ClientConnectedCallback<InetAddress>,
  host: string | readonly string[] | null = null,
  port: number | string | null = null,
  options: StartServerOptions = {},
): Coroutine<Server> {
  return new Coroutine('startServer', (loop) => {
    const { limit, ...serverOptions } = options;
    // Without options.sock the server is a TCP one, so its writers' addresses are InetAddresses.
    const factory = serverFactory(loop, clientConnected as ClientConnectedCallback, limit);
    return follow(loop.createServer(factory, host, port, serverOptions), loop, (server) => server, true);
  });
}

/** `startServer` on a Unix socket at `path` (asyncio's `start_unix_server`). */
export function startUnixServer(clientConnected: ClientConnectedCallback<UnixAddress>, path: string | null = null, options: StartUnixServerOptions = {}): Coroutine<Server<UnixAddress>> {
  return new Coroutine('startUnixServer', (loop) => {
    const { limit, ...serverOptions } = options;
    // A Unix server's connections have path addresses.
    const factory = serverFactory(loop, clientConnected as ClientConnectedCallback, limit);
    return follow(loop.createUnixServer(factory, path, serverOptions), loop, (server) => server, true);
  });
}

function connectStream(
  loop: BaseEventLoop,
  limit: number | undefined,
  connect: (factory: () => Protocol) => FutureLike<[Transport, unknown]>,
): Future<[StreamReader, StreamWriter]> {
  const reader = new StreamReader(limit === undefined ? { loop } : { limit, loop });
  const protocol = new StreamReaderProtocol(reader, null, { loop });
  return follow(connect(() => protocol), loop, ([transport]) => [reader, new StreamWriter(transport, protocol, reader, loop)], true);
}

function serverFactory(loop: BaseEventLoop, clientConnected: ClientConnectedCallback, limit: number | undefined): () => Protocol {
  if (typeof clientConnected !== 'function') throw new TypeError(`clientConnected must be a function, got ${typeof clientConnected}`);
  // Check the limit now rather than on the first client.
  new StreamReader(limit === undefined ? { loop } : { limit, loop });
  return () => new StreamReaderProtocol(new StreamReader(limit === undefined ? { loop } : { limit, loop }), clientConnected, { loop });
}

/**
 * A future on `loop` with `map(source's result)`, or its error. Cancelling
 * it cancels `source` when `propagateCancel` (the operation it stands for),
 * else leaves `source` alone (a shared future such as the closed one).
 */
function follow<S, T>(source: FutureLike<S>, loop: BaseEventLoop, map: (value: S) => T, propagateCancel: boolean): Future<T> {
  const result = loop.createFuture<T>();
  const onDone = () => {
    if (result.done()) return;
    if (source.cancelled()) {
      result.cancel();
      return;
    }
    const error = source.exception();
    if (error !== null) {
      result.setException(error);
      return;
    }
    try {
      result.setResult(map(source.result()));
    } catch (mapError) {
      result.setException(mapError);
    }
  };
  if (isFuture(source)) {
    source.addDoneCallback(onDone);
  } else {
    source.then(onDone, onDone);
  }
  result.addDoneCallback(() => {
    if (result.cancelled() && propagateCancel) source.cancel();
  });
  return result;
}

/** Settle `target` as `source` settled (`source` is done or will be). */
function forward<T>(source: Future<T>, target: Future<T>): void {
  source.addDoneCallback(() => {
    if (target.done()) return;
    if (source.cancelled()) target.cancel();
    else if (source.exception() !== null) target.setException(source.exception());
    else target.setResult(source.result());
  });
}

function connectionLostError(): Error {
  return new ConnectionResetError(errnoNumber('ECONNRESET') ?? 104, 'write', 'Connection lost', 'ECONNRESET');
}

function isAsyncFunction(value: unknown): boolean {
  return typeof value === 'function' && value.constructor?.name === 'AsyncFunction';
}

function isAwaitable(value: unknown): boolean {
  return isFuture(value) || isCoroutineObject(value) || isGenerator(value) || isThenable(value);
}
