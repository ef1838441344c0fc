import {
  ConnectionAbortedError,
  EVENT_READ,
  EVENT_WRITE,
  OSError,
  RuntimeError,
  osErrorFromErrno,
  type BaseProtocol,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { gaiError, numericAddress } from '../net/addresses.js';
import { constant, wouldBlock } from '../net/socket-helpers.js';
import { sysModule, type SocketAddress, type SocketLike } from '../net/socket-module.js';
import type { Server } from '../base/server.js';
import type { SelectorEventLoop } from './selector-event-loop.js';

/** Seconds to stop accepting after accept() failed for lack of fds or memory (asyncio's ACCEPT_RETRY_DELAY). */
export const ACCEPT_RETRY_DELAY = 1;

const OUT_OF_RESOURCES = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/**
 * `sock` must be a Socket (from @evloop/sys, or anything with its methods):
 * a TypeError naming the argument and the missing method otherwise, instead
 * of "sock.getBlocking is not a function" from deep inside.
 */
function checkSocket(loop: SelectorEventLoop, sock: SocketLike, ...methods: Array<keyof SocketLike>): void {
  if (sock === null || typeof sock !== 'object') {
    throw new TypeError(`sock must be a Socket (from @evloop/sys), got ${sock === null ? 'null' : typeof sock}`);
  }
  for (const method of ['fileno', 'getBlocking', ...methods] as const) {
    if (typeof (sock as unknown as Record<string, unknown>)[method] !== 'function') {
      throw new TypeError(`sock must be a Socket (from @evloop/sys): the object given has no ${method}() method`);
    }
  }
  if (sock.getBlocking()) throw new RangeError('the socket must be non-blocking');
  ensureNoTransport(loop, sock.fileno());
}

function ensureNoTransport(loop: SelectorEventLoop, fd: number): void {
  const transport = loop._transportOf(fd);
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
  loop._addCallbackArg(fd, event, attempt, future);
  const kind = event === EVENT_READ ? 'reader' : 'writer';
  const handle = loop._callbackOf(fd, kind);
  future.addDoneCallback(() => {
    if (loop.isClosed()) return;
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

function sockOperation<T>(loop: SelectorEventLoop, sock: SocketLike, method: keyof SocketLike, event: number, operation: () => T): Future<T> {
  loop._checkClosed();
  try {
    checkSocket(loop, sock, method);
    return resolved(loop, operation());
  } catch (error) {
    if (!wouldBlock(error)) return failed(loop, error);
  }
  return waitFor<T>(loop, sock, event, (future) => {
    settle(future, operation);
  });
}

export function sockRecv(loop: SelectorEventLoop, sock: SocketLike, nbytes: number): Future<Buffer> {
  return sockOperation(loop, sock, 'recv', EVENT_READ, () => sock.recv(nbytes));
}

export function sockRecvInto(loop: SelectorEventLoop, sock: SocketLike, buffer: Uint8Array): Future<number> {
  return sockOperation(loop, sock, 'recvInto', EVENT_READ, () => sock.recvInto(buffer));
}

export function sockRecvfrom(loop: SelectorEventLoop, sock: SocketLike, bufsize: number): Future<[Buffer, SocketAddress | null]> {
  return sockOperation(loop, sock, 'recvfrom', EVENT_READ, () => sock.recvfrom(bufsize));
}

export function sockRecvfromInto(loop: SelectorEventLoop, sock: SocketLike, buffer: Uint8Array, nbytes: number): Future<[number, SocketAddress | null]> {
  return sockOperation(loop, sock, 'recvfromInto', EVENT_READ, () => sock.recvfromInto(buffer, nbytes));
}

export function sockSendto(loop: SelectorEventLoop, sock: SocketLike, data: Uint8Array, address: unknown): Future<number> {
  return sockOperation(loop, sock, 'sendto', EVENT_WRITE, () => sock.sendto(data, address));
}

export function sockAccept(loop: SelectorEventLoop, sock: SocketLike): Future<[SocketLike, SocketAddress | null]> {
  return sockOperation(loop, sock, 'accept', EVENT_READ, () => sock.accept({ blocking: false }));
}

export function sockSendall(loop: SelectorEventLoop, sock: SocketLike, data: Uint8Array): Future<void> {
  loop._checkClosed();
  let sent = 0;
  try {
    checkSocket(loop, sock, 'send');
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

/**
 * What sendfile(2) fails with when it cannot send this file to this socket
 * at all (Linux: EINVAL for a file it cannot map; ENOSYS where there is no
 * sendfile; macOS: ENOTSUP, ENOTSOCK): the caller copies instead, as
 * asyncio falls back when `os.sendfile` fails before sending anything.
 */
const SENDFILE_UNAVAILABLE = new Set(['EINVAL', 'ENOSYS', 'ENOTSUP', 'EOPNOTSUPP', 'ENOTSOCK']);

/**
 * One step of a native sendfile on a selector loop (see
 * `BaseEventLoop._sendfileStep`): one sendfile(2) now, or once the socket is
 * writable if it takes nothing now. Resolves to the bytes sent; null when
 * sendfile cannot send this file to this socket. Cancelling stops waiting;
 * `loop._abortSendfileStep(fd)` fails the step (its transport is closing).
 */
export function sendfileStep(loop: SelectorEventLoop, sock: SocketLike, fd: number, offset: number, count: number): Future<number> | null {
  const sendfile = sysModule().sendfile!;
  const sockFd = sock.fileno();
  const attempt = (): number => sendfile(sockFd, fd, offset, count);
  try {
    return resolved(loop, attempt());
  } catch (error) {
    if (OSError.isInstance(error) && SENDFILE_UNAVAILABLE.has(error.code)) return null;
    if (!wouldBlock(error)) return failed(loop, error);
  }
  const future = waitFor<number>(loop, sock, EVENT_WRITE, (waiting) => {
    settle(waiting, attempt);
  });
  loop._sendfileSteps.set(sockFd, future);
  future.addDoneCallback(() => {
    if (loop._sendfileSteps.get(sockFd) === future) loop._sendfileSteps.delete(sockFd);
  });
  return future;
}

export function sockConnect(loop: SelectorEventLoop, sock: SocketLike, address: unknown): Future<void> {
  loop._checkClosed();
  try {
    checkSocket(loop, sock, 'connect');
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

function resumeAccepting(loop: SelectorEventLoop, protocolFactory: () => object, sock: SocketLike, server: Server, backlog: number): void {
  if (loop.isClosed() || !server.sockets.includes(sock) || sock.fileno() < 0) return;
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
    loop._makeSocketTransport(conn, protocol as BaseProtocol, null, address === null ? null : { peername: address }, server);
  }
}
