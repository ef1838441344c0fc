import {
  OSError,
  RuntimeError,
  type BaseProtocol as BaseProtocolContract,
  type BufferedProtocol as BufferedProtocolContract,
  type DatagramProtocol as DatagramProtocolContract,
  type Protocol as ProtocolContract,
  type Transport,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import type { BaseEventLoop } from './base-event-loop.js';
import type { TransportOwner } from './server.js';
import { DEFAULT_HIGH_WATER, checkProtocol, writeBufferLimits } from '../net/transport-arguments.js';

export { DEFAULT_HIGH_WATER };

/**
 * @internal Set (true) on a transport class whose `dataReceived` buffers are
 * never written again once handed out (each is a region of a slab used
 * once): a consumer may keep such a buffer instead of copying it.
 */
export const OWNS_RECEIVED_DATA: unique symbol = Symbol.for('evloop.ownsReceivedData');

/** Bytes one read asks for: asyncio's selector transports read up to 256 KiB per readiness. */
export const MAX_READ_SIZE = 256 * 1024;
/** After this many writes to a lost connection, each further one logs a warning (asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES). */
export const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
/** A protocol of any kind, as a transport calls it. */
export type AnyProtocol = BaseProtocolContract & Partial<ProtocolContract> & Partial<BufferedProtocolContract> & Partial<DatagramProtocolContract>;

/** What a transport reads and writes through: a socket, or a pipe end wrapped to look like one. */
export interface TransportEndpoint {
  fileno(): number;
  close(): void;
  shutdown?(how: number): void;
  getsockname?(): unknown;
  getpeername?(): unknown;
}

/** A transport whose loop lets it go: what `loop.close()` closes when transports are still open. */
export interface RegisteredTransport {
  /** @internal */
  _abandon(): void;
}

export function isBytes(data: unknown): data is Uint8Array {
  return data instanceof Uint8Array;
}

/** The TypeError `write`/`sendto` raise for anything but bytes. */
export function checkBytes(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError(`data argument must be a bytes-like object (Uint8Array), not ${data === null ? 'null' : typeof data}`);
}

/** Whether two socket addresses (`[host, port, ...]` or a Unix path) name the same peer. */
export function sameAddress(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (!Array.isArray(a) || !Array.isArray(b)) return false;
  return a[0] === b[0] && a[1] === b[1];
}

/**
 * A connected datagram transport takes no other address (RangeError, as
 * asyncio's ValueError); an unconnected one passes the caller's through.
 */
export function checkDatagramAddress(connected: unknown, address: unknown): void {
  if (connected !== null && address !== undefined && address !== null && !sameAddress(address, connected)) {
    throw new RangeError(`Invalid address: must be null or ${JSON.stringify(connected)}`);
  }
}

// Module-level trampolines: the loop's Handle keeps (callback, [transport]),
// so no closure is allocated per call.
function callConnectionLost(transport: BaseTransport, error: unknown): void {
  transport._callConnectionLost(error);
}
function callConnectionMade(transport: BaseTransport): void {
  transport._callConnectionMade();
}
function startReading(transport: BaseTransport): void {
  transport._startReading();
}
function setWaiterResult(waiter: Future<void> | null): void {
  if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
}

export const NULL_PROTOCOL: AnyProtocol = {};

/**
 * What every transport of every family shares (asyncio's
 * `_FlowControlMixin` with the common half of `_SelectorTransport` and
 * `_ProactorBasePipeTransport`): protocol and extra info, the write buffer's
 * water marks and the protocol's pause/resume writing, pause/resume reading,
 * close/abort and the one `connectionLost`, and `await using`.
 *
 * A family supplies how bytes move, through these hooks:
 * `_startReading` (begin or go on reading), `_stopReading` (pauseReading),
 * `_closeRead` (close), `_hasPendingWrites` (close waits for them),
 * `_abortIo` (abort / a fatal error), `_releaseIo` (before the endpoint is
 * closed) and `_dropWriteBuffer`.
 */
export abstract class BaseTransport<L extends BaseEventLoop = BaseEventLoop, E extends TransportEndpoint = TransportEndpoint> implements RegisteredTransport {
  /** @internal */ _loop: L;
  /** @internal */ _sock: E | null;
  /** @internal */ readonly _fd: number;
  /** @internal */ _protocol: AnyProtocol;
  /** @internal */ _protocolConnected = false;
  /** @internal */ _server: TransportOwner | null;
  /** @internal */ _closing = false;
  /** @internal Non-zero once connectionLost is scheduled; counts writes made after that. */
  _connLost = 0;
  /** @internal */ _paused = false;
  /** @internal */ _protocolPaused = false;
  /** @internal The peer's EOF was read and the protocol kept the transport open: never read again. */
  _readEof = false;
  /** @internal */ _highWater = DEFAULT_HIGH_WATER;
  /** @internal */ _lowWater = DEFAULT_HIGH_WATER / 4;
  /** @internal Bytes buffered (and, on a proactor, in flight). */
  _bufferSize = 0;
  /** @internal What `[Symbol.asyncDispose]` waits on, made only when asked for. */
  _lostWaiter: Future<void> | null = null;
  /** @internal The endpoint, kept after close for `getExtraInfo('socket')`. */
  readonly _endpoint: E;
  /**
   * @internal The creator's extra info, kept as given (every caller passes
   * an object of its own), plus `sockname`/`peername` once looked up. A plain
   * object rather than a Map: it is part of every idle connection's memory.
   */
  _extra: Record<string, unknown> | null;

  constructor(loop: L, sock: E, protocol: BaseProtocolContract, extra: Record<string, unknown> | null, server: TransportOwner | null) {
    this._loop = loop;
    this._sock = sock;
    this._fd = sock.fileno();
    this._protocol = protocol as AnyProtocol;
    this._server = server;
    this._endpoint = sock;
    this._extra = extra;
    loop._registerTransport(this._fd, this);
    server?._attach(this as never);
  }

  /**
   * `'socket'` (or `'pipe'`), `'sockname'`, `'peername'` (looked up on first
   * use, then kept), and whatever extra the creator gave.
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    const extra = this._extra;
    if (extra !== null && Object.hasOwn(extra, name)) return extra[name];
    // A pipe transport's extra has the pipe, a socket transport's the socket.
    if (name === 'socket') return extra !== null && Object.hasOwn(extra, 'pipe') ? defaultValue : this._endpoint;
    const sock = this._sock;
    if ((name === 'sockname' || name === 'peername') && sock !== null && typeof sock.getsockname === 'function') {
      let value: unknown = null;
      try {
        value = name === 'sockname' ? sock.getsockname() : sock.getpeername!();
      } catch {
        value = null;
      }
      if (value !== null) {
        (this._extra ??= {})[name] = value;
        return value;
      }
    }
    return defaultValue;
  }

  setProtocol(protocol: BaseProtocolContract): void {
    checkProtocol(protocol);
    this._protocol = protocol as AnyProtocol;
    this._protocolConnected = true;
  }

  getProtocol(): BaseProtocolContract {
    return this._protocol;
  }

  isClosing(): boolean {
    return this._closing;
  }

  isReading(): boolean {
    return !this._paused && !this._closing;
  }

  pauseReading(): void {
    if (this._closing || this._paused) return;
    this._paused = true;
    this._stopReading();
  }

  resumeReading(): void {
    if (this._closing || !this._paused) return;
    this._paused = false;
    this._resumed();
  }

  /** Stop reading; flush what is buffered, then close and call `connectionLost(null)` once. */
  close(): void {
    if (this._closing) return;
    this._closing = true;
    this._closeRead();
    if (this._bufferSize === 0 && !this._hasPendingWrites()) this._connectionLostSoon(null);
  }

  /** Close at once, dropping buffered data; `connectionLost(null)`. */
  abort(): void {
    this._forceClose(null);
  }

  /**
   * `await using transport = ...`: `close()` (buffered data is still sent),
   * then wait until the protocol's `connectionLost` has run. Returns at once
   * if it already has, or if the loop is closed.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    if (this._sock === null || this._loop.isClosed()) return;
    this._lostWaiter ??= this._loop.createFuture<void>();
    await this._lostWaiter;
  }

  getWriteBufferSize(): number {
    return this._bufferSize;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this._lowWater, this._highWater];
  }

  /** asyncio's rule: high defaults to 64 KiB (or 4 × low), low to high / 4; `high >= low >= 0`. */
  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    [this._highWater, this._lowWater] = writeBufferLimits(high, low);
    this._maybePauseProtocol();
  }

  toString(): string {
    const state = this._sock === null ? 'closed' : this._closing ? 'closing' : 'open';
    return `<${this.constructor.name} fd=${this._fd} ${state} buffer=${this._bufferSize}>`;
  }

  /** @internal Begin (or go on) reading, if the transport is reading. */
  abstract _startReading(): void;

  /** @internal pauseReading(): stop taking bytes in. */
  protected _stopReading(): void {}

  /** @internal resumeReading(): take bytes in again. */
  protected _resumed(): void {
    this._startReading();
  }

  /** @internal close(): stop reading for good. */
  protected _closeRead(): void {}

  /** @internal Writes not counted in `_bufferSize` that close() must wait for. */
  protected _hasPendingWrites(): boolean {
    return false;
  }

  /** @internal abort() or a fatal error: stop what is under way (`wasClosing`: close() already stopped reading). */
  protected _abortIo(_wasClosing: boolean): void {}

  /** @internal The endpoint is about to be closed: let go of what the loop watches or runs on it. */
  protected _releaseIo(): void {}

  /** @internal Drop what is buffered (abort, fatal error). */
  protected abstract _dropWriteBuffer(): void;

  /**
   * @internal The peer's EOF on a stream (asyncio's `_read_ready__on_eof`):
   * `eofReceived()` returning true keeps the transport open for writing (a
   * half-close; `isReading()` stays true, as in asyncio, and `_readEof`
   * keeps reading off); anything else closes it.
   */
  _eofReceived(): void {
    if (this._loop.getDebug()) logger.debug(`${this.toString()} received EOF`);
    let keepOpen: unknown;
    try {
      keepOpen = this._protocol.eofReceived?.();
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.eofReceived() call failed.');
      return;
    }
    if (keepOpen === true) {
      this._readEof = true;
      this._stopReading();
    } else {
      this.close();
    }
  }

  /** @internal A BufferedProtocol's buffer for the next read, or null after a fatal error. */
  _protocolBuffer(): Uint8Array | null {
    try {
      const buffer = this._protocol.getBuffer!(-1);
      if (!isBytes(buffer) || buffer.length === 0) throw new RuntimeError('getBuffer() returned an empty buffer');
      return buffer;
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.getBuffer() call failed.');
      return null;
    }
  }

  /**
   * @internal A write after the connection was lost: counted, and past
   * asyncio's threshold each one logs `message`. True when the write must
   * be dropped.
   */
  _writeAfterLost(message = 'socket.send() raised exception.'): boolean {
    if (this._connLost === 0 && this._sock !== null) return false;
    if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning(message);
    this._connLost++;
    return true;
  }

  /** @internal */
  _maybePauseProtocol(): void {
    if (this._bufferSize <= this._highWater || this._protocolPaused) return;
    this._protocolPaused = true;
    try {
      this._protocol.pauseWriting?.();
    } catch (error) {
      this._loop.callExceptionHandler({ message: 'protocol.pauseWriting() failed', exception: error, transport: this as unknown as Transport, protocol: this._protocol });
    }
  }

  /** @internal */
  _maybeResumeProtocol(): void {
    if (!this._protocolPaused || this._bufferSize > this._lowWater) return;
    this._protocolPaused = false;
    try {
      this._protocol.resumeWriting?.();
    } catch (error) {
      this._loop.callExceptionHandler({ message: 'protocol.resumeWriting() failed', exception: error, transport: this as unknown as Transport, protocol: this._protocol });
    }
  }

  /** A failure: report it (OSErrors only in debug mode, as asyncio), then close at once (the `RawStreamTransport` contract). */
  _fatalError(error: unknown, message = 'Fatal error on transport'): void {
    if (OSError.isInstance(error)) {
      if (this._loop.getDebug()) logger.debug(`${this.toString()}: ${message}: ${String(error)}`);
    } else {
      this._loop.callExceptionHandler({ message, exception: error, transport: this as unknown as Transport, protocol: this._protocol });
    }
    this._forceClose(error);
  }

  /** Close now, dropping buffered data; `connectionLost(error)` runs once, soon (the `RawStreamTransport` contract). */
  _forceClose(error: unknown): void {
    if (this._connLost !== 0) return;
    this._dropWriteBuffer();
    const wasClosing = this._closing;
    this._closing = true;
    this._abortIo(wasClosing);
    this._connectionLostSoon(error);
  }

  /** @internal Schedule the one `connectionLost(error)`. */
  _connectionLostSoon(error: unknown): void {
    this._connLost++;
    this._loop.callSoon(callConnectionLost, this, error);
  }

  /** @internal */
  _callConnectionMade(): void {
    if (this._sock === null) return;
    this._protocolConnected = true;
    try {
      this._protocol.connectionMade?.(this as never);
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.connectionMade() call failed.');
    }
  }

  /** @internal Call `connectionLost` (once), then close the endpoint and let go of everything. */
  _callConnectionLost(error: unknown): void {
    if (this._sock === null) return;
    try {
      if (this._protocolConnected) this._protocol.connectionLost?.(error);
    } finally {
      const sock = this._sock;
      this._releaseIo();
      this._sock = null;
      this._loop._unregisterTransport(this._fd, this);
      sock.close();
      this._protocol = NULL_PROTOCOL;
      const server = this._server;
      this._server = null;
      server?._detach(this as never);
      const waiter = this._lostWaiter;
      if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
    }
  }

  /**
   * @internal The loop is closing with this transport still open: close the
   * endpoint now; the protocol is not called (no callback runs on a closed loop).
   */
  _abandon(): void {
    const sock = this._sock;
    this._closing = true;
    this._connLost++;
    this._sock = null;
    sock?.close();
  }

  /** @internal Schedule connectionMade, then reading, then the waiter, in asyncio's order. */
  _start(waiter: Future<void> | null): void {
    const loop = this._loop;
    loop.callSoon(callConnectionMade, this);
    loop.callSoon(startReading, this);
    if (waiter !== null) loop.callSoon(setWaiterResult, waiter);
  }
}
