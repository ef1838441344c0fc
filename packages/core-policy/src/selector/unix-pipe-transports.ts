import {
  BlockingIOError,
  errnoNumber,
  osErrorFromErrno,
  EVENT_READ,
  EVENT_WRITE,
  InterruptedError,
  RuntimeError,
  type BaseProtocol as BaseProtocolContract,
  type ReadTransport,
  type WriteTransport,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import { LOG_THRESHOLD_FOR_CONNLOST_WRITES, MAX_READ_SIZE, checkBytes } from '../base/base-transport.js';
import { openPipeEnd } from '../net/pipe-end.js';
import { sysModule, type PipeLike, type SocketLike } from '../net/socket-module.js';
import { SelectorTransport } from './selector-transports.js';
import type { SelectorEventLoop } from './selector-event-loop.js';
import { writelinesPieces } from '../net/transport-arguments.js';

export type { PipeLike };

interface FdFunctions {
  read(fd: number, n: number): Buffer;
  write(fd: number, data: Uint8Array): number;
}

function fdFunctions(): FdFunctions {
  return sysModule() as unknown as FdFunctions;
}

/** The pipe end as the socket shape the selector transport keeps (only fileno() and close() are used). */
function pipeEndpoint(pipe: PipeLike): SocketLike {
  return openPipeEnd(pipe) as unknown as SocketLike;
}

function isWouldBlock(error: unknown): boolean {
  return BlockingIOError.isInstance(error) || InterruptedError.isInstance(error);
}

function readReady(transport: UnixReadPipeTransport): void {
  transport._readReady();
}
function writeReady(transport: UnixWritePipeTransport): void {
  transport._writeReady();
}
function peerClosed(transport: UnixWritePipeTransport): void {
  transport._peerClosed();
}
function callEofReceived(transport: UnixReadPipeTransport): void {
  transport._callEofReceived();
}

/**
 * asyncio's `_UnixReadPipeTransport`: reads a pipe, FIFO, socket or
 * character device (a PTY) into `protocol.dataReceived`; EOF gives
 * `eofReceived` then `connectionLost(null)`. A PTY whose other side closed
 * reports EIO, which is EOF here too.
 */
export class UnixReadPipeTransport extends SelectorTransport implements ReadTransport {
  constructor(loop: SelectorEventLoop, pipe: PipeLike, protocol: BaseProtocolContract, waiter: Future<void> | null, extra: Record<string, unknown> | null = null) {
    super(loop, pipeEndpoint(pipe), protocol, { pipe, ...extra }, null);
    this._start(waiter);
  }

  /** @internal */
  _startReading(): void {
    if (!this.isReading() || this._sock === null) return;
    this._loop._addCallbackArg(this._fd, EVENT_READ, readReady, this);
  }

  /** @internal */
  _readReady(): void {
    if (this._connLost !== 0) return;
    let data: Buffer;
    try {
      data = fdFunctions().read(this._fd, MAX_READ_SIZE);
    } catch (error) {
      if (isWouldBlock(error)) return;
      if ((error as { code?: unknown }).code === 'EIO') {
        // The slave side of a PTY closed: that is the end of the data.
        data = Buffer.alloc(0);
      } else {
        this._fatalError(error, 'Fatal read error on pipe transport');
        return;
      }
    }
    if (data.length > 0) {
      try {
        this._protocol.dataReceived!(data);
      } catch (error) {
        this._fatalError(error, 'Fatal error: protocol.dataReceived() call failed.');
      }
      return;
    }
    if (this._loop.getDebug()) logger.debug(`${this.toString()} was closed by peer`);
    this._closing = true;
    this._loop._removeCallbackOf(this._fd, 'reader');
    this._loop.callSoon(callEofReceived, this);
    this._connectionLostSoon(null);
  }

  /** @internal */
  _callEofReceived(): void {
    try {
      this._protocol.eofReceived?.();
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.eofReceived() call failed.');
    }
  }

  /** @internal */
  protected override _dropWriteBuffer(): void {}
}

/**
 * asyncio's `_UnixWritePipeTransport`: writes to a pipe, FIFO, socket or
 * character device with asyncio's buffering and flow control. It also
 * watches the fd for readability: on a pipe that means the reader went away,
 * which closes the transport (with `BrokenPipeError` if data was pending).
 */
export class UnixWritePipeTransport extends SelectorTransport implements WriteTransport {
  /** @internal */ _buffers: Uint8Array[] = [];

  constructor(loop: SelectorEventLoop, pipe: PipeLike, protocol: BaseProtocolContract, waiter: Future<void> | null, extra: Record<string, unknown> | null = null) {
    super(loop, pipeEndpoint(pipe), protocol, { pipe, ...extra }, null);
    this._start(waiter);
  }

  /** @internal Not reading data: readability of a write end means the reader closed. */
  _startReading(): void {
    if (this._sock === null || this._closing) return;
    this._loop._addCallbackArg(this._fd, EVENT_READ, peerClosed, this);
  }

  override isReading(): boolean {
    return false;
  }

  override pauseReading(): void {}

  override resumeReading(): void {}

  /** @internal */
  _peerClosed(): void {
    if (this._loop.getDebug()) logger.debug(`${this.toString()} was closed by peer`);
    if (this._bufferSize > 0) this._forceClose(osErrorFromErrno(errnoNumber('EPIPE')!, 'write', 'the reading end of the pipe was closed'));
    else this._forceClose(null);
  }

  write(data: Uint8Array): void {
    checkBytes(data);
    if (data.length === 0) return;
    if (this._connLost !== 0 || this._closing || this._sock === null) {
      if (this._connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning('pipe closed by peer or os.write(pipe, data) raised exception.');
      this._connLost++;
      return;
    }
    if (this._bufferSize === 0) {
      let written: number;
      try {
        written = fdFunctions().write(this._fd, data);
      } catch (error) {
        if (!isWouldBlock(error)) {
          this._fatalError(error, 'Fatal write error on pipe transport');
          return;
        }
        written = 0;
      }
      if (written === data.length) return;
      if (written > 0) data = data.subarray(written);
      this._loop._addCallbackArg(this._fd, EVENT_WRITE, writeReady, this);
    }
    this._buffers.push(data);
    this._bufferSize += data.length;
    this._maybePauseProtocol();
  }

  writelines(list: Iterable<Uint8Array>): void {
    for (const data of writelinesPieces(list)) this.write(data);
  }

  /** @internal */
  _writeReady(): void {
    if (this._sock === null || this._buffers.length === 0) return;
    const head = this._buffers[0]!;
    let written: number;
    try {
      written = fdFunctions().write(this._fd, head);
    } catch (error) {
      if (isWouldBlock(error)) return;
      this._dropWriteBuffer();
      this._fatalError(error, 'Fatal write error on pipe transport');
      return;
    }
    this._bufferSize -= written;
    if (written === head.length) this._buffers.shift();
    else this._buffers[0] = head.subarray(written);
    this._maybeResumeProtocol();
    if (this._bufferSize === 0) {
      this._loop._removeCallbackOf(this._fd, 'writer');
      if (this._closing) {
        this._loop._removeCallbackOf(this._fd, 'reader');
        this._connectionLostSoon(null);
      }
    }
  }

  canWriteEof(): boolean {
    return true;
  }

  /** Flush what is buffered, then close the pipe: the reader sees EOF. */
  writeEof(): void {
    if (this._closing) return;
    if (this._sock === null) throw new RuntimeError('the pipe is closed');
    this._closing = true;
    if (this._bufferSize === 0) {
      this._loop._removeCallbackOf(this._fd, 'reader');
      this._connectionLostSoon(null);
    }
  }

  override close(): void {
    if (this._sock !== null && !this._closing) this.writeEof();
  }

  /** @internal */
  protected override _hasPendingWrites(): boolean {
    return this._bufferSize > 0;
  }

  /** @internal */
  protected override _dropWriteBuffer(): void {
    if (this._bufferSize !== 0 || this._buffers.length !== 0) {
      this._buffers = [];
      this._bufferSize = 0;
      this._loop._removeCallbackOf(this._fd, 'writer');
    }
  }
}
