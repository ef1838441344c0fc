import {
  EVENT_READ,
  EVENT_WRITE,
  OSError,
  fileobjToFd,
  type AddrInfo,
  type BackendDescriptor,
  type BaseSelector,
  type FileObject,
} from '@evloop/interface';
import { BaseEventLoop } from '../base/base-event-loop.js';
import { Handle } from '../loop/handles.js';
import { resolveBackend } from '../loop/discovery.js';
import type { Future } from '../futures/future.js';
import * as network from './selector-network.js';
import type { SelectorTransport } from './selector-transports.js';
import type { Server } from '../base/server.js';
import type { SocketLike, SocketAddress } from '../net/socket-module.js';
import { UnixReadPipeTransport, UnixWritePipeTransport, type PipeLike } from './unix-pipe-transports.js';
import { subprocessExec, type SubprocessOptions } from '../subprocess/subprocess-transport.js';
import type { SSLContext } from '../tls/ssl-context.js';
import { startTls, type SSLOption, type StartTlsOptions } from '../tls/ssl-connection.js';
import type { SSLTransport } from '../tls/ssl-transport.js';
import type { ReadTransport, SubprocessProtocol as SubprocessProtocolContract, SubprocessTransport, WriteTransport } from '@evloop/interface';

type ReaderWriter = [reader: Handle | null, writer: Handle | null];

/**
 * asyncio's `SelectorEventLoop`: the loop on a readiness backend. Give it a
 * selector (`new SelectorEventLoop(new PollSelector())`), or let it make one
 * from the backend the default policy would choose.
 */
export class SelectorEventLoop extends BaseEventLoop {
  readonly backend: BackendDescriptor | undefined;
  /** @internal */ readonly _selector: BaseSelector<ReaderWriter>;
  /** @internal Transports by fd: what the loop closes in `close()`, and what sock* methods must not touch. */
  readonly _transports = new Map<number, SelectorTransport>();
  /** @internal Servers still listening. */
  readonly _servers = new Set<Server>();

  constructor(selector?: BaseSelector, options: { backend?: BackendDescriptor } = {}) {
    super();
    if (selector === undefined) {
      const descriptor = options.backend ?? resolveBackend();
      this.backend = descriptor;
      selector = descriptor.createSelector!();
    } else {
      this.backend = options.backend;
    }
    this._selector = selector as BaseSelector<ReaderWriter>;
  }

  /** The selector this loop polls. */
  get selector(): BaseSelector {
    return this._selector;
  }

  protected _pollBackend(): void {
    const selector = this._selector;
    if (selector.getMap().size === 0) return;
    const count = selector.selectInto(0);
    if (count === 0) return;
    const buffer = selector.readyBuffer;
    const map = selector.getMap();
    for (let i = 0; i < count; i++) {
      const fd = buffer[2 * i]!;
      const key = map.get(fd);
      if (key === undefined) continue;
      const events = buffer[2 * i + 1]! & key.events;
      const [reader, writer] = key.data;
      if ((events & EVENT_READ) !== 0 && reader !== null) {
        if (reader._cancelled) this._removeCallback(fd, EVENT_READ);
        else this._addReady(reader);
      }
      if ((events & EVENT_WRITE) !== 0 && writer !== null) {
        if (writer._cancelled) this._removeCallback(fd, EVENT_WRITE);
        else this._addReady(writer);
      }
    }
  }

  protected _startWatching(onReady: () => void): void {
    this._selector.watch(onReady);
  }

  protected _stopWatching(): void {
    this._selector.unwatch();
  }

  protected _closeBackend(): void {
    this._selector.close();
  }

  /**
   * Close the loop and what it still owns: listening sockets and the
   * sockets of open transports (their protocols are not called: no callback
   * runs on a closed loop).
   */
  override close(): void {
    if (!this._running && !this._closed) network.closeOwned(this);
    super.close();
  }

  // --- Low-level socket operations (asyncio's sock_* coroutines) ---

  /** Receive up to `nbytes` from a non-blocking socket. Cancelling the future stops waiting. */
  sockRecv(sock: SocketLike, nbytes: number): Future<Buffer> {
    return network.sockRecv(this, sock, nbytes);
  }

  /** Receive into `buffer`; the future is the byte count (0 at EOF). */
  sockRecvInto(sock: SocketLike, buffer: Uint8Array): Future<number> {
    return network.sockRecvInto(this, sock, buffer);
  }

  /** Receive a datagram: `[data, address]`. */
  sockRecvfrom(sock: SocketLike, bufsize: number): Future<[Buffer, SocketAddress | null]> {
    return network.sockRecvfrom(this, sock, bufsize);
  }

  /** Receive a datagram into `buffer`: `[count, address]`. */
  sockRecvfromInto(sock: SocketLike, buffer: Uint8Array, nbytes = 0): Future<[number, SocketAddress | null]> {
    return network.sockRecvfromInto(this, sock, buffer, nbytes);
  }

  /** Send all of `data`, waiting for writability as needed. */
  sockSendall(sock: SocketLike, data: Uint8Array): Future<void> {
    return network.sockSendall(this, sock, data);
  }

  /** Send a datagram to `address`; the future is the count sent. */
  sockSendto(sock: SocketLike, data: Uint8Array, address: unknown): Future<number> {
    return network.sockSendto(this, sock, data, address);
  }

  /** Connect to `address` (a host name is resolved first with `getaddrinfo`). */
  sockConnect(sock: SocketLike, address: unknown): Future<void> {
    return network.sockConnect(this, sock, address);
  }

  /** Accept a connection: `[socket, address]`; the new socket is non-blocking. */
  sockAccept(sock: SocketLike): Future<[SocketLike, SocketAddress | null]> {
    return network.sockAccept(this, sock);
  }

  // --- Names ---

  /**
   * Python's `getaddrinfo`: `[family, type, proto, canonname, sockaddr]`
   * tuples. Numeric hosts (and null) need no lookup; names go to
   * `dns.lookup`. A type of 0 gives one entry per socket type, as glibc.
   */
  getaddrinfo(host: string | null, port: string | number | null, options: network.AddrInfoOptions = {}): Future<AddrInfo[]> {
    return network.getaddrinfo(this, host, port, options);
  }

  /** Python's `getnameinfo`: `[host, service]`, through `dns.lookupService` unless the flags ask for numbers. */
  getnameinfo(sockaddr: [string, number, ...number[]], flags = 0): Future<[string, string]> {
    return network.getnameinfo(this, sockaddr, flags);
  }

  // --- Transports and servers ---

  /** Open a stream connection; resolves to `[transport, protocol]`. See {@link network.CreateConnectionOptions}. */
  createConnection<P extends object>(
    protocolFactory: () => P,
    host: string | null = null,
    port: number | string | null = null,
    options: network.CreateConnectionOptions = {},
  ): Future<[network.SocketTransport, P]> {
    return network.createConnection(this, protocolFactory, host, port, options);
  }

  /** Open a Unix stream connection to `path` (or wrap `options.sock`). */
  createUnixConnection<P extends object>(protocolFactory: () => P, path: string | null = null, options: network.CreateUnixConnectionOptions = {}): Future<[network.SocketTransport, P]> {
    return network.createUnixConnection(this, protocolFactory, path, options);
  }

  /** Wrap a connected stream socket accepted outside the loop (asyncio's `connect_accepted_socket`). */
  connectAcceptedSocket<P extends object>(
    protocolFactory: () => P,
    sock: SocketLike,
    options: { ssl?: SSLOption; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
  ): Future<[network.SocketTransport, P]> {
    return network.connectAcceptedSocket(this, protocolFactory, sock, options);
  }

  /** Listen on TCP; resolves to a started {@link Server}. See {@link network.CreateServerOptions}. */
  createServer(
    protocolFactory: () => object,
    host: string | readonly string[] | null = null,
    port: number | string | null = null,
    options: network.CreateServerOptions = {},
  ): Future<Server> {
    return network.createServer(this, protocolFactory, host, port, options);
  }

  /** Listen on a Unix socket path (or Linux abstract name starting with '\\0'). */
  createUnixServer(protocolFactory: () => object, path: string | null = null, options: network.CreateUnixServerOptions = {}): Future<Server> {
    return network.createUnixServer(this, protocolFactory, path, options);
  }

  /**
   * Upgrade an open connection to TLS (asyncio's `start_tls`): resolves to
   * the new transport once the handshake is done; `protocol` keeps going
   * with it (no second connectionMade) and the old transport is retired.
   */
  startTls(transport: unknown, protocol: object, sslContext: SSLContext, options: StartTlsOptions = {}): Future<SSLTransport> {
    return startTls(this, transport, protocol, sslContext, options);
  }

  /** A UDP (or Unix datagram) endpoint: `[transport, protocol]`. */
  createDatagramEndpoint<P extends object>(protocolFactory: () => P, options: network.CreateDatagramEndpointOptions = {}): Future<[network.DatagramSocketTransport, P]> {
    return network.createDatagramEndpoint(this, protocolFactory, options);
  }

  // ---- pipes and subprocesses ----

  /**
   * Read a pipe, FIFO, socket or character device (a PTY) with a protocol:
   * asyncio's `connect_read_pipe`. The transport owns `pipe` and closes it.
   */
  connectReadPipe<P extends object>(protocolFactory: () => P, pipe: PipeLike): Future<[ReadTransport, P]> {
    return this._connectPipe(UnixReadPipeTransport, protocolFactory, pipe);
  }

  /** Write to a pipe, FIFO, socket or character device with a protocol: asyncio's `connect_write_pipe`. */
  connectWritePipe<P extends object>(protocolFactory: () => P, pipe: PipeLike): Future<[WriteTransport, P]> {
    return this._connectPipe(UnixWritePipeTransport, protocolFactory, pipe);
  }

  /** @internal Make the pipe transport; resolve once it is connected (closing it if that is cancelled). */
  _connectPipe<T extends UnixReadPipeTransport | UnixWritePipeTransport, P extends object>(
    Transport: new (loop: SelectorEventLoop, pipe: PipeLike, protocol: never, waiter: Future<void>) => T,
    protocolFactory: () => P,
    pipe: PipeLike,
  ): Future<[T, P]> {
    this._checkClosed();
    if (typeof protocolFactory !== 'function') throw new TypeError('protocolFactory must be a function');
    const protocol = protocolFactory();
    const waiter = this.createFuture<void>();
    const transport = new Transport(this, pipe, protocol as never, waiter);
    return this.createTask(function* connected(): Generator<unknown, [T, P], unknown> {
      try {
        yield* waiter;
      } catch (error) {
        transport.close();
        throw error;
      }
      return [transport, protocol];
    });
  }

  /**
   * Run `program` with `args` (no shell): asyncio's `subprocess_exec`.
   * stdin/stdout/stderr default to PIPE; each may be PIPE, STDOUT (stderr
   * only), DEVNULL, an fd, an object with `fileno()`, or null to inherit.
   */
  subprocessExec<P extends SubprocessProtocolContract>(
    protocolFactory: () => P,
    program: string,
    args: string[] = [],
    options: SubprocessOptions = {},
  ): Future<[SubprocessTransport, P]> {
    return subprocessExec(this, protocolFactory, program, args, options, true) as Future<[SubprocessTransport, P]>;
  }

  /** Run `command` with the system shell (`/bin/sh -c`): asyncio's `subprocess_shell`. */
  subprocessShell<P extends SubprocessProtocolContract>(protocolFactory: () => P, command: string, options: SubprocessOptions = {}): Future<[SubprocessTransport, P]> {
    if (typeof command !== 'string') throw new TypeError(`command must be a string, got ${command === null ? 'null' : typeof command}`);
    if (options !== null && typeof options === 'object' && options.shell === false) throw new RangeError('shell must be true');
    const { shell: _shell, ...rest } = options ?? {};
    return subprocessExec(this, protocolFactory, '/bin/sh', ['-c', command], rest, true) as Future<[SubprocessTransport, P]>;
  }

  /** @internal */
  _startServing(protocolFactory: () => object, sock: SocketLike, server: Server, backlog: number): void {
    this._addCallback(sock.fileno(), EVENT_READ, network.acceptConnection as (...args: unknown[]) => unknown, [this, protocolFactory, sock, server, backlog]);
  }

  /** @internal */
  _stopServing(sock: SocketLike): void {
    const fd = sock.fileno();
    if (fd >= 0) this._removeCallbackOf(fd, 'reader');
    sock.close();
  }

  /** @internal Remove the reader or writer of `fd`, if the loop is still open. */
  _removeCallbackOf(fd: number, kind: 'reader' | 'writer'): void {
    if (this._closed) return;
    this._removeCallback(fd, kind === 'reader' ? EVENT_READ : EVENT_WRITE);
  }

  /** @internal The reader (or writer) handle of `fd`, if any. */
  _callbackOf(fd: number, kind: 'reader' | 'writer'): Handle | null {
    const key = this._selector.getMap().get(fd);
    if (key === undefined) return null;
    return kind === 'reader' ? key.data[0] : key.data[1];
  }

  /**
   * Call `callback(...args)` whenever `fd` is readable, until `removeReader`.
   * Replaces an earlier reader of the same fd. An fd the backend cannot watch
   * (a regular file on epoll) throws an `OSError` that says so.
   */
  addReader<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this._addCallback(fd, EVENT_READ, callback as (...args: unknown[]) => unknown, args);
  }

  /** Stop watching `fd` for reading; returns whether a reader was removed. */
  removeReader(fd: FileObject): boolean {
    if (this._closed) return false;
    return this._removeCallback(fileobjToFd(fd), EVENT_READ);
  }

  addWriter<A extends unknown[]>(fd: FileObject, callback: (...args: A) => unknown, ...args: A): void {
    this._addCallback(fd, EVENT_WRITE, callback as (...args: unknown[]) => unknown, args);
  }

  removeWriter(fd: FileObject): boolean {
    if (this._closed) return false;
    return this._removeCallback(fileobjToFd(fd), EVENT_WRITE);
  }

  /** @internal */
  _addCallback(fileobj: FileObject, event: number, callback: (...args: unknown[]) => unknown, args: unknown[]): void {
    this._checkClosed();
    if (typeof callback !== 'function') throw new TypeError(`callback must be a function, got ${typeof callback}`);
    const fd = fileobjToFd(fileobj);
    const handle = new Handle(callback, args.length === 0 ? null : args, this);
    const selector = this._selector;
    const key = selector.getMap().get(fd);
    try {
      if (key === undefined) {
        selector.register(fd, event, event === EVENT_READ ? [handle, null] : [null, handle]);
        return;
      }
      const [reader, writer] = key.data;
      const data: ReaderWriter = event === EVENT_READ ? [handle, writer] : [reader, handle];
      if ((key.events & event) !== 0) {
        // Same events: the fd may have been closed and its number reused
        // since; register it afresh so the new file is really watched.
        selector.unregister(fd);
        selector.register(fd, key.events, data);
      } else {
        selector.modify(fd, key.events | event, data);
      }
      const previous = event === EVENT_READ ? reader : writer;
      previous?.cancel();
    } catch (error) {
      throw explainRegisterError(error, fd, this._selector.backendName);
    }
  }

  /** @internal */
  _removeCallback(fd: number, event: number): boolean {
    const selector = this._selector;
    const key = selector.getMap().get(fd);
    if (key === undefined) return false;
    const [reader, writer] = key.data;
    const mask = key.events & ~event;
    if (mask === 0) selector.unregister(fd);
    else selector.modify(fd, mask, event === EVENT_READ ? [null, writer] : [reader, null]);
    const handle = event === EVENT_READ ? reader : writer;
    if (handle === null) return false;
    handle.cancel();
    return true;
  }
}

function explainRegisterError(error: unknown, fd: number, backendName: string): unknown {
  if (OSError.isInstance(error) && error.code === 'EPERM') {
    const explained = new OSError(
      error.errno,
      error.syscall,
      `fd ${fd} cannot be watched by the ${backendName} backend (${error.code}): regular files and directories are always ready; read them with node:fs instead`,
      error.code,
    );
    Object.setPrototypeOf(explained, Object.getPrototypeOf(error));
    return explained;
  }
  return error;
}
