import dns from 'node:dns';
import fs from 'node:fs';
import { OSError, osErrorFromErrno, type AddrInfo, type BaseProtocol, type DatagramTransport, type Transport } from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import {
  AI_PASSIVE,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  gaiError,
  interleaveAddrInfos,
  lookupAll,
  resolveWithoutDns,
  type AddrInfoOptions,
} from '../net/addresses.js';
import { bindError, combineErrors, constant, newSocket, removeStaleSocket } from '../net/socket-helpers.js';
import { sysConstant, type SocketLike } from '../net/socket-module.js';
import { clientTlsSettings, serverTlsContext, sslServerProtocolFactory, startSslConnection, type ClientTlsSettings, type SSLOption } from '../tls/ssl-connection.js';
import type { BaseEventLoop } from './base-event-loop.js';
import { Server, type UnixSocketFile } from './server.js';

export type { AddrInfoOptions };

function resolved<T>(loop: BaseEventLoop, value: T): Future<T> {
  const future = loop.createFuture<T>();
  future.setResult(value);
  return future;
}

function failed<T>(loop: BaseEventLoop, error: unknown): Future<T> {
  const future = loop.createFuture<T>();
  future.setException(error);
  return future;
}

// --- Names ---

/** Python's argument checks for getaddrinfo, as TypeErrors naming the argument. */
function checkAddrInfoArguments(host: unknown, port: unknown, options: unknown): void {
  if (host !== null && host !== undefined && typeof host !== 'string') {
    throw new TypeError(`getaddrinfo() host must be a string or null, got ${typeName(host)}`);
  }
  if (port !== null && port !== undefined && typeof port !== 'string' && typeof port !== 'number') {
    throw new TypeError(`getaddrinfo() port must be a number, a string or null, got ${typeName(port)}`);
  }
  if (options === null || typeof options !== 'object') throw new TypeError(`getaddrinfo() options must be an object, got ${typeName(options)}`);
  for (const name of ['family', 'type', 'proto', 'flags'] as const) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined && !Number.isInteger(value)) throw new TypeError(`getaddrinfo() options.${name} must be an integer, got ${typeName(value)}`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? `the number ${value}` : typeof value;
}

export function getaddrinfo(loop: BaseEventLoop, host: string | null, port: string | number | null, options: AddrInfoOptions = {}): Future<AddrInfo[]> {
  loop._checkClosed();
  let infos: AddrInfo[] | undefined;
  try {
    checkAddrInfoArguments(host, port, options);
    infos = resolveWithoutDns(host, port, options);
  } catch (error) {
    return failed(loop, error);
  }
  if (infos !== undefined) return resolved(loop, infos);
  const future = loop.createFuture<AddrInfo[]>();
  lookupAll(host!, port, options, (error, result) => {
    if (future.done() || loop.isClosed()) return;
    if (error !== null) future.setException(error);
    else future.setResult(result!);
  });
  return future;
}

export function getnameinfo(loop: BaseEventLoop, sockaddr: [string, number, ...number[]], flags = 0): Future<[string, string]> {
  loop._checkClosed();
  if (!Array.isArray(sockaddr) || typeof sockaddr[0] !== 'string' || typeof sockaddr[1] !== 'number') {
    return failed(loop, new TypeError('getnameinfo() argument 1 must be a [host, port] array'));
  }
  if (!Number.isInteger(flags)) return failed(loop, new TypeError(`getnameinfo() flags must be an integer, got ${typeName(flags)}`));
  const [host, port] = sockaddr;
  if ((flags & NI_NUMERICHOST) !== 0 && (flags & NI_NUMERICSERV) !== 0) return resolved(loop, [host, String(port)]);
  const future = loop.createFuture<[string, string]>();
  dns.lookupService(host, port, (error, hostname, service) => {
    if (future.done() || loop.isClosed()) return;
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

async function connectSock(loop: BaseEventLoop, errors: unknown[], info: AddrInfo, localInfos: AddrInfo[] | null): Promise<SocketLike> {
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
    await loop.sockConnect(sock, address);
    return sock;
  } catch (error) {
    errors.push(...ownErrors, error);
    sock?.close();
    throw error;
  }
}

/**
 * Start connection attempts `delay` seconds apart (or at once when one
 * fails); the first to connect wins and the others are cancelled or closed.
 * asyncio's `staggered_race` for `create_connection`.
 */
function happyEyeballs(loop: BaseEventLoop, infos: AddrInfo[], localInfos: AddrInfo[] | null, delay: number, errors: unknown[]): Future<SocketLike> {
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
  loop: BaseEventLoop,
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

function makeConnectionTransport<P extends object>(loop: BaseEventLoop, sock: SocketLike, protocolFactory: () => P, tls: ClientTlsSettings | null): Promise<[Transport, P]> {
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
  return startTransport(loop, sock, protocolFactory, (protocol, waiter) => loop._makeSocketTransport(sock, protocol as BaseProtocol, waiter, extra, null));
}

/** The arguments every create* method shares, as TypeErrors naming the one that is wrong. */
function checkEndpointArguments(protocolFactory: unknown, options: unknown, host?: unknown, port?: unknown, hostList = false): void {
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be a function, got ${typeName(protocolFactory)}`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`options must be an object, got ${typeName(options)}`);
  const hostOk = (value: unknown): boolean => value === null || value === undefined || typeof value === 'string';
  if (!hostOk(host) && !(hostList && Array.isArray(host) && host.every((item) => typeof item === 'string'))) {
    throw new TypeError(`host must be a string${hostList ? ', an array of strings' : ''} or null, got ${typeName(host)}`);
  }
  if (port !== null && port !== undefined && typeof port !== 'string' && typeof port !== 'number') {
    throw new TypeError(`port must be a number, a string or null, got ${typeName(port)}`);
  }
}

export function createConnection<P extends object>(
  loop: BaseEventLoop,
  protocolFactory: () => P,
  host: string | null,
  port: number | string | null,
  options: CreateConnectionOptions,
): Future<[Transport, P]> {
  loop._checkClosed();
  return loop.createTask(async () => {
    checkEndpointArguments(protocolFactory, options, host, port);
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
  loop: BaseEventLoop,
  protocolFactory: () => P,
  sock: SocketLike,
  options: { ssl?: SSLOption; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
): Future<[Transport, P]> {
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
  loop: BaseEventLoop,
  protocolFactory: () => P,
  path: string | null,
  options: CreateUnixConnectionOptions,
): Future<[Transport, P]> {
  loop._checkClosed();
  return loop.createTask(async () => {
    checkEndpointArguments(protocolFactory, options);
    if (path !== null) checkUnixPath(path);
    const tls = clientTlsSettings(loop, options, null);
    let sock: SocketLike;
    if (path !== null) {
      if (options.sock !== undefined && options.sock !== null) throw new RangeError('path and sock can not be specified at the same time');
      sock = newSocket(constant('AF_UNIX'), constant('SOCK_STREAM'), 0);
      try {
        sock.setBlocking(false);
        await loop.sockConnect(sock, path);
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

function finishServer(loop: BaseEventLoop, sockets: SocketLike[], protocolFactory: () => object, backlog: number, startServing: boolean, files: UnixSocketFile[] = []): Server {
  const server = new Server(loop, sockets, protocolFactory as never, backlog, files);
  if (startServing) server._start();
  return server;
}

export function createServer(
  loop: BaseEventLoop,
  protocolFactory: () => object,
  host: string | readonly string[] | null,
  port: number | string | null,
  options: CreateServerOptions,
): Future<Server> {
  loop._checkClosed();
  return loop.createTask(async () => {
    checkEndpointArguments(protocolFactory, options, host, port, true);
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

/**
 * A path that cannot be a Unix socket address fails here, with the clear
 * error bind() would give, before anything looks at the file system.
 */
function checkUnixPath(path: unknown): asserts path is string {
  if (typeof path !== 'string') throw new TypeError(`path must be a string or null, got ${typeName(path)}`);
  const abstract = path.startsWith('\0');
  const max = sysConstant('SUN_PATH_MAX');
  const bytes = Buffer.byteLength(path);
  if (max !== undefined && bytes > (abstract ? max + 1 : max)) {
    throw new RangeError(`path is too long for AF_UNIX: ${bytes} bytes, at most ${abstract ? max + 1 : max}`);
  }
}

export function createUnixServer(loop: BaseEventLoop, protocolFactory: () => object, path: string | null, options: CreateUnixServerOptions): Future<Server> {
  loop._checkClosed();
  return loop.createTask(async () => {
    checkEndpointArguments(protocolFactory, options);
    const tls = serverTlsContext(options);
    if (tls !== null) protocolFactory = sslServerProtocolFactory(loop, protocolFactory, tls, options);
    const backlog = options.backlog ?? 100;
    let sock: SocketLike;
    const files: UnixSocketFile[] = [];
    if (path !== null) {
      if (options.sock !== undefined && options.sock !== null) throw new RangeError('path and sock can not be specified at the same time');
      checkUnixPath(path);
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

export function createDatagramEndpoint<P extends object>(loop: BaseEventLoop, protocolFactory: () => P, options: CreateDatagramEndpointOptions): Future<[DatagramTransport, P]> {
  loop._checkClosed();
  return loop.createTask(async () => {
    checkEndpointArguments(protocolFactory, options);
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
            if (!options.allowBroadcast) await loop.sockConnect(candidate, remoteAddress);
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
    return startTransport(loop, chosen, protocolFactory, (protocol, waiter) => loop._makeDatagramTransport(chosen, protocol as BaseProtocol, remote, waiter, null));
  });
}

