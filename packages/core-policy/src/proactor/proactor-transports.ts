import { constants as osConstants } from 'node:os';
import {
  COMPLETION_MORE,
  ConnectionAbortedError,
  ConnectionResetError,
  BrokenPipeError,
  OSError,
  RuntimeError,
  completionError,
  noteReadMemory,
  type BaseProtocol as BaseProtocolContract,
  type DatagramTransport,
  type ReadTransport,
  type Transport,
  type WriteTransport,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import { BaseTransport, MAX_READ_SIZE, checkBytes, checkDatagramAddress, isBytes, type AnyProtocol, type TransportEndpoint } from '../base/base-transport.js';
import type { TransportOwner } from '../base/server.js';
import { wouldBlock } from '../net/socket-helpers.js';
import { sysModule, type SocketAddress, type SocketLike } from '../net/socket-module.js';
import { START_TLS_COMPATIBLE, consumesReceivedData } from '../tls/raw-transport.js';
import type { ProactorEventLoop } from './proactor-event-loop.js';
import { writelinesPieces } from '../net/transport-arguments.js';
import { beginSendfile, checkNoSendfile, endSendfile, sendfileDrained, sendfileLost } from '../base/sendfile-gate.js';

export { MAX_READ_SIZE } from '../base/base-transport.js';
// The platform's numbers (Windows' differ from Linux's: ECANCELED is 105 there, ENOBUFS 119).
const { ECANCELED, ENOBUFS } = osConstants.errno;
const SHUT_WR = 1;

/** What a proactor transport reads and writes through: a socket, or a pipe end wrapped to look like one. */
export type ProactorEndpoint = TransportEndpoint;

/** Shared, frozen empty lists: an idle connection has no arrays of its own. Never pushed to. */
const NO_BUFFERS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];
const NO_PENDING_READS: Array<[result: number, value: unknown]> = Object.freeze([]) as unknown as Array<[result: number, value: unknown]>;

function deliverPaused(transport: ProactorStreamTransport): void {
  transport._deliverPaused();
}

/**
 * asyncio's `_ProactorBasePipeTransport`: what every proactor transport
 * shares. Reads and writes are operations in flight; their completions come
 * back through the loop (`_operate`), and at most one read and one write of
 * a transport are in flight at once. A read already in flight when reading
 * pauses is not cancelled (that could lose its bytes): what it brings is
 * delivered on resume.
 */
export abstract class ProactorTransport extends BaseTransport<ProactorEventLoop, ProactorEndpoint> {
  /** @internal The read in flight (its token), or 0. */
  _readToken = 0;
  /** @internal The write in flight, or 0. */
  _writeToken = 0;

  /** @internal */
  protected override _closeRead(): void {
    this._cancelRead();
  }

  /** @internal */
  protected override _hasPendingWrites(): boolean {
    return this._writeToken !== 0;
  }

  /** @internal */
  protected override _abortIo(): void {
    this._cancelAll();
  }

  /**
   * @internal What is still in flight on the endpoint is cancelled (and
   * handed to the kernel) before it is closed, since io_uring keeps its own
   * reference to the file while an operation is in flight and closing alone
   * would not end them. It is not shut down first: an abort must reach the
   * peer as a reset, not an EOF.
   */
  protected override _releaseIo(): void {
    this._cancelAll();
  }

  /** @internal */
  _cancelRead(): void {
    if (this._readToken !== 0 && !this._loop.isClosed()) this._loop._proactor.cancel(this._readToken);
  }

  /** @internal */
  _cancelAll(): void {
    if (this._loop.isClosed() || this._sock === null) return;
    if (this._readToken !== 0 || this._writeToken !== 0) this._loop._proactor.cancelFd(this._fd);
  }
}

function readDone(transport: ProactorStreamTransport, result: number, value: unknown, token: number, flags: number): void {
  transport._readDone(result, value, token, flags);
}
function writeDone(transport: ProactorStreamTransport, result: number, _value: unknown, token: number): void {
  transport._writeDone(result, token);
}

/**
 * Stream transports on the proactor: sockets (`ProactorSocketTransport`)
 * and pipes (`ProactorReadPipeTransport`, `ProactorWritePipeTransport`).
 * One read in flight while reading; one write in flight while there is
 * something to send, and whatever is written meanwhile is queued and sent
 * as one buffer when it completes. A short send resends the rest.
 */
export abstract class ProactorStreamTransport extends ProactorTransport {
  /** @internal Written while a write was in flight; NO_BUFFERS (shared, frozen) while that is nothing. */
  _buffers: Uint8Array[] = NO_BUFFERS;
  /** @internal The bytes of the write in flight. */
  /** @internal */ _inFlight: Uint8Array | null = null;
  /** @internal */ _eof = false;
  /** @internal Reads that completed while paused, in order: delivered on resume. */
  /** @internal */ _pendingReads: Array<[result: number, value: unknown]> = NO_PENDING_READS;
  /** @internal The read in flight is a multishot receive (it goes on until cancelled). */
  /** @internal */ _multishot = false;
  /** @internal The multishot receive was cancelled by pauseReading() and its last completion has not come yet. */
  /** @internal */ _pauseCancelled = false;
  /** @internal */ _buffered = false;
  /** @internal The buffer a BufferedProtocol gave for the read in flight. */
  /** @internal */ _readBuffer: Uint8Array | null = null;

  /** @internal What a read (and its errors) are called, for OSError.syscall. */
  protected abstract readonly _readSyscall: string;
  protected abstract readonly _writeSyscall: string;

  /** @internal Start the read operation; returns its token. */
  protected abstract _startReadOperation(buffer: Uint8Array | null): number;
  /** @internal Start the write operation; returns its token. */
  protected abstract _startWriteOperation(data: Uint8Array): number;

  /** @internal */
  _startReading(): void {
    if (this._readEof || this._readToken !== 0 || this._pendingReads.length > 0) return;
    if (!this.isReading() || this._sock === null || this._connLost !== 0) return;
    let buffer: Uint8Array | null = null;
    if (this._buffered) {
      buffer = this._protocolBuffer();
      if (buffer === null) return;
      this._readBuffer = buffer;
    }
    try {
      this._readToken = this._loop._operate(this._startReadOperation(buffer), readDone, this);
    } catch (error) {
      this._fatalError(error, 'Fatal read error on pipe transport');
    }
  }

  /** @internal */
  _readDone(result: number, value: unknown, token: number, flags = 0): void {
    if (token !== this._readToken) return;
    const goesOn = (flags & COMPLETION_MORE) !== 0;
    if (!goesOn) this._readToken = 0;
    if (this._connLost !== 0 || this._sock === null) return;
    if (result === -ECANCELED && this._closing) return;
    // A multishot receive that ended on its own (EOF, an error) before the
    // pause's cancel reached it: nothing is being cancelled any more.
    if (!goesOn && result !== -ECANCELED) this._pauseCancelled = false;
    if (result === -ECANCELED && this._multishot && this._pauseCancelled) {
      // The receive stopped for pauseReading() has ended: start it again if
      // reading resumed meanwhile.
      this._pauseCancelled = false;
      if (!this._paused) this._startReading();
      return;
    }
    if (!goesOn && this._multishot && result === -ENOBUFS) {
      // The proactor's buffers ran out (they are given back as soon as their
      // bytes are copied): start receiving again.
      this._startReading();
      return;
    }
    if (this._paused || this._pendingReads.length > 0) {
      // asyncio keeps a single read rather than cancel it (a cancelled read
      // could lose bytes); what arrives while paused waits for resumeReading().
      if (this._pendingReads === NO_PENDING_READS) this._pendingReads = [];
      this._pendingReads.push([result, value]);
      return;
    }
    this._deliverRead(result, value);
  }

  /** @internal */
  protected override _stopReading(): void {
    // A multishot receive would go on reading into memory: stop it, so the
    // peer is held back by the kernel's buffers (flow control). What it
    // delivered before the cancel is kept, in order, for resumeReading().
    if (this._multishot && this._readToken !== 0 && !this._pauseCancelled) {
      this._pauseCancelled = true;
      this._cancelRead();
    }
  }

  /** @internal */
  _deliverPaused(): void {
    const pending = this._pendingReads;
    while (pending.length > 0 && !this._paused && this._connLost === 0 && this._sock !== null && !this._closing) {
      const [result, value] = pending.shift()!;
      this._deliverRead(result, value);
    }
  }

  protected override _resumed(): void {
    if (this._pendingReads.length > 0) this._loop.callSoon(deliverPaused, this);
    else this._startReading();
  }

  /** @internal */
  _deliverRead(result: number, value: unknown): void {
    if (result < 0) {
      const error = completionError(result, this._readSyscall);
      if (this._isEofError(error)) {
        this._eofReceived();
      } else if (ConnectionResetError.isInstance(error) || ConnectionAbortedError.isInstance(error)) {
        this._forceClose(error);
      } else {
        this._fatalError(error, 'Fatal read error on pipe transport');
      }
      return;
    }
    if (result === 0) {
      this._eofReceived();
      return;
    }
    // The protocol may have changed (setProtocol, startTls) while the read
    // was in flight: the bytes go to whichever kind of protocol is there now.
    const bytes = value === undefined ? null : (value as Buffer);
    if (this._buffered) {
      if (bytes === null) {
        try {
          this._protocol.bufferUpdated!(result);
        } catch (error) {
          this._fatalError(error, 'Fatal error: protocol.bufferUpdated() call failed.');
          return;
        }
      } else if (!this._copyToBuffered(bytes)) {
        return;
      }
    } else {
      const protocol = this._protocol;
      try {
        protocol.dataReceived!(bytes ?? Buffer.from(this._readBuffer!.subarray(0, result)));
      } catch (error) {
        this._fatalError(error, 'Fatal error: protocol.dataReceived() call failed.');
        return;
      }
      // A protocol that never keeps the view (native TLS): the proactor may copy into its room again.
      if (bytes !== null && consumesReceivedData(protocol)) this._loop._proactor.releaseReceived?.(bytes);
      // Otherwise the memory is spent: keep V8's young collections in step with it (@evloop/interface's read-memory.ts).
      else noteReadMemory(result);
    }
    this._startReading();
  }

  /** @internal Bytes received for a protocol that has since become a BufferedProtocol: copy them into its buffers. */
  _copyToBuffered(bytes: Buffer): boolean {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        const buffer = this._protocol.getBuffer!(bytes.length - offset);
        if (!isBytes(buffer) || buffer.length === 0) throw new RuntimeError('getBuffer() returned an empty buffer');
        const count = Math.min(buffer.length, bytes.length - offset);
        buffer.set(bytes.subarray(offset, offset + count));
        offset += count;
        this._protocol.bufferUpdated!(count);
      } catch (error) {
        this._fatalError(error, 'Fatal error: protocol.bufferUpdated() call failed.');
        return false;
      }
      if (this._connLost !== 0) return false;
    }
    return true;
  }

  /** @internal An error that means "nothing more to read" (a PTY's EIO). */
  protected _isEofError(_error: OSError): boolean {
    return false;
  }

  override setProtocol(protocol: BaseProtocolContract): void {
    super.setProtocol(protocol);
    this._buffered = typeof (protocol as AnyProtocol).getBuffer === 'function';
  }

  write(data: Uint8Array): void {
    checkBytes(data);
    if (this._eof) throw new RuntimeError('Cannot call write() after writeEof()');
    if (data.length === 0 || this._writeAfterLost()) return;
    if (this._writeToken === 0) {
      // Nothing in flight: offer the bytes to the kernel at once, as the
      // selector transport does, and hand only what it cannot take now to
      // the proactor. The write buffer is then what the kernel has not
      // taken, on either family.
      const sent = this._sendNow(data);
      if (sent < 0 || sent === data.length) return;
      data = data.subarray(sent);
      this._bufferSize += data.length;
      this._send(data);
    } else {
      this._bufferSize += data.length;
      if (this._buffers === NO_BUFFERS) this._buffers = [];
      this._buffers.push(data);
    }
    this._maybePauseProtocol();
  }

  /** @internal Send now without waiting: the count the kernel took (0 if none), or -1 after a fatal error closed the transport. */
  protected _sendNow(_data: Uint8Array): number {
    return 0;
  }

  writelines(list: Iterable<Uint8Array>): void {
    for (const data of writelinesPieces(list)) this.write(data);
  }

  /** @internal */
  protected _send(data: Uint8Array): void {
    try {
      this._writeToken = this._loop._operate(this._startWriteOperation(data), writeDone, this);
      this._inFlight = data;
    } catch (error) {
      this._writeToken = 0;
      this._fatalError(error, 'Fatal write error on pipe transport');
    }
  }

  /** @internal */
  _writeDone(result: number, token: number): void {
    if (token !== this._writeToken) return;
    this._writeToken = 0;
    const data = this._inFlight!;
    this._inFlight = null;
    if (this._connLost !== 0 || this._sock === null) {
      return;
    }
    if (result < 0) {
      const error = completionError(result, this._writeSyscall);
      this._dropWriteBuffer();
      if (ConnectionResetError.isInstance(error) || ConnectionAbortedError.isInstance(error) || BrokenPipeError.isInstance(error)) this._forceClose(error);
      else this._fatalError(error, 'Fatal write error on pipe transport');
      return;
    }
    this._bufferSize -= result;
    if (result < data.length) {
      // Short write: the rest goes first.
      this._send(data.subarray(result));
      this._maybeResumeProtocol();
      return;
    }
    const buffers = this._buffers;
    if (buffers.length > 0) {
      const next = buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers);
      this._buffers = NO_BUFFERS;
      this._send(next);
    }
    this._maybeResumeProtocol();
    if (this._writeToken === 0) {
      if (this._closing) {
        this._connectionLostSoon(null);
      } else if (this._eof) {
        this._shutdownWrite();
      }
    }
  }

  /** @internal */
  protected _shutdownWrite(): void {
    try {
      this._sock!.shutdown?.(SHUT_WR);
    } catch (error) {
      this._fatalError(error, 'Fatal error on shutdown');
    }
  }

  /** @internal */
  protected override _dropWriteBuffer(): void {
    this._buffers = NO_BUFFERS;
    this._bufferSize = 0;
  }

  writeEof(): void {
    if (this._closing || this._eof) return;
    this._eof = true;
    if (this._writeToken === 0 && this._bufferSize === 0) this._shutdownWrite();
  }

  canWriteEof(): boolean {
    return true;
  }
}

/** asyncio's `_ProactorSocketTransport`: a connected stream socket. */
export class ProactorSocketTransport extends ProactorStreamTransport implements Transport {
  /** @internal TLS can run over it (`startTls`). */
  declare readonly [START_TLS_COMPATIBLE]: true;
  protected readonly _readSyscall = 'recv';
  protected readonly _writeSyscall = 'send';

  constructor(loop: ProactorEventLoop, sock: ProactorEndpoint, protocol: BaseProtocolContract, waiter: Future<void> | null, extra: Record<string, unknown> | null, server: TransportOwner | null) {
    super(loop, sock, protocol, extra, server);
    this._buffered = typeof (protocol as AnyProtocol).getBuffer === 'function';
    this._start(waiter);
  }

  protected _startReadOperation(buffer: Uint8Array | null): number {
    const proactor = this._loop._proactor;
    // One multishot receive for the whole connection where the proactor has it.
    this._multishot = buffer === null && proactor.recvMany !== undefined;
    if (this._multishot) return proactor.recvMany!(this._fd);
    return buffer === null ? proactor.recv(this._fd, MAX_READ_SIZE) : proactor.recvInto(this._fd, buffer);
  }

  protected _startWriteOperation(data: Uint8Array): number {
    return this._loop._proactor.send(this._fd, data);
  }

  /** @internal Set while the loop sends a file through the socket (base/sendfile-gate.ts). */
  _sendfileWaiter: Future<void> | null = null;

  override write(data: Uint8Array): void {
    checkNoSendfile(this);
    super.write(data);
  }

  /** @internal Start a native sendfile: wait for the write buffer to drain, and refuse writes until `_sendfileEnd`. */
  _sendfileBegin(): Future<void> {
    return beginSendfile(this, this._writeToken === 0 && this._bufferSize === 0);
  }

  /** @internal The native sendfile is over (see `endSendfile`). */
  _sendfileEnd(error: unknown): void {
    endSendfile(this, error);
  }

  override _writeDone(result: number, token: number): void {
    super._writeDone(result, token);
    if (this._sendfileWaiter !== null && this._writeToken === 0 && this._bufferSize === 0) sendfileDrained(this);
  }

  override _forceClose(error: unknown): void {
    super._forceClose(error);
    sendfileLost(this, error);
  }

  /** @internal A sendfile step in flight is cancelled with the rest before the socket is closed. */
  override _cancelAll(): void {
    if (this._sendfileWaiter !== null && !this._loop.isClosed() && this._sock !== null) this._loop._proactor.cancelFd(this._fd);
    else super._cancelAll();
  }

  protected override _sendNow(data: Uint8Array): number {
    try {
      return (this._sock as SocketLike).send(data);
    } catch (error) {
      if (wouldBlock(error)) return 0;
      this._fatalError(error, 'Fatal write error on socket transport');
      return -1;
    }
  }

  /** @internal Whether native TLS may send on the socket itself: the proactor allows it (`features.directSend`) and the socket is an `@evloop/sys` socket. Found on first ask. */
  _directSendable: boolean | undefined = undefined;

  /**
   * @internal Native TLS over this transport sends its records itself, with
   * one send(2) in the call that encrypts them, while `write` would send at
   * once too: no send in flight on the ring and nothing buffered (so no byte
   * can overtake another), open, no EOF or sendfile. The fd then, else -1
   * (then it writes as anyone does). What the socket did not take goes to
   * {@link _directSendRest}, a failure to {@link _directSendFailed}.
   */
  _directSendFd(): number {
    if (this._writeToken !== 0 || this._bufferSize !== 0 || this._eof || this._closing || this._connLost !== 0 || this._sendfileWaiter !== null || this._sock === null) return -1;
    if (this._directSendable === undefined) this._directSendable = this._loop._proactor.features.directSend === true && this._sock instanceof sysModule().Socket;
    return this._directSendable ? (this._sock as SocketLike).fileno() : -1;
  }

  /** @internal The part of a direct send the socket did not take: sent through the proactor as `write` sends it (the view is kept until it completes). */
  _directSendRest(data: Uint8Array): void {
    this._bufferSize += data.length;
    if (this._writeToken === 0) {
      this._send(data);
    } else {
      if (this._buffers === NO_BUFFERS) this._buffers = [];
      this._buffers.push(data);
    }
    this._maybePauseProtocol();
  }

  /** @internal A direct send failed (not EAGAIN): as a failed `write`. */
  _directSendFailed(error: unknown): void {
    this._fatalError(error, 'Fatal write error on socket transport');
  }
}

Object.defineProperty(ProactorSocketTransport.prototype, START_TLS_COMPATIBLE, { value: true });

/**
 * asyncio's `_ProactorReadPipeTransport` on a pipe, FIFO, socket or
 * character device: EOF gives `eofReceived` then `connectionLost(null)`; a
 * PTY whose other side closed reports EIO, which is EOF here too.
 */
export class ProactorReadPipeTransport extends ProactorStreamTransport implements ReadTransport {
  protected readonly _readSyscall = 'read';
  protected readonly _writeSyscall = 'write';

  constructor(loop: ProactorEventLoop, pipe: ProactorEndpoint, protocol: BaseProtocolContract, waiter: Future<void> | null, extra: Record<string, unknown> | null) {
    super(loop, pipe, protocol, extra, null);
    this._start(waiter);
  }

  protected _startReadOperation(): number {
    return this._loop._proactor.read(this._fd, MAX_READ_SIZE);
  }

  protected _startWriteOperation(): number {
    throw new RuntimeError('a read pipe transport cannot write');
  }

  protected override _isEofError(error: OSError): boolean {
    return error.code === 'EIO';
  }

  override _eofReceived(): void {
    if (this._loop.getDebug()) logger.debug(`${this.toString()} was closed by peer`);
    try {
      this._protocol.eofReceived?.();
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.eofReceived() call failed.');
      return;
    }
    this._closing = true;
    this._connectionLostSoon(null);
  }
}

function peerClosedDone(transport: ProactorWritePipeTransport, result: number, _value: unknown, token: number): void {
  transport._peerClosedDone(result, token);
}

/**
 * asyncio's `_ProactorWritePipeTransport`: writes a pipe. The read end going
 * away is noticed by a readiness poll (a write end polls readable, with
 * POLLERR, once its reader is gone), as asyncio's selector pipe transport
 * does, and closes the transport (with `BrokenPipeError` if data was waiting).
 */
export class ProactorWritePipeTransport extends ProactorStreamTransport implements WriteTransport {
  protected readonly _readSyscall = 'read';
  protected readonly _writeSyscall = 'write';
  /** @internal */ _peerToken = 0;

  constructor(loop: ProactorEventLoop, pipe: ProactorEndpoint, protocol: BaseProtocolContract, waiter: Future<void> | null, extra: Record<string, unknown> | null) {
    super(loop, pipe, protocol, extra, null);
    this._start(waiter);
  }

  override isReading(): boolean {
    return false;
  }

  /** @internal Watch for the reader going away, instead of reading. */
  override _startReading(): void {
    if (this._peerToken !== 0 || this._sock === null || this._connLost !== 0) return;
    try {
      const proactor = this._loop._proactor;
      // Without readiness polls of pipes (IOCP polls sockets only), a read does it, as asyncio's Windows
      // write pipe transport: on a duplex pipe it completes when the reader
      // is gone; where the end cannot be read it fails at once and is ignored.
      const token = proactor.features.readiness === false || proactor.features.pollsPipes === false ? proactor.read(this._fd, 16) : proactor.pollAdd(this._fd, 1);
      this._peerToken = this._loop._operate(token, peerClosedDone, this);
    } catch {
      // A pipe the kernel cannot poll: writes still report EPIPE.
    }
  }

  /** @internal */
  _peerClosedDone(result: number, token: number): void {
    if (token !== this._peerToken) return;
    this._peerToken = 0;
    if (result < 0 || this._connLost !== 0 || this._sock === null) return;
    if (this._bufferSize > 0 || this._writeToken !== 0) this._forceClose(new BrokenPipeError(32, 'write', 'Broken pipe', 'EPIPE'));
    else this._forceClose(null);
  }

  override _cancelAll(): void {
    if (this._loop.isClosed() || this._sock === null) return;
    if (this._peerToken !== 0 || this._writeToken !== 0) this._loop._proactor.cancelFd(this._fd);
  }

  protected _startReadOperation(): number {
    throw new RuntimeError('a write pipe transport cannot read');
  }

  protected _startWriteOperation(data: Uint8Array): number {
    return this._loop._proactor.write(this._fd, data);
  }

  protected override _shutdownWrite(): void {
    // A pipe has no half-close: closing is its EOF.
    this.close();
  }

  override pauseReading(): void {}
  override resumeReading(): void {}
}

type PendingDatagram = [data: Uint8Array, address: unknown];

function datagramReadDone(transport: ProactorDatagramTransport, result: number, value: unknown, token: number): void {
  transport._readDone(result, value, token);
}
function datagramWriteDone(transport: ProactorDatagramTransport, result: number, _value: unknown, token: number): void {
  transport._writeDone(result, token);
}

/**
 * asyncio's `_ProactorDatagramTransport` (which evloop runs on io_uring too):
 * one receive in flight; datagrams sent one at a time, the rest queued.
 * OSErrors of a datagram go to `errorReceived` and the transport carries on.
 */
export class ProactorDatagramTransport extends ProactorTransport implements DatagramTransport {
  /** @internal */ _pending: PendingDatagram[] = [];
  /** @internal */ _address: unknown;
  /** @internal */ _inFlight: PendingDatagram | null = null;

  constructor(loop: ProactorEventLoop, sock: ProactorEndpoint, protocol: BaseProtocolContract, address: unknown, waiter: Future<void> | null, extra: Record<string, unknown> | null) {
    super(loop, sock, protocol, extra, null);
    this._address = address ?? null;
    this._start(waiter);
  }

  /** @internal */
  _startReading(): void {
    if (this._readToken !== 0 || !this.isReading() || this._sock === null || this._connLost !== 0) return;
    try {
      this._readToken = this._loop._operate(this._loop._proactor.recvfrom(this._fd, MAX_READ_SIZE), datagramReadDone, this);
    } catch (error) {
      this._fatalError(error, 'Fatal read error on datagram transport');
    }
  }

  /** @internal */
  _readDone(result: number, value: unknown, token: number): void {
    if (token !== this._readToken) return;
    this._readToken = 0;
    if (this._connLost !== 0 || this._sock === null) return;
    if (result === -ECANCELED && (this._closing || this._paused)) return;
    if (result < 0) {
      this._errorReceived(completionError(result, 'recvfrom'));
    } else {
      const [data, address] = value as [Buffer, SocketAddress | null];
      try {
        this._protocol.datagramReceived?.(data, (this._address as SocketAddress | null) ?? address);
      } catch (error) {
        this._fatalError(error, 'Fatal error: protocol.datagramReceived() call failed.');
        return;
      }
    }
    this._startReading();
  }

  /** @internal */
  protected override _stopReading(): void {
    this._cancelRead();
  }

  private _errorReceived(error: unknown): void {
    try {
      this._protocol.errorReceived?.(error);
    } catch (thrown) {
      this._fatalError(thrown, 'Fatal error: protocol.errorReceived() call failed.');
    }
  }

  sendto(data: Uint8Array, address?: unknown): void {
    checkBytes(data);
    checkDatagramAddress(this._address, address);
    if (this._address !== null) address = null;
    else if (address === undefined || address === null) throw new RangeError('an address is needed: the transport is not connected');
    if (this._writeAfterLost()) return;
    this._bufferSize += data.length;
    if (this._writeToken === 0) this._send([data, address]);
    else this._pending.push([data, address]);
    this._maybePauseProtocol();
  }

  private _send(datagram: PendingDatagram): void {
    const proactor = this._loop._proactor;
    const [data, address] = datagram;
    try {
      const token = address === null ? proactor.send(this._fd, data) : proactor.sendto(this._fd, data, address as never);
      this._writeToken = this._loop._operate(token, datagramWriteDone, this);
      this._inFlight = datagram;
    } catch (error) {
      this._bufferSize -= data.length;
      if (OSError.isInstance(error)) this._errorReceived(error);
      else throw error;
    }
  }

  /** @internal */
  _writeDone(result: number, token: number): void {
    if (token !== this._writeToken) return;
    this._writeToken = 0;
    const datagram = this._inFlight;
    this._inFlight = null;
    if (this._connLost !== 0 || this._sock === null || datagram === null) return;
    this._bufferSize -= datagram[0].length;
    if (result < 0) this._errorReceived(completionError(result, 'sendto'));
    while (this._writeToken === 0 && this._pending.length > 0 && this._connLost === 0) this._send(this._pending.shift()!);
    this._maybeResumeProtocol();
    if (this._writeToken === 0 && this._closing && this._connLost === 0) this._connectionLostSoon(null);
  }

  /** @internal */
  protected override _dropWriteBuffer(): void {
    this._pending = [];
    this._bufferSize = 0;
  }
}
