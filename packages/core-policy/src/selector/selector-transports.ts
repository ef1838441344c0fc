import {
  BlockingIOError,
  EVENT_READ,
  EVENT_WRITE,
  InterruptedError,
  OSError,
  RuntimeError,
  type BaseProtocol as BaseProtocolContract,
  type BufferedProtocol as BufferedProtocolContract,
  type DatagramProtocol as DatagramProtocolContract,
  type DatagramTransport,
  type Protocol as ProtocolContract,
  type Transport,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import { sysConstant, type SocketAddress, type SocketLike } from '../net/socket-module.js';
import type { TransportOwner } from '../base/server.js';
import { START_TLS_COMPATIBLE } from '../tls/raw-transport.js';
import type { SelectorEventLoop } from './selector-event-loop.js';
import { checkProtocol, writeBufferLimits, writelinesPieces } from '../net/transport-arguments.js';

export type { TransportOwner };

/** asyncio reads up to 256 KiB per readiness; @evloop/sys copies only the bytes that arrived out of its scratch buffer. */
export const MAX_READ_SIZE = 256 * 1024;
/**
 * Stream reads go into a shared slab and the protocol gets a view of the
 * bytes that arrived: no copy and no allocation per read (Node's net does
 * the same with its 64 KiB slabs). A new slab is made when less than
 * SLAB_MIN_FREE is left, so a read can always take at least that much. A
 * protocol that keeps a received chunk keeps its slab alive: copy what you
 * keep for long.
 */
const SLAB_SIZE = MAX_READ_SIZE;
const SLAB_MIN_FREE = 64 * 1024;
let slab = Buffer.allocUnsafe(0);
let slabOffset = SLAB_SIZE;

/** After this many writes to a lost connection, each further one logs a warning (asyncio's LOG_THRESHOLD_FOR_CONNLOST_WRITES). */
export const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
type LoopCallback = (...args: unknown[]) => unknown;
const DEFAULT_HIGH_WATER = 64 * 1024;


type AnyProtocol = BaseProtocolContract & Partial<ProtocolContract> & Partial<BufferedProtocolContract> & Partial<DatagramProtocolContract>;

function isBytes(data: unknown): data is Uint8Array {
  return data instanceof Uint8Array;
}

/** OSErrors are the peer's doing (reset, broken pipe); asyncio logs them only in debug mode instead of calling the exception handler. */
function isOSError(error: unknown): boolean {
  return OSError.isInstance(error);
}

function isWouldBlock(error: unknown): boolean {
  return BlockingIOError.isInstance(error) || InterruptedError.isInstance(error);
}

// Module-level trampolines: the loop's Handle keeps (callback, [transport]),
// so no closure is allocated per read or write.
function readReady(transport: SelectorSocketTransport): void {
  transport._readReady();
}
function readReadyBuffered(transport: SelectorSocketTransport): void {
  transport._readReadyBuffered();
}
function writeReady(transport: SelectorSocketTransport): void {
  transport._writeReady();
}
function datagramReadReady(transport: SelectorDatagramTransport): void {
  transport._readReady();
}
function datagramWriteReady(transport: SelectorDatagramTransport): void {
  transport._writeReady();
}
function callConnectionLost(transport: SelectorTransport, error: unknown): void {
  transport._callConnectionLost(error);
}
function callConnectionMade(transport: SelectorTransport): void {
  transport._callConnectionMade();
}
function startReading(transport: SelectorTransport): void {
  transport._startReading();
}
function setWaiterResult(waiter: Future<void> | null): void {
  if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
}

/** asyncio's `_SelectorTransport`: what stream and datagram transports share. */
export abstract class SelectorTransport {
  /** @internal */ _loop: SelectorEventLoop;
  /** @internal */ _sock: SocketLike | null;
  /** @internal */ readonly _fd: number;
  /** @internal */ _protocol: AnyProtocol;
  /** @internal */ _protocolConnected = false;
  /** @internal */ _server: TransportOwner | null;
  /** @internal */ _closing = false;
  /** @internal */ _connLost = 0;
  /** @internal */ _paused = false;
  /** @internal */ _protocolPaused = false;
  /** @internal */ _highWater = DEFAULT_HIGH_WATER;
  /** @internal */ _lowWater = DEFAULT_HIGH_WATER / 4;
  /** @internal */ _bufferSize = 0;
  #extra: Map<string, unknown>;

  constructor(loop: SelectorEventLoop, sock: SocketLike, protocol: BaseProtocolContract, extra: Record<string, unknown> | null, server: TransportOwner | null) {
    this._loop = loop;
    this._sock = sock;
    this._fd = sock.fileno();
    this._protocol = protocol as AnyProtocol;
    this._server = server;
    this.#extra = new Map(extra === null ? [] : Object.entries(extra));
    this.#extra.set('socket', sock);
    loop._registerTransport(this._fd, this);
    server?._attach(this);
  }

  /**
   * `'socket'`, `'sockname'`, `'peername'` (looked up on first use, then
   * kept), and whatever extra the creator gave.
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (this.#extra.has(name)) return this.#extra.get(name);
    if ((name === 'sockname' || name === 'peername') && this._sock !== null) {
      let value: unknown = null;
      try {
        value = name === 'sockname' ? this._sock.getsockname() : this._sock.getpeername();
      } catch {
        value = null;
      }
      if (value !== null) {
        this.#extra.set(name, value);
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
    this._loop._removeCallbackOf(this._fd, 'reader');
  }

  resumeReading(): void {
    if (this._closing || !this._paused) return;
    this._paused = false;
    this._addReader();
  }

  /** Stop reading; flush what is buffered, then close the socket and call `connectionLost(null)` once. */
  close(): void {
    if (this._closing) return;
    this._closing = true;
    this._loop._removeCallbackOf(this._fd, 'reader');
    if (this._bufferSize === 0 && !this._hasPendingWrites()) {
      this._connLost++;
      this._loop.callSoon(callConnectionLost, this, null);
    }
  }

  /** Close at once, dropping buffered data; `connectionLost(null)`. */
  abort(): void {
    this._forceClose(null);
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

  /** @internal */
  protected _hasPendingWrites(): boolean {
    return false;
  }

  /** @internal */
  abstract _startReading(): void;

  /** @internal */
  _addReader(): void {
    this._startReading();
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
    if (isOSError(error)) {
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
    if (!this._closing) {
      this._closing = true;
      this._loop._removeCallbackOf(this._fd, 'reader');
    }
    this._connLost++;
    this._loop.callSoon(callConnectionLost, this, error);
  }

  /** @internal */
  protected abstract _dropWriteBuffer(): void;

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

  /**
   * @internal The loop is closing with this transport still open: close the
   * socket now; the protocol is not called (no callback runs on a closed loop).
   */
  _abandon(): void {
    const sock = this._sock;
    this._closing = true;
    this._connLost++;
    this._sock = null;
    sock?.close();
  }

  /** @internal Call `connectionLost` (once), then close the socket and let go of everything. */
  _callConnectionLost(error: unknown): void {
    if (this._sock === null) return;
    try {
      if (this._protocolConnected) this._protocol.connectionLost?.(error);
    } finally {
      const sock = this._sock;
      this._sock = null;
      const loop = this._loop;
      loop._unregisterTransport(this._fd, this);
      if (!loop.isClosed() && loop._callbackOf(this._fd, 'reader') !== null) loop._removeCallbackOf(this._fd, 'reader');
      if (!loop.isClosed() && loop._callbackOf(this._fd, 'writer') !== null) loop._removeCallbackOf(this._fd, 'writer');
      sock.close();
      this._protocol = NULL_PROTOCOL;
      const server = this._server;
      this._server = null;
      server?._detach(this);
    }
  }

  /** @internal Schedule connectionMade, then reading, then the waiter, in asyncio's order. */
  _start(waiter: Future<void> | null): void {
    const loop = this._loop;
    loop.callSoon(callConnectionMade, this);
    loop.callSoon(startReading, this);
    if (waiter !== null) loop.callSoon(setWaiterResult, waiter);
  }
}

const NULL_PROTOCOL: AnyProtocol = {};

/**
 * asyncio's `_SelectorSocketTransport`: a stream socket. `write` sends at
 * once and keeps what the kernel did not take as a list of the caller's
 * buffers (not copied: do not change a buffer after writing it); the rest
 * goes out with one `sendmsg` per writability.
 */
export class SelectorSocketTransport extends SelectorTransport implements Transport {
  /** @internal TLS can run over it (`startTls`). */
  readonly [START_TLS_COMPATIBLE] = true;
  /** @internal */ _buffers: Uint8Array[] = [];
  /** @internal */ _eof = false;
  /** @internal The peer's EOF was read; never watch for reads again. */
  /** @internal */ _readEof = false;
  /** @internal */ _buffered: boolean;

  constructor(loop: SelectorEventLoop, sock: SocketLike, protocol: BaseProtocolContract, waiter: Future<void> | null, extra: Record<string, unknown> | null, server: TransportOwner | null) {
    super(loop, sock, protocol, extra, server);
    this._buffered = typeof (protocol as AnyProtocol).getBuffer === 'function';
    setNoDelay(sock);
    this._start(waiter);
  }

  override setProtocol(protocol: BaseProtocolContract): void {
    super.setProtocol(protocol);
    const buffered = typeof (protocol as AnyProtocol).getBuffer === 'function';
    if (buffered !== this._buffered) {
      this._buffered = buffered;
      if (this.isReading() && this._loop._transportOf(this._fd) === this) {
        this._loop._removeCallbackOf(this._fd, 'reader');
        this._startReading();
      }
    }
  }

  /** @internal */
  _startReading(): void {
    if (this._readEof) return;
    if (!this.isReading() || this._sock === null) return;
    this._loop._addCallback(this._fd, EVENT_READ, (this._buffered ? readReadyBuffered : readReady) as LoopCallback, [this]);
  }

  /** @internal One recv per readiness. */
  _readReady(): void {
    if (this._connLost !== 0) return;
    if (SLAB_SIZE - slabOffset < SLAB_MIN_FREE) {
      slab = Buffer.allocUnsafe(SLAB_SIZE);
      slabOffset = 0;
    }
    let count: number;
    try {
      count = this._sock!.recvInto(slab.subarray(slabOffset));
    } catch (error) {
      if (isWouldBlock(error)) return;
      this._fatalError(error, 'Fatal read error on socket transport');
      return;
    }
    if (count === 0) {
      this._readReadyOnEof();
      return;
    }
    const data = slab.subarray(slabOffset, slabOffset + count);
    // Keep the next read 8-byte aligned, so views of the slab stay usable as typed arrays.
    slabOffset += (count + 7) & ~7;
    try {
      this._protocol.dataReceived!(data);
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.dataReceived() call failed.');
    }
  }

  /** @internal BufferedProtocol: receive straight into the protocol's buffer. */
  _readReadyBuffered(): void {
    if (this._connLost !== 0) return;
    let buffer: Uint8Array;
    try {
      buffer = this._protocol.getBuffer!(-1);
      if (!isBytes(buffer) || buffer.length === 0) throw new RuntimeError('getBuffer() returned an empty buffer');
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.getBuffer() call failed.');
      return;
    }
    let count: number;
    try {
      count = this._sock!.recvInto(buffer);
    } catch (error) {
      if (isWouldBlock(error)) return;
      this._fatalError(error, 'Fatal read error on socket transport');
      return;
    }
    if (count === 0) {
      this._readReadyOnEof();
      return;
    }
    try {
      this._protocol.bufferUpdated!(count);
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.bufferUpdated() call failed.');
    }
  }

  /** @internal */
  _readReadyOnEof(): void {
    if (this._loop.getDebug()) logger.debug(`${this.toString()} received EOF`);
    let keepOpen: unknown;
    try {
      keepOpen = this._protocol.eofReceived?.();
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.eofReceived() call failed.');
      return;
    }
    if (keepOpen === true) {
      // Half-open: stop watching for reads (the fd stays readable at EOF).
      // isReading() stays true, as in asyncio; _readEof keeps the reader off.
      this._readEof = true;
      this._loop._removeCallbackOf(this._fd, 'reader');
    } else {
      this.close();
    }
  }

  write(data: Uint8Array): void {
    if (!isBytes(data)) throw new TypeError(`data argument must be a bytes-like object (Uint8Array), not ${data === null ? 'null' : typeof data}`);
    if (this._eof) throw new RuntimeError('Cannot call write() after writeEof()');
    if (data.length === 0) return;
    if (this._connLost !== 0 || this._sock === null) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning('socket.send() raised exception.');
      this._connLost++;
      return;
    }
    if (this._bufferSize === 0) {
      const sent = this._sendNow(data, null);
      if (sent < 0 || sent === data.length) return;
      if (sent > 0) data = data.subarray(sent);
      this._loop._addCallback(this._fd, EVENT_WRITE, writeReady as LoopCallback, [this]);
    }
    this._buffers.push(data);
    this._bufferSize += data.length;
    this._maybePauseProtocol();
  }

  writelines(list: Iterable<Uint8Array>): void {
    const pieces = writelinesPieces(list).filter((data) => data.length > 0);
    if (pieces.length === 0) return;
    if (pieces.length === 1 || this._bufferSize !== 0 || this._eof || this._connLost !== 0 || this._sock === null || this._sock.sendmsg === undefined) {
      for (const piece of pieces) this.write(piece);
      return;
    }
    // Nothing buffered: one sendmsg for all of it, buffer what is left.
    let sent = this._sendNow(null, pieces);
    if (sent < 0) return;
    this._loop._addCallback(this._fd, EVENT_WRITE, writeReady as LoopCallback, [this]);
    for (const piece of pieces) {
      if (sent >= piece.length) {
        sent -= piece.length;
        continue;
      }
      const rest = sent > 0 ? piece.subarray(sent) : piece;
      sent = 0;
      this._buffers.push(rest);
      this._bufferSize += rest.length;
    }
    if (this._bufferSize === 0) this._loop._removeCallbackOf(this._fd, 'writer');
    else this._maybePauseProtocol();
  }

  /** Send at once: the count the kernel took (0 if none now), or -1 after a fatal error closed the transport. */
  private _sendNow(data: Uint8Array | null, pieces: Uint8Array[] | null): number {
    try {
      return pieces === null ? this._sock!.send(data!) : this._sock!.sendmsg!(pieces);
    } catch (error) {
      if (isWouldBlock(error)) return 0;
      this._fatalError(error, 'Fatal write error on socket transport');
      return -1;
    }
  }

  /** @internal Writable: send as much of the buffer as the kernel takes, with one syscall. */
  _writeReady(): void {
    if (this._connLost !== 0 || this._sock === null) return;
    const buffers = this._buffers;
    let sent: number;
    try {
      sent = buffers.length === 1 || this._sock.sendmsg === undefined ? this._sock.send(buffers[0]!) : this._sock.sendmsg(buffers.length > 1024 ? buffers.slice(0, 1024) : buffers);
    } catch (error) {
      if (isWouldBlock(error)) return;
      this._loop._removeCallbackOf(this._fd, 'writer');
      this._dropWriteBuffer();
      this._fatalError(error, 'Fatal write error on socket transport');
      return;
    }
    this._bufferSize -= sent;
    let index = 0;
    while (sent > 0) {
      const head = buffers[index]!;
      if (sent >= head.length) {
        sent -= head.length;
        index++;
      } else {
        buffers[index] = head.subarray(sent);
        sent = 0;
      }
    }
    if (index > 0) buffers.splice(0, index);
    this._maybeResumeProtocol();
    if (this._bufferSize === 0) {
      this._loop._removeCallbackOf(this._fd, 'writer');
      if (this._closing) {
        this._connLost++;
        this._loop.callSoon(callConnectionLost, this, null);
      } else if (this._eof) {
        this._shutdownWrite();
      }
    }
  }

  private _shutdownWrite(): void {
    try {
      this._sock!.shutdown(sysConstant('SHUT_WR')!);
    } catch (error) {
      this._fatalError(error, 'Fatal error on shutdown');
    }
  }

  /** @internal */
  protected override _dropWriteBuffer(): void {
    if (this._bufferSize !== 0 || this._buffers.length !== 0) {
      this._buffers = [];
      this._bufferSize = 0;
      this._loop._removeCallbackOf(this._fd, 'writer');
    }
  }

  /** Close the write side (after the buffer is flushed); the peer reads EOF. */
  writeEof(): void {
    if (this._closing || this._eof) return;
    this._eof = true;
    if (this._bufferSize === 0) this._shutdownWrite();
  }

  canWriteEof(): boolean {
    return true;
  }
}

function setNoDelay(sock: SocketLike): void {
  if (sock.type !== sysConstant('SOCK_STREAM')) return;
  if (sock.family !== sysConstant('AF_INET') && sock.family !== sysConstant('AF_INET6')) return;
  try {
    sock.setsockopt(sysConstant('IPPROTO_TCP')!, sysConstant('TCP_NODELAY')!, 1);
  } catch {
    // not every stream socket supports it
  }
}

type PendingDatagram = [data: Uint8Array, address: unknown];

/** asyncio's `_SelectorDatagramTransport`. */
export class SelectorDatagramTransport extends SelectorTransport implements DatagramTransport {
  /** @internal */ _pending: PendingDatagram[] = [];
  /** @internal */ _address: unknown;

  constructor(loop: SelectorEventLoop, sock: SocketLike, protocol: BaseProtocolContract, address: unknown, waiter: Future<void> | null, extra: Record<string, unknown> | null) {
    super(loop, sock, protocol, extra, null);
    this._address = address ?? null;
    this._start(waiter);
  }

  /** @internal */
  _startReading(): void {
    if (!this.isReading() || this._sock === null) return;
    this._loop._addCallback(this._fd, EVENT_READ, datagramReadReady as LoopCallback, [this]);
  }

  /** @internal */
  _readReady(): void {
    if (this._connLost !== 0) return;
    let data: Buffer;
    let address: SocketAddress | null;
    try {
      [data, address] = this._sock!.recvfrom(MAX_READ_SIZE);
    } catch (error) {
      if (isWouldBlock(error)) return;
      if (isOSError(error)) {
        this._callProtocol('errorReceived', error);
        return;
      }
      this._fatalError(error, 'Fatal read error on datagram transport');
      return;
    }
    try {
      this._protocol.datagramReceived?.(data, address);
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.datagramReceived() call failed.');
    }
  }

  private _callProtocol(name: 'errorReceived', error: unknown): void {
    try {
      this._protocol[name]?.(error);
    } catch (thrown) {
      this._fatalError(thrown, `Fatal error: protocol.${name}() call failed.`);
    }
  }

  /** Send a datagram (to `address`, or to the connected peer); what the kernel cannot take now is queued. */
  sendto(data: Uint8Array, address?: unknown): void {
    if (!isBytes(data)) throw new TypeError(`data argument must be a bytes-like object (Uint8Array), not ${data === null ? 'null' : typeof data}`);
    if (this._address !== null) {
      if (address !== undefined && address !== null && !sameAddress(address, this._address)) {
        throw new RangeError(`Invalid address: must be null or ${JSON.stringify(this._address)}`);
      }
      address = this._address;
    }
    if (this._connLost !== 0 || this._sock === null) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning('socket.send() raised exception.');
      this._connLost++;
      return;
    }
    if (this._pending.length === 0) {
      try {
        if (this._address !== null) this._sock.send(data);
        else this._sock.sendto(data, address);
        return;
      } catch (error) {
        if (!isWouldBlock(error)) {
          if (isOSError(error)) this._callProtocol('errorReceived', error);
          else this._fatalError(error, 'Fatal write error on datagram transport');
          return;
        }
        this._loop._addCallback(this._fd, EVENT_WRITE, datagramWriteReady as LoopCallback, [this]);
      }
    }
    this._pending.push([data, address]);
    this._bufferSize += data.length;
    this._maybePauseProtocol();
  }

  /** @internal */
  _writeReady(): void {
    while (this._pending.length > 0 && this._sock !== null) {
      const [data, address] = this._pending[0]!;
      try {
        if (this._address !== null) this._sock.send(data);
        else this._sock.sendto(data, address);
      } catch (error) {
        if (isWouldBlock(error)) return;
        this._pending.shift();
        this._bufferSize -= data.length;
        if (isOSError(error)) {
          this._callProtocol('errorReceived', error);
          continue;
        }
        this._fatalError(error, 'Fatal write error on datagram transport');
        return;
      }
      this._pending.shift();
      this._bufferSize -= data.length;
    }
    this._maybeResumeProtocol();
    if (this._pending.length === 0) {
      this._loop._removeCallbackOf(this._fd, 'writer');
      if (this._closing && this._connLost === 0) {
        this._connLost++;
        this._loop.callSoon(callConnectionLost, this, null);
      }
    }
  }

  protected override _hasPendingWrites(): boolean {
    return this._pending.length > 0;
  }

  /** @internal */
  protected override _dropWriteBuffer(): void {
    if (this._pending.length !== 0) {
      this._pending = [];
      this._bufferSize = 0;
      this._loop._removeCallbackOf(this._fd, 'writer');
    }
  }
}

function sameAddress(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (!Array.isArray(a) || !Array.isArray(b)) return false;
  return a[0] === b[0] && a[1] === b[1];
}
