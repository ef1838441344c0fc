import fs from 'node:fs';
import { CancelledError, ConnectionError, OSError, RuntimeError, SendfileNotAvailableError, type BaseProtocol, type SendfileSource, type Transport } from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { wrapThenable } from '../futures/task.js';
import { constant } from '../net/socket-helpers.js';
import type { SocketLike } from '../net/socket-module.js';
import { isStartTlsCompatible } from '../tls/raw-transport.js';
import { SSLTransport } from '../tls/ssl-transport.js';
import type { BaseEventLoop } from './base-event-loop.js';

/** Bytes the fallback reads and writes per step (asyncio's SENDFILE_FALLBACK_READBUFFER_SIZE for sockets, 16 KiB for transports). */
const SOCK_CHUNK = 256 * 1024;
const TRANSPORT_CHUNK = 16 * 1024;

/** `{ fallback }` of sendfile/sockSendfile. */
export interface SendfileOptions {
  /** Read and write in chunks when there is no zero-copy path (default true). */
  fallback?: boolean;
}

/** How a transport can send a file (asyncio's `_SendfileMode`). */
type SendfileMode = 'unsupported' | 'tryNative' | 'fallback';

function sendfileMode(transport: unknown): SendfileMode {
  // The raw socket transports of both families (the ones TLS can run over)
  // would try a zero-copy path first; a TLS transport can only copy.
  if (isStartTlsCompatible(transport)) return 'tryNative';
  if (transport instanceof SSLTransport) return 'fallback';
  return 'unsupported';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value;
}

/** The fd to read, and a `seek` to call afterwards when the file has one. */
interface FileTarget {
  fd: number;
  seek: ((position: number) => unknown) | null;
}

/** asyncio's `_check_sendfile_params` for the file, offset and count (the socket is checked by the caller). */
function checkParams(file: unknown, offset: unknown, count: unknown): FileTarget {
  if (count !== null && count !== undefined) {
    if (typeof count !== 'number' || !Number.isInteger(count)) throw new TypeError(`count must be a positive integer, got ${describe(count)}`);
    if (count <= 0) throw new RangeError(`count must be a positive integer, got ${count}`);
  }
  if (typeof offset !== 'number' || !Number.isInteger(offset)) throw new TypeError(`offset must be a non-negative integer, got ${describe(offset)}`);
  if (offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  return fileTarget(file);
}

function fileTarget(file: unknown): FileTarget {
  let fd: unknown;
  let seek: FileTarget['seek'] = null;
  if (typeof file === 'number') {
    fd = file;
  } else if (file !== null && typeof file === 'object') {
    const object = file as { fileno?: unknown; fd?: unknown; seek?: unknown };
    if (typeof object.fileno === 'function') fd = (object.fileno as () => unknown).call(file);
    else if ('fd' in object) fd = object.fd;
    else throw new TypeError('file must be an fd, a FileHandle or an object with fileno(): the object given has neither fileno() nor fd');
    if (typeof object.seek === 'function') seek = (position) => (object.seek as (position: number) => unknown).call(file, position);
  } else {
    throw new TypeError(`file must be an fd, a FileHandle or an object with fileno(), got ${describe(file)}`);
  }
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) throw new RangeError(`file must be open: its fd is ${describe(fd)}`);
  return { fd, seek };
}

function checkFallbackOption(options: unknown): boolean {
  if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
  const fallback = (options as SendfileOptions).fallback;
  if (fallback !== undefined && typeof fallback !== 'boolean') throw new TypeError(`options.fallback must be a boolean, got ${describe(fallback)}`);
  return fallback ?? true;
}

/** One positional read (pread) on Node's thread pool, as asyncio reads in the executor. */
function readAt(loop: BaseEventLoop, fd: number, buffer: Buffer, length: number, position: number): Future<number> {
  return wrapThenable(
    new Promise<number>((resolve, reject) => {
      fs.read(fd, buffer, 0, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
    }),
    loop,
  );
}

function blockSize(count: number | null, chunk: number): number {
  return count !== null ? Math.min(count, chunk) : chunk;
}

// --- sockSendfile ---

export function sockSendfile(loop: BaseEventLoop, sock: SocketLike, file: SendfileSource, offset: number, count: number | null, options: SendfileOptions): Future<number> {
  loop._checkClosed();
  return loop.createTask(function* (): Generator<unknown, number, unknown> {
    const fallback = checkFallbackOption(options);
    if (sock === null || typeof sock !== 'object' || typeof sock.fileno !== 'function' || typeof sock.getBlocking !== 'function') {
      throw new TypeError(`sock must be a Socket (from @evloop/sys), got ${describe(sock)}`);
    }
    if (sock.getBlocking()) throw new RangeError('sock must be non-blocking');
    if (sock.type !== constant('SOCK_STREAM')) throw new RangeError('sock must be a SOCK_STREAM socket: only stream sockets can send a file');
    const target = checkParams(file, offset, count);
    // asyncio's _sock_sendfile_native: the proactor loops send the file
    // themselves; elsewhere (no sendfile in @evloop/sys yet), or for what
    // is not a regular file, it is not available.
    if (loop._hasNativeSendfile() && regularFile(target.fd)) {
      const sent = yield* sockSendfileNative(loop, sock, target, offset, count ?? null);
      if (sent !== null) return sent;
    }
    if (!fallback) throw new SendfileNotAvailableError(`native sendfile is not available for socket fd ${sock.fileno()}; pass { fallback: true } to copy it in chunks`);
    return yield* sockSendfileFallback(loop, sock, target, offset, count ?? null);
  });
}

/** The most one native step asks for (sendfile(2) sends at most 0x7ffff000 bytes a call; IOCP's TransmitFile just under 2 GiB; io_uring's read-and-send for a blocking socket 256 KiB). */
const NATIVE_STEP = 0x7fffffff;

/** Whether `fd` is a regular file, the only kind a native sendfile takes (asyncio's fstat check). */
function regularFile(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isFile();
  } catch {
    // A closed fd: the fallback's read reports it.
    return false;
  }
}

/**
 * asyncio's rule for a sendfile that fails part way: ENOTCONN (what macOS
 * and the BSDs report when the peer went away mid-transfer; Linux says
 * EPIPE or ECONNRESET, already ConnectionErrors) becomes a ConnectionError,
 * so callers catch one class on every platform. The OS error is its cause.
 */
function connectionLostError(error: unknown): unknown {
  if (!OSError.isInstance(error) || error.code !== 'ENOTCONN') return error;
  const { errno, syscall } = error;
  if (ConnectionError.isInstance(error)) return error;
  const lost = new ConnectionError(errno, syscall, 'socket is not connected', 'ENOTCONN');
  Object.defineProperty(lost, 'cause', { value: error, writable: true, configurable: true });
  return lost;
}

/**
 * asyncio's `_sock_sendfile_native` on the proactor loop: one proactor
 * sendfile after another from `offset + sent`, a short one going on where it
 * stopped, until `count` bytes or the end of the file. Null when the loop
 * cannot send this file (nothing was sent). A file object with `seek()` is
 * left after the bytes sent, as asyncio's `file.seek`; an fd or FileHandle
 * keeps its position (every step reads at an explicit offset, as the
 * fallback's reads do).
 */
function* sockSendfileNative(loop: BaseEventLoop, sock: SocketLike, target: FileTarget, offset: number, count: number | null, closing: (() => boolean) | null = null): Generator<unknown, number | null, unknown> {
  let total = 0;
  try {
    for (;;) {
      const size = count === null ? NATIVE_STEP : Math.min(count - total, NATIVE_STEP);
      if (size <= 0) break;
      // A transport closed between two steps: its socket is going away.
      if (closing?.() === true) throw new ConnectionError(0, 'sendfile', 'Connection closed during sendfile');
      const step = loop._sendfileStep(sock, target.fd, offset + total, size);
      if (step === null) {
        if (total === 0) return null;
        throw new RuntimeError('native sendfile stopped being available in the middle of a transfer');
      }
      let sent: number;
      try {
        sent = (yield* step) as number;
      } catch (error) {
        throw total > 0 ? connectionLostError(error) : error;
      }
      if (sent === 0) break;
      total += sent;
    }
    return total;
  } finally {
    if (total > 0) target.seek?.(offset + total);
  }
}

function* sockSendfileFallback(loop: BaseEventLoop, sock: SocketLike, target: FileTarget, offset: number, count: number | null): Generator<unknown, number, unknown> {
  let size = blockSize(count, SOCK_CHUNK);
  const buffer = Buffer.allocUnsafe(size);
  let total = 0;
  try {
    for (;;) {
      if (count !== null) {
        size = Math.min(count - total, size);
        if (size <= 0) break;
      }
      const read = (yield* readAt(loop, target.fd, buffer, size, offset + total)) as number;
      if (read === 0) break;
      // sockSendall may keep the view until it is sent; it is, before the next read.
      yield* loop.sockSendall(sock, buffer.subarray(0, read));
      total += read;
    }
    return total;
  } finally {
    if (total > 0) target.seek?.(offset + total);
  }
}

// --- sendfile over a transport ---

/**
 * asyncio's `_SendfileFallbackProtocol`: stands in for the transport's
 * protocol while the file is written, so the application sees no data and
 * the copy can wait for the write buffer to drain.
 */
class SendfileFallbackProtocol {
  readonly #loop: BaseEventLoop;
  readonly #transport: Transport;
  readonly #proto: BaseProtocol;
  readonly #shouldResumeReading: boolean;
  readonly #shouldResumeWriting: boolean;
  #writeReady: Future<void> | null = null;

  constructor(loop: BaseEventLoop, transport: Transport, paused: boolean) {
    this.#loop = loop;
    this.#transport = transport;
    this.#proto = transport.getProtocol();
    this.#shouldResumeReading = transport.isReading();
    this.#shouldResumeWriting = paused;
    transport.pauseReading();
    transport.setProtocol(this as unknown as BaseProtocol);
    if (paused) this.#writeReady = loop.createFuture<void>();
  }

  /** Wait until the transport takes more data; a closing transport is a ConnectionError. */
  *drain(): Generator<unknown, void, unknown> {
    if (this.#transport.isClosing()) throw new ConnectionError(0, 'sendfile', 'Connection closed by peer');
    if (this.#writeReady !== null) yield* this.#writeReady;
  }

  connectionMade(): void {
    throw new RuntimeError('Invalid state: connection should have been established already.');
  }

  connectionLost(exc: Error | null): void {
    if (this.#writeReady !== null) {
      if (!this.#writeReady.done()) this.#writeReady.setException(exc ?? new ConnectionError(0, 'sendfile', 'Connection is closed by peer'));
    }
    this.#proto.connectionLost?.(exc);
  }

  pauseWriting(): void {
    if (this.#writeReady !== null) return;
    this.#writeReady = this.#loop.createFuture<void>();
  }

  resumeWriting(): void {
    if (this.#writeReady === null) return;
    if (!this.#writeReady.done()) this.#writeReady.setResult(undefined);
    this.#writeReady = null;
  }

  dataReceived(): void {
    throw new RuntimeError('Invalid state: reading should be paused');
  }

  eofReceived(): boolean {
    throw new RuntimeError('Invalid state: reading should be paused');
  }

  /** Give the transport its protocol back, resume what was paused. */
  restore(): void {
    this.#transport.setProtocol(this.#proto);
    if (this.#shouldResumeReading) this.#transport.resumeReading();
    if (this.#writeReady !== null) {
      this.#writeReady.cancel();
      this.#writeReady = null;
    }
    if (this.#shouldResumeWriting) (this.#proto as { resumeWriting?: () => void }).resumeWriting?.();
  }
}

/** Whether the transport's protocol is paused for writing now (its `_protocolPaused`). */
function protocolPaused(transport: Transport): boolean {
  if (transport instanceof SSLTransport) return transport._ssl._appWritePaused;
  return (transport as unknown as { _protocolPaused?: boolean })._protocolPaused === true;
}

export function sendfile(loop: BaseEventLoop, transport: Transport, file: SendfileSource, offset: number, count: number | null, options: SendfileOptions): Future<number> {
  loop._checkClosed();
  return loop.createTask(function* (): Generator<unknown, number, unknown> {
    const fallback = checkFallbackOption(options);
    if (transport === null || typeof transport !== 'object' || typeof (transport as { isClosing?: unknown }).isClosing !== 'function') {
      throw new TypeError(`transport must be a stream Transport, got ${describe(transport)}`);
    }
    if (transport.isClosing()) throw new RuntimeError('Transport is closing');
    const mode = sendfileMode(transport);
    if (mode === 'unsupported') throw new RuntimeError(`sendfile is not supported for transport ${String(transport)}`);
    const target = checkParams(file, offset, count);
    if (mode === 'tryNative') {
      const sent = yield* transportSendfileNative(loop, transport, target, offset, count ?? null);
      if (sent !== null) return sent;
    }
    if (!fallback) {
      // A raw socket transport is asyncio's TRY_NATIVE whose native attempt
      // reported it unavailable; a TLS transport can only copy.
      if (mode === 'tryNative') throw new SendfileNotAvailableError('native sendfile is not available for this transport; pass { fallback: true } to copy it in chunks');
      throw new RuntimeError('fallback is disabled and native sendfile is not supported for this transport');
    }
    return yield* sendfileFallback(loop, transport, target, offset, count ?? null);
  });
}

/** What a transport that can lend its socket to a native sendfile has (the proactor socket transport). */
interface NativeSendfileTransport {
  readonly _sock: SocketLike | null;
  _sendfileBegin(): Future<void>;
  _sendfileEnd(error: unknown): void;
}

function canLendSocket(transport: unknown): transport is NativeSendfileTransport {
  return typeof (transport as Partial<NativeSendfileTransport>)._sendfileBegin === 'function';
}

/**
 * asyncio's `_sendfile_native` on the proactor loop: reading paused, wait
 * for the write buffer to drain (writes raise meanwhile), then the socket
 * sends the file; reading resumes after. Null when there is no native path
 * for this transport or file (nothing was sent).
 */
function* transportSendfileNative(loop: BaseEventLoop, transport: Transport, target: FileTarget, offset: number, count: number | null): Generator<unknown, number | null, unknown> {
  if (!loop._hasNativeSendfile() || !canLendSocket(transport) || !regularFile(target.fd)) return null;
  // Refuses a second sendfile on the transport before anything is paused.
  const drained = transport._sendfileBegin();
  const resumeReading = transport.isReading();
  transport.pauseReading();
  let failure: unknown = null;
  try {
    yield* drained;
    if (transport.isClosing() || transport._sock === null) throw new ConnectionError(0, 'sendfile', 'Connection closed by peer');
    return yield* sockSendfileNative(loop, transport._sock, target, offset, count, () => transport.isClosing());
  } catch (error) {
    // The transport closing cancels the step in flight: that is the connection going away.
    failure = error;
    if (transport.isClosing() && OSError.isInstance(error) && error.code === 'ECANCELED') throw new ConnectionError(0, 'sendfile', 'Connection closed during sendfile');
    throw error;
  } finally {
    transport._sendfileEnd(CancelledError.isInstance(failure) ? null : failure);
    if (resumeReading) transport.resumeReading();
  }
}

function* sendfileFallback(loop: BaseEventLoop, transport: Transport, target: FileTarget, offset: number, count: number | null): Generator<unknown, number, unknown> {
  let size = blockSize(count, TRANSPORT_CHUNK);
  let total = 0;
  const proto = new SendfileFallbackProtocol(loop, transport, protocolPaused(transport));
  try {
    for (;;) {
      if (count !== null) {
        size = Math.min(count - total, size);
        if (size <= 0) return total;
      }
      // A fresh buffer per chunk: the transport may keep what it was given until it is sent.
      const buffer = Buffer.allocUnsafe(size);
      const read = (yield* readAt(loop, target.fd, buffer, size, offset + total)) as number;
      if (read === 0) return total;
      yield* proto.drain();
      transport.write(buffer.subarray(0, read));
      total += read;
    }
  } finally {
    if (total > 0) target.seek?.(offset + total);
    proto.restore();
  }
}
