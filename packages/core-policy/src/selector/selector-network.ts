import dns from 'node:dns';
import fs from 'node:fs';
import {
  BlockingIOError,
  ConnectionAbortedError,
  EVENT_READ,
  EVENT_WRITE,
  InterruptedError,
  OSError,
  RuntimeError,
  osErrorFromErrno,
  type AddrInfo,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import {
  AI_PASSIVE,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  gaiError,
  interleaveAddrInfos,
  lookupAll,
  numericAddress,
  resolveWithoutDns,
  type AddrInfoOptions,
} from '../net/addresses.js';
import type { SelectorEventLoop } from './selector-event-loop.js';
import { SelectorDatagramTransport, SelectorSocketTransport } from './selector-transports.js';
import { Server, type UnixSocketFile } from '../base/server.js';
import { sysConstant, sysModule, type SocketAddress, type SocketLike } from '../net/socket-module.js';
import { clientTlsSettings, serverTlsContext, sslServerProtocolFactory, startSslConnection, type ClientTlsSettings, type SSLOption } from '../tls/ssl-connection.js';
import type { SSLTransport } from '../tls/ssl-transport.js';

export type { AddrInfoOptions };
/** A connection's transport: the socket transport, or the TLS transport over it when `ssl` is given. */
export type SocketTransport = SelectorSocketTransport | SSLTransport;
export type DatagramSocketTransport = SelectorDatagramTransport;

/** Seconds to stop accepting after accept() failed for lack of fds or memory (asyncio's ACCEPT_RETRY_DELAY). */
export const ACCEPT_RETRY_DELAY = 1;

const OUT_OF_RESOURCES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

function wouldBlock(error: unknown): boolean {
  return BlockingIOError.isInstance(error) || InterruptedError.isInstance(error);
}

function constant(name: string): number {
  return sysConstant(name)!;
}

function newSocket(family: number, type: number, proto: number): SocketLike {
  return new (sysModule().Socket)(family, type, proto);
}

function checkSocket(loop: SelectorEventLoop, sock: SocketLike): void {
  if (sock === null || typeof sock !== 'object' || typeof sock.fileno !== 'function') {
    throw new TypeError(`expected a Socket (from @evloop/sys), got ${sock === null ? 'null' : typeof sock}`);
  }
  if (sock.getBlocking()) throw new RangeError('the socket must be non-blocking');
  ensureNoTransport(loop, sock.fileno());
}

function ensureNoTransport(loop: SelectorEventLoop, fd: number): void {
  const transport = loop._transports.get(fd);
  if (transport !== undefined && !transport.isClosing()) {
    throw new RuntimeError(`File descriptor ${fd} is used by transport ${transport.toString()}`);
  }
}

function resolved<T>(loop: SelectorEventLoop, value: T): Future<T> {
  const future = loop.createFuture<T>();
  future.setResult(value);
  return future;
}

function failed<T>(loop: SelectorEventLoop, error: unknown): Future<T> {
  const future = loop.createFuture<T>();
  future.setException(error);
  return future;
}

type Attempt<T> = (future: Future<T>) => void;

/**
 * The shape of every sock* method: try now; on EAGAIN watch the fd with
 * `attempt` as reader or writer until the future is done; the watch is
 * removed when it is (including by cancellation), if it is still ours.
 */
function waitFor<T>(loop: SelectorEventLoop, sock: SocketLike, event: number, attempt: Attempt<T>): Future<T> {
  const future = loop.createFuture<T>();
  const fd = sock.fileno();
  loop._addCallback(fd, event, attempt as (...args: unknown[]) => unknown, [future]);
  const kind = event === EVENT_READ ? 'reader' : 'writer';
  const handle = loop._callbackOf(fd, kind);
  future.addDoneCallback(() => {
    if (loop._closed) return;
    if (loop._callbackOf(fd, kind) === handle) loop._removeCallbackOf(fd, kind);
  });
  return future;
}

/** Run `operation`; its result settles `future` unless it would block (then false: keep waiting). */
function settle<T>(future: Future<T>, operation: () => T): boolean {
  if (future.done()) return true;
  let value: T;
  try {
    value = operation();
  } catch (error) {
    if (wouldBlock(error)) return false;
    future.setException(error);
    return true;
  }
  future.setResult(value);
  return true;
}

function sockOperation<T>(loop: SelectorEventLoop, sock: SocketLike, event: number, operation: () => T): Future<T> {
  loop._checkClosed();
  try {
    checkSocket(loop, sock);
    return resolved(loop, operation());
  } catch (error) {
    if (!wouldBlock(error)) return failed(loop, error);
  }
  return waitFor<T>(loop, sock, event, (future) => {
    settle(future, operation);
  });
}

export function sockRecv(loop: SelectorEventLoop, sock: SocketLike, nbytes: number): Future<Buffer> {
  return sockOperation(loop, sock, EVENT_READ, () => sock.recv(nbytes));
}

export function sockRecvInto(loop: SelectorEventLoop, sock: SocketLike, buffer: Uint8Array): Future<number> {
  return sockOperation(loop, sock, EVENT_READ, () => sock.recvInto(buffer));
}

export function sockRecvfrom(loop: SelectorEventLoop, sock: SocketLike, bufsize: number): Future<[Buffer, SocketAddress | null]> {
  return sockOperation(loop, sock, EVENT_READ, () => sock.recvfrom(bufsize));
}

export function sockRecvfromInto(loop: SelectorEventLoop, sock: SocketLike, buffer: Uint8Array, nbytes: number): Future<[number, SocketAddress | null]> {
  return sockOperation(loop, sock, EVENT_READ, () => sock.recvfromInto(buffer, nbytes));
}

export function sockSendto(loop: SelectorEventLoop, sock: SocketLike, data: Uint8Array, address: unknown): Future<number> {
  return sockOperation(loop, sock, EVENT_WRITE, () => sock.sendto(data, address));
}

export function sockAccept(loop: SelectorEventLoop, sock: SocketLike): Future<[SocketLike, SocketAddress | null]> {
  return sockOperation(loop, sock, EVENT_READ, () => sock.accept({ blocking: false }));
}

export function sockSendall(loop: SelectorEventLoop, sock: SocketLike, data: Uint8Array): Future<void> {
  loop._checkClosed();
  let sent = 0;
  try {
    checkSocket(loop, sock);
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
    sent = data.length === 0 ? 0 : sock.send(data);
  } catch (error) {
    if (!wouldBlock(error)) return failed(loop, error);
  }
  if (sent === data.length) return resolved(loop, undefined);
  return waitFor<void>(loop, sock, EVENT_WRITE, (future) => {
    if (future.done()) return;
    try {
      sent += sock.send(data.subarray(sent));
    } catch (error) {
      if (!wouldBlock(error)) future.setException(error);
      return;
    }
    if (sent === data.length) future.setResult(undefined);
  });
}

export function sockConnect(loop: SelectorEventLoop, sock: SocketLike, address: unknown): Future<void> {
  loop._checkClosed();
  try {
    checkSocket(loop, sock);
  } catch (error) {
    return failed(loop, error);
  }
  if (!numericAddress(sock.family, address)) {
    const [host, port] = address as [string, number];
    return loop.createTask(async () => {
      const infos = await loop.getaddrinfo(host, port, { family: sock.family, type: sock.type, proto: sock.proto });
      if (infos.length === 0) throw gaiError('EAI_NONAME', `${host}: no address`);
      await connectNow(loop, sock, infos[0]![4]);
    });
  }
  return connectNow(loop, sock, address);
}

function connectNow(loop: SelectorEventLoop, sock: SocketLike, address: unknown): Future<void> {
  try {
    sock.connect(address);
    return resolved(loop, undefined);
  } catch (error) {
    if (!wouldBlock(error)) return failed(loop, error);
  }
  return waitFor<void>(loop, sock, EVENT_WRITE, (future) => {
    if (future.done()) return;
    let errno: number;
    try {
      errno = sock.getsockopt(constant('SOL_SOCKET'), constant('SO_ERROR'));
    } catch (error) {
      future.setException(error);
      return;
    }
    if (errno === 0) future.setResult(undefined);
    else {
      const error = osErrorFromErrno(errno, 'connect');
      const message = `Connect call failed ${JSON.stringify(address)}: ${error.message}`;
      future.setException(osErrorFromErrno(errno, 'connect', message));
    }
  });
}

// --- Names ---

export function getaddrinfo(loop: SelectorEventLoop, host: string | null, port: string | number | null, options: AddrInfoOptions = {}): Future<AddrInfo[]> {
  loop._checkClosed();
  let infos: AddrInfo[] | undefined;
  try {
    infos = resolveWithoutDns(host, port, options);
  } catch (error) {
    return failed(loop, error);
  }
  if (infos !== undefined) return resolved(loop, infos);
  const future = loop.createFuture<AddrInfo[]>();
  lookupAll(host!, port, options, (error, result) => {
    if (future.done() || loop._closed) return;
    if (error !== null) future.setException(error);
    else future.setResult(result!);
  });
  return future;
}

export function getnameinfo(loop: SelectorEventLoop, sockaddr: [string, number, ...number[]], flags = 0): Future<[string, string]> {
  loop._checkClosed();
  if (!Array.isArray(sockaddr) || typeof sockaddr[0] !== 'string' || typeof sockaddr[1] !== 'number') {
    return failed(loop, new TypeError('getnameinfo() argument 1 must be a [host, port] array'));
  }
  const [host, port] = sockaddr;
  if ((flags & NI_NUMERICHOST) !== 0 && (flags & NI_NUMERICSERV) !== 0) return resolved(loop, [host, String(port)]);
  const future = loop.createFuture<[string, string]>();
  dns.lookupService(host, port, (error, hostname, service) => {
    if (future.done() || loop._closed) return;
    if (error) {
      const record = error as NodeJS.ErrnoException;
      future.setException(gaiError(record.code ?? 'EAI_FAIL', `${host}: ${record.message}`, 'getnameinfo'));
      return;
    }
    future.setResult([(flags & NI_NUMERICHOST) !== 0 ? host : hostname, (flags & NI_NUMERICSERV) !== 0 ? String(port) : service]);
  });
  return future;
}

// --- Connections ---

export interface CreateConnectionOptions {
  /** TLS: `true` (verify the server against the default CAs and `serverHostname`) or an SSLContext. */
  ssl?: SSLOption;
  family?: number;
  proto?: number;
  flags?: number;
  /** An already created stream socket to use instead of host/port (made non-blocking). */
  sock?: SocketLike;
  /** `[host, port]` to bind the socket to before connecting. */
  localAddr?: [string, number] | null;
  /** The name TLS checks the certificate against (and sends as SNI); defaults to `host`; `''` turns matching off. Only with `ssl`. */
  serverHostname?: string | null;
  /** Seconds between staggered connection attempts (RFC 8305 Happy Eyeballs); off when undefined/null. */
  happyEyeballsDelay?: number | null;
  /** Reorder addresses so families alternate; defaults to 1 when happyEyeballsDelay is given. */
  interleave?: number | null;
  /** Seconds the TLS handshake may take (default 60); only with `ssl`. */
  sslHandshakeTimeout?: number | null;
  /** Seconds `close()` waits for the peer's close_notify before aborting (default 30); only with `ssl`. */
  sslShutdownTimeout?: number | null;
}

export interface CreateUnixConnectionOptions {
  ssl?: SSLOption;
  sock?: SocketLike;
  /** Required with `ssl` (there is no host to default to); `''` turns host name matching off. */
  serverHostname?: string | null;
  sslHandshakeTimeout?: number | null;
  sslShutdownTimeout?: number | null;
}

/** asyncio's rule for reporting every failed attempt: one error as is, identical ones as the first, else a combined OSError. */
export function combineErrors(errors: unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const model = String(errors[0]);
  if (errors.every((error) => String(error) === model)) return errors[0];
  const combined = new OSError(0, 'connect', `Multiple exceptions: ${errors.map(String).join(', ')}`, 'EMULTIPLE');
  Object.defineProperty(combined, 'errors', { value: errors, enumerable: false });
  return combined;
}

async function connectSock(loop: SelectorEventLoop, errors: unknown[], info: AddrInfo, localInfos: AddrInfo[] | null): Promise<SocketLike> {
  const [family, type, proto, , address] = info;
  let sock: SocketLike | null = null;
  const ownErrors: unknown[] = [];
  try {
    sock = newSocket(family, type, proto);
    sock.setBlocking(false);
    if (localInfos !== null) {
      let bound = false;
      for (const local of localInfos) {
        if (local[0] !== family) continue;
        try {
          sock.bind(local[4]);
          bound = true;
          break;
        } catch (error) {
          ownErrors.push(bindError(error, local[4]));
        }
      }
      if (!bound) {
        throw ownErrors.pop() ?? new OSError(0, 'bind', `no matching local address with family=${family} found`, 'EADDRNOTAVAIL');
      }
    }
    await sockConnect(loop, sock, address);
    return sock;
  } catch (error) {
    errors.push(...ownErrors, error);
    sock?.close();
    throw error;
  }
}

function bindError(error: unknown, address: unknown): unknown {
  if (!OSError.isInstance(error)) return error;
  return osErrorFromErrno(error.errno, 'bind', `error while attempting to bind on address ${JSON.stringify(address)}: ${error.message}`);
}

/**
 * Start connection attempts `delay` seconds apart (or at once when one
 * fails); the first to connect wins and the others are cancelled or closed.
 * asyncio's `staggered_race` for `create_connection`.
 */
function happyEyeballs(loop: SelectorEventLoop, infos: AddrInfo[], localInfos: AddrInfo[] | null, delay: number, errors: unknown[]): Future<SocketLike> {
  const winner = loop.createFuture<SocketLike>();
  const attempts: Future<SocketLike>[] = [];
  let next = 0;
  let finished = 0;
  let timer: { cancel(): void } | null = null;
  const startNext = (): void => {
    timer?.cancel();
    timer = null;
    if (winner.done() || next >= infos.length) return;
    const info = infos[next++]!;
    const attempt = loop.createTask(() => connectSock(loop, errors, info, localInfos));
    attempts.push(attempt);
    attempt.addDoneCallback(onAttemptDone);
    if (next < infos.length) timer = loop.callLater(delay, startNext);
  };
  const onAttemptDone = (attempt: Future<SocketLike>): void => {
    finished++;
    if (attempt.cancelled()) return;
    const error = attempt.exception();
    if (error === null) {
      const sock = attempt.result();
      if (winner.done()) {
        sock.close();
        return;
      }
      winner.setResult(sock);
      return;
    }
    if (winner.done()) return;
    if (next < infos.length) startNext();
    else if (finished === attempts.length) winner.setException(combineErrors(errors));
  };
  winner.addDoneCallback(() => {
    timer?.cancel();
    for (const attempt of attempts) if (!attempt.done()) attempt.cancel();
  });
  startNext();
  return winner;
}

/** Make the protocol and its transport, and wait until connectionMade has run; closes the socket (or transport) on failure. */
async function startTransport<P extends object, T extends { close(): void }>(
  loop: SelectorEventLoop,
  sock: SocketLike,
  protocolFactory: () => P,
  make: (protocol: P, waiter: Future<void>) => T,
): Promise<[T, P]> {
  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (error) {
    sock.close();
    throw error;
  }
  const waiter = loop.createFuture<void>();
  const transport = make(protocol, waiter);
  try {
    await waiter;
  } catch (error) {
    transport.close();
    throw error;
  }
  return [transport, protocol];
}

function makeConnectionTransport<P extends object>(loop: SelectorEventLoop, sock: SocketLike, protocolFactory: () => P, tls: ClientTlsSettings | null): Promise<[SocketTransport, P]> {
  sock.setBlocking(false);
  // The peer's address is kept from the start, so it is still known after the connection is lost.
  let extra: Record<string, unknown> | null = null;
  try {
    const peername = sock.getpeername();
    if (peername !== null) extra = { peername };
  } catch {
    // not connected (yet): looked up on demand
  }
  if (tls !== null) return startSslConnection(loop, sock, protocolFactory, extra, tls);
  return startTransport(loop, sock, protocolFactory, (protocol, waiter) => new SelectorSocketTransport(loop, sock, protocol as never, waiter, extra, null));
}

export function createConnection<P extends object>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  host: string | null,
  port: number | string | null,
  options: CreateConnectionOptions,
): Future<[SocketTransport, P]> {
  loop._checkClosed();
  return loop.createTask(async () => {
    const tls = clientTlsSettings(loop, options, host);
    const stream = constant('SOCK_STREAM');
    let sock: SocketLike;
    if (host !== null || port !== null) {
      if (options.sock !== undefined && options.sock !== null) throw new RangeError('host/port and sock can not be specified at the same time');
      const query = { family: options.family ?? 0, type: stream, proto: options.proto ?? 0, flags: options.flags ?? 0 };
      let infos = await loop.getaddrinfo(host, port, query);
      if (infos.length === 0) throw new OSError(0, 'getaddrinfo', 'getaddrinfo() returned empty list', 'EAI_NONAME');
      let localInfos: AddrInfo[] | null = null;
      if (options.localAddr !== undefined && options.localAddr !== null) {
        localInfos = await loop.getaddrinfo(options.localAddr[0], options.localAddr[1], query);
        if (localInfos.length === 0) throw new OSError(0, 'getaddrinfo', 'getaddrinfo() returned empty list', 'EAI_NONAME');
      }
      const delay = options.happyEyeballsDelay;
      const interleave = options.interleave ?? (delay !== undefined && delay !== null ? 1 : 0);
      if (interleave) infos = interleaveAddrInfos(infos, interleave);
      const errors: unknown[] = [];
      if (delay === undefined || delay === null) {
        let connected: SocketLike | null = null;
        for (const info of infos) {
          try {
            connected = await connectSock(loop, errors, info, localInfos);
            break;
          } catch (error) {
            if (!OSError.isInstance(error)) throw error;
          }
        }
        if (connected === null) throw combineErrors(errors);
        sock = connected;
      } else {
        sock = await happyEyeballs(loop, infos, localInfos, delay, errors);
      }
    } else {
      if (options.sock === undefined || options.sock === null) throw new RangeError('host and port was not specified and no sock specified');
      sock = options.sock;
      if (sock.type !== stream) throw new RangeError(`A Stream Socket was expected, got ${String(sock)}`);
    }
    return makeConnectionTransport(loop, sock, protocolFactory, tls);
  });
}

/** asyncio's `connect_accepted_socket`: wrap a connected stream socket accepted outside the loop. */
export function connectAcceptedSocket<P extends object>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  sock: SocketLike,
  options: { ssl?: SSLOption; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
): Future<[SocketTransport, P]> {
  loop._checkClosed();
  return loop.createTask(async () => {
    // The socket was accepted: with ssl, this end is the TLS server.
    const tls = serverTlsContext(options);
    if (sock === null || typeof sock !== 'object' || sock.type !== constant('SOCK_STREAM')) throw new RangeError(`A Stream Socket was expected, got ${String(sock)}`);
    if (tls !== null) return startSslConnection(loop, sock, protocolFactory, null, { ...options, context: tls, serverSide: true });
    return makeConnectionTransport(loop, sock, protocolFactory, null);
  });
}

export function createUnixConnection<P extends object>(
  loop: SelectorEventLoop,
  protocolFactory: () => P,
  path: string | null,
  options: CreateUnixConnectionOptions,
): Future<[SocketTransport, P]> {
  loop._checkClosed();
  return loop.createTask(async () => {
    const tls = clientTlsSettings(loop, options, null);
    let sock: SocketLike;
    if (path !== null) {
      if (options.sock !== undefined && options.sock !== null) throw new RangeError('path and sock can not be specified at the same time');
      sock = newSocket(constant('AF_UNIX'), constant('SOCK_STREAM'), 0);
      try {
        sock.setBlocking(false);
        await sockConnect(loop, sock, path);
      } catch (error) {
        sock.close();
        throw error;
      }
    } else {
      if (options.sock === undefined || options.sock === null) throw new RangeError('no path and sock were specified');
      sock = options.sock;
      if (sock.family !== constant('AF_UNIX') || sock.type !== constant('SOCK_STREAM')) throw new RangeError(`A UNIX Domain Stream Socket was expected, got ${String(sock)}`);
    }
    return makeConnectionTransport(loop, sock, protocolFactory, tls);
  });
}

// --- Servers ---

export interface CreateServerOptions {
  family?: number;
  flags?: number;
  /** An already bound socket to listen on instead of host/port. */
  sock?: SocketLike;
  backlog?: number;
  /** TLS: an SSLContext('server') with a certificate chain (`loadCertChain`). */
  ssl?: SSLOption;
  /** SO_REUSEADDR; true by default on POSIX, as asyncio. */
  reuseAddress?: boolean;
  reusePort?: boolean;
  /** Listen at once (default); with false, call `server.startServing()` or `serveForever()` later. */
  startServing?: boolean;
  keepAlive?: boolean;
  /** Seconds each client's TLS handshake may take (default 60); only with `ssl`. */
  sslHandshakeTimeout?: number | null;
  /** Seconds a TLS `close()` waits for the client's close_notify (default 30); only with `ssl`. */
  sslShutdownTimeout?: number | null;
}

export interface CreateUnixServerOptions {
  sock?: SocketLike;
  backlog?: number;
  ssl?: SSLOption;
  startServing?: boolean;
  /** Remove the socket file when the server closes (default true, as asyncio 3.13). */
  cleanupSocket?: boolean;
  sslHandshakeTimeout?: number | null;
  sslShutdownTimeout?: number | null;
}

function finishServer(loop: SelectorEventLoop, sockets: SocketLike[], protocolFactory: () => object, backlog: number, startServing: boolean, files: UnixSocketFile[] = []): Server {
  const server = new Server(loop, sockets, protocolFactory as never, backlog, files);
  if (startServing) server._start();
  return server;
}

export function createServer(
  loop: SelectorEventLoop,
  protocolFactory: () => object,
  host: string | readonly string[] | null,
  port: number | string | null,
  options: CreateServerOptions,
): Future<Server> {
  loop._checkClosed();
  return loop.createTask(async () => {
    const tls = serverTlsContext(options);
    if (tls !== null) protocolFactory = sslServerProtocolFactory(loop, protocolFactory, tls, options);
    const backlog = options.backlog ?? 100;
    const stream = constant('SOCK_STREAM');
    let sockets: SocketLike[];
    if (host !== null || port !== null) {
      if (options.sock !== undefined && options.sock !== null) throw new RangeError('host/port and sock can not be specified at the same time');
      const hosts: Array<string | null> = host === null || host === '' ? [null] : typeof host === 'string' ? [host] : [...host];
      const query = { family: options.family ?? 0, type: stream, proto: 0, flags: (options.flags ?? 0) | AI_PASSIVE };
      const lists = await Promise.all(hosts.map((one) => loop.getaddrinfo(one, port, query)));
      const seen = new Set<string>();
      const infos: AddrInfo[] = [];
      for (const list of lists) {
        for (const info of list) {
          const key = JSON.stringify([info[0], info[1], info[2], info[4]]);
          if (seen.has(key)) continue;
          seen.add(key);
          infos.push(info);
        }
      }
      sockets = [];
      try {
        for (const [family, type, proto, , address] of infos) {
          let sock: SocketLike;
          try {
            sock = newSocket(family, type, proto);
          } catch (error) {
            // A family this host cannot make sockets for (no IPv6): skip it, as asyncio.
            if (!OSError.isInstance(error)) throw error;
            if (loop.getDebug()) logger.warning(`createServer() failed to create socket.socket(${family}, ${type}, ${proto}): ${String(error)}`);
            continue;
          }
          sockets.push(sock);
          if (options.reuseAddress ?? true) sock.setsockopt(constant('SOL_SOCKET'), constant('SO_REUSEADDR'), 1);
          if (options.reusePort) {
            const reusePort = sysConstant('SO_REUSEPORT');
            if (reusePort === undefined) throw new RangeError('reusePort not supported by this platform');
            sock.setsockopt(constant('SOL_SOCKET'), reusePort, 1);
          }
          if (options.keepAlive) sock.setsockopt(constant('SOL_SOCKET'), constant('SO_KEEPALIVE'), 1);
          // One socket per family: the v6 one must not also take the v4 addresses.
          if (family === constant('AF_INET6')) sock.setsockopt(constant('IPPROTO_IPV6'), constant('IPV6_V6ONLY'), 1);
          try {
            sock.bind(address);
          } catch (error) {
            throw bindError(error, address);
          }
        }
      } catch (error) {
        for (const sock of sockets) sock.close();
        throw error;
      }
      if (sockets.length === 0) throw new OSError(0, 'socket', `could not create a socket for any address of ${JSON.stringify(host)}`, 'EAFNOSUPPORT');
    } else {
      if (options.sock === undefined || options.sock === null) throw new RangeError('Neither host/port nor sock were specified');
      if (options.sock.type !== stream) throw new RangeError(`A Stream Socket was expected, got ${String(options.sock)}`);
      sockets = [options.sock];
    }
    for (const sock of sockets) sock.setBlocking(false);
    return finishServer(loop, sockets, protocolFactory, backlog, options.startServing ?? true);
  });
}

export function createUnixServer(loop: SelectorEventLoop, protocolFactory: () => object, path: string | null, options: CreateUnixServerOptions): Future<Server> {
  loop._checkClosed();
  return loop.createTask(async () => {
    const tls = serverTlsContext(options);
    if (tls !== null) protocolFactory = sslServerProtocolFactory(loop, protocolFactory, tls, options);
    const backlog = options.backlog ?? 100;
    let sock: SocketLike;
    const files: UnixSocketFile[] = [];
    if (path !== null) {
      if (options.sock !== undefined && options.sock !== null) throw new RangeError('path and sock can not be specified at the same time');
      const abstract = path.startsWith('\0');
      if (!abstract) removeStaleSocket(path);
      sock = newSocket(constant('AF_UNIX'), constant('SOCK_STREAM'), 0);
      try {
        sock.bind(path);
      } catch (error) {
        sock.close();
        if (OSError.isInstance(error) && error.code === 'EADDRINUSE') {
          throw osErrorFromErrno(error.errno, 'bind', `Address ${JSON.stringify(path)} is already in use`);
        }
        throw error;
      }
      if (!abstract && (options.cleanupSocket ?? true)) {
        try {
          const stat = fs.statSync(path);
          files.push({ path, dev: stat.dev, ino: stat.ino });
        } catch {
          // removed already by someone else
        }
      }
    } else {
      if (options.sock === undefined || options.sock === null) throw new RangeError('path was not specified, and no sock specified');
      sock = options.sock;
      if (sock.family !== constant('AF_UNIX') || sock.type !== constant('SOCK_STREAM')) throw new RangeError(`A UNIX Domain Stream Socket was expected, got ${String(sock)}`);
      if (options.cleanupSocket ?? true) {
        const name = sock.getsockname();
        if (typeof name === 'string' && name !== '' && !name.startsWith('\0')) {
          try {
            const stat = fs.statSync(name);
            files.push({ path: name, dev: stat.dev, ino: stat.ino });
          } catch {
            // no file to clean up
          }
        }
      }
    }
    sock.setBlocking(false);
    return finishServer(loop, [sock], protocolFactory, backlog, options.startServing ?? true, files);
  });
}

/** Remove a socket file left by an earlier process (only if it is a socket), as asyncio. */
function removeStaleSocket(path: string): void {
  try {
    if (fs.statSync(path).isSocket()) fs.unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.error(`Unable to check or remove stale UNIX socket ${JSON.stringify(path)}`, error);
  }
}

function resumeAccepting(loop: SelectorEventLoop, protocolFactory: () => object, sock: SocketLike, server: Server, backlog: number): void {
  if (loop._closed || server._sockets === null || !server._sockets.includes(sock) || sock.fileno() < 0) return;
  loop._startServing(protocolFactory, sock, server, backlog);
}

/** Readable listening socket: accept up to `backlog` connections, each with a transport of its own. */
export function acceptConnection(loop: SelectorEventLoop, protocolFactory: () => object, sock: SocketLike, server: Server, backlog: number): void {
  for (let i = 0; i < backlog; i++) {
    let conn: SocketLike;
    let address: SocketAddress | null;
    try {
      [conn, address] = sock.accept({ blocking: false });
    } catch (error) {
      if (wouldBlock(error) || ConnectionAbortedError.isInstance(error)) return;
      if (OSError.isInstance(error) && OUT_OF_RESOURCES.has(error.code)) {
        loop.callExceptionHandler({ message: 'socket.accept() out of system resource', exception: error, socket: sock });
        loop._removeCallbackOf(sock.fileno(), 'reader');
        loop.callLater(ACCEPT_RETRY_DELAY, resumeAccepting, loop, protocolFactory, sock, server, backlog);
        return;
      }
      throw error;
    }
    let protocol: object;
    try {
      protocol = protocolFactory();
    } catch (error) {
      conn.close();
      loop.callExceptionHandler({ message: 'Error on transport creation for incoming connection', exception: error, socket: sock });
      continue;
    }
    new SelectorSocketTransport(loop, conn, protocol as never, null, address === null ? null : { peername: address }, server);
  }
}

// --- Datagrams ---

export interface CreateDatagramEndpointOptions {
  localAddr?: [string, number] | string | null;
  remoteAddr?: [string, number] | string | null;
  family?: number;
  proto?: number;
  flags?: number;
  /** Refused, as asyncio since 3.8 (SO_REUSEADDR on UDP lets other processes steal datagrams). */
  reuseAddress?: boolean;
  reusePort?: boolean;
  allowBroadcast?: boolean;
  sock?: SocketLike;
}

export function createDatagramEndpoint<P extends object>(loop: SelectorEventLoop, protocolFactory: () => P, options: CreateDatagramEndpointOptions): Future<[SelectorDatagramTransport, P]> {
  loop._checkClosed();
  return loop.createTask(async () => {
    const dgram = constant('SOCK_DGRAM');
    if (options.reuseAddress) throw new RangeError('Passing `reuseAddress: true` is no longer supported, as it is a security risk for UDP; use reusePort');
    let sock: SocketLike | null = null;
    let remote: unknown = null;
    if (options.sock !== undefined && options.sock !== null) {
      const given = options.sock;
      if (given.type !== dgram) throw new RangeError(`A datagram socket was expected, got ${String(given)}`);
      if (options.localAddr || options.remoteAddr || options.family || options.proto || options.flags || options.reusePort || options.allowBroadcast) {
        throw new RangeError('socket modifier keyword arguments can not be used when sock is specified');
      }
      sock = given;
      sock.setBlocking(false);
    } else {
      const family = options.family ?? 0;
      const proto = options.proto ?? 0;
      const pairs: Array<[family: number, proto: number, local: unknown, remote: unknown]> = [];
      const local = options.localAddr ?? null;
      const remoteAddr = options.remoteAddr ?? null;
      if (local === null && remoteAddr === null) {
        if (family === 0) throw new RangeError('unexpected address family');
        pairs.push([family, proto, null, null]);
      } else if (family === constant('AF_UNIX') || typeof local === 'string' || typeof remoteAddr === 'string') {
        if (local !== null && typeof local !== 'string') throw new TypeError('string is expected for a Unix localAddr');
        if (remoteAddr !== null && typeof remoteAddr !== 'string') throw new TypeError('string is expected for a Unix remoteAddr');
        if (typeof local === 'string' && local !== '' && !local.startsWith('\0')) removeStaleSocket(local);
        pairs.push([constant('AF_UNIX'), proto, local, remoteAddr]);
      } else {
        const query = { family, type: dgram, proto, flags: options.flags ?? 0 };
        const byKey = new Map<string, [number, number, unknown, unknown]>();
        const add = (infos: AddrInfo[], slot: 2 | 3): void => {
          for (const [infoFamily, , infoProto, , address] of infos) {
            const key = `${infoFamily}/${infoProto}`;
            let entry = byKey.get(key);
            if (entry === undefined) byKey.set(key, (entry = [infoFamily, infoProto, null, null]));
            if (entry[slot] === null) entry[slot] = address;
          }
        };
        if (local !== null) add(await loop.getaddrinfo(local[0], local[1], query), 2);
        if (remoteAddr !== null) add(await loop.getaddrinfo(remoteAddr[0], remoteAddr[1], query), 3);
        for (const entry of byKey.values()) {
          if ((local !== null && entry[2] === null) || (remoteAddr !== null && entry[3] === null)) continue;
          pairs.push(entry);
        }
        if (pairs.length === 0) throw new RangeError('can not get address information');
      }
      const errors: unknown[] = [];
      for (const [pairFamily, pairProto, localAddress, remoteAddress] of pairs) {
        let candidate: SocketLike | null = null;
        try {
          candidate = newSocket(pairFamily, dgram, pairProto);
          if (options.reusePort) {
            const reusePort = sysConstant('SO_REUSEPORT');
            if (reusePort === undefined) throw new RangeError('reusePort not supported by this platform');
            candidate.setsockopt(constant('SOL_SOCKET'), reusePort, 1);
          }
          if (options.allowBroadcast) candidate.setsockopt(constant('SOL_SOCKET'), constant('SO_BROADCAST'), 1);
          candidate.setBlocking(false);
          if (localAddress !== null) candidate.bind(localAddress);
          if (remoteAddress !== null) {
            if (!options.allowBroadcast) await sockConnect(loop, candidate, remoteAddress);
            remote = remoteAddress;
          }
          sock = candidate;
          break;
        } catch (error) {
          candidate?.close();
          errors.push(error);
          if (!OSError.isInstance(error)) throw error;
        }
      }
      if (sock === null) throw errors[0];
    }
    const chosen = sock;
    return startTransport(loop, chosen, protocolFactory, (protocol, waiter) => new SelectorDatagramTransport(loop, chosen, protocol as never, remote, waiter, null));
  });
}

/** `loop.close()`: close listening sockets and the sockets of transports still open. */
export function closeOwned(loop: SelectorEventLoop): void {
  for (const server of [...loop._servers]) server.close();
  for (const transport of [...loop._transports.values()]) {
    const sock = transport._sock;
    transport._closing = true;
    transport._connLost++;
    transport._sock = null;
    sock?.close();
  }
  loop._transports.clear();
}
