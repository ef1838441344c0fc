import {
  BlockingIOError,
  EVENT_READ,
  EVENT_WRITE,
  InterruptedError,
  OSError,
  READ_SLAB_MIN_FREE,
  RuntimeError,
  noteReadMemory,
  type BaseProtocol as BaseProtocolContract,
  type DatagramTransport,
  type Transport,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { sysConstant, sysModule, type SocketAddress, type SocketLike } from '../net/socket-module.js';
import { START_TLS_COMPATIBLE, consumesReceivedData } from '../tls/raw-transport.js';
import { BaseTransport, MAX_READ_SIZE, OWNS_RECEIVED_DATA, checkBytes, checkDatagramAddress, type AnyProtocol } from '../base/base-transport.js';
import type { TransportOwner } from '../base/server.js';
import type { SelectorEventLoop } from './selector-event-loop.js';
import { writelinesPieces } from '../net/transport-arguments.js';
import { beginSendfile, checkNoSendfile, endSendfile, sendfileDrained, sendfileLost } from '../base/sendfile-gate.js';

export type { TransportOwner };
export { LOG_THRESHOLD_FOR_CONNLOST_WRITES, MAX_READ_SIZE } from '../base/base-transport.js';

/**
 * Stream reads go into a shared slab and the protocol gets a view of the
 * bytes that arrived: no copy and no allocation per read (Node's net does
 * the same with its 64 KiB slabs). A new slab is made when less than
 * SLAB_MIN_FREE is left, so a read can always take at least that much. A
 * protocol that keeps a received chunk keeps its slab alive: copy what you
 * keep for long.
 *
 * SLAB_MIN_FREE is the shared READ_SLAB_MIN_FREE of @evloop/interface
 * (read-memory.ts says why it is small), copied here once for the hot path.
 */
const SLAB_SIZE = MAX_READ_SIZE;
const SLAB_MIN_FREE: number = READ_SLAB_MIN_FREE;
let slab = Buffer.allocUnsafe(0);
let slabOffset = SLAB_SIZE;

/** The write buffer of every transport with nothing buffered: shared, so an idle connection has no array of its own. Never pushed to. */
const NO_BUFFERS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/** OSErrors are the peer's doing (reset, broken pipe); asyncio logs them only in debug mode instead of calling the exception handler. */
function isOSError(error: unknown): boolean {
  return OSError.isInstance(error);
}

function isWouldBlock(error: unknown): boolean {
  return BlockingIOError.isInstance(error) || InterruptedError.isInstance(error);
}

// Module-level trampolines: the loop's handle keeps (callback, transport),
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

/**
 * asyncio's `_SelectorTransport`: the shared transport base on a readiness
 * loop, where reading is a reader callback on the fd and writing a writer
 * callback while something is buffered.
 */
export abstract class SelectorTransport extends BaseTransport<SelectorEventLoop, SocketLike> {
  /** @internal */
  protected override _stopReading(): void {
    this._loop._removeCallbackOf(this._fd, 'reader');
  }

  /** @internal */
  protected override _closeRead(): void {
    this._loop._removeCallbackOf(this._fd, 'reader');
  }

  /** @internal */
  protected override _abortIo(wasClosing: boolean): void {
    if (!wasClosing) this._loop._removeCallbackOf(this._fd, 'reader');
  }

  /** @internal */
  protected override _releaseIo(): void {
    const loop = this._loop;
    if (loop.isClosed()) return;
    if (loop._callbackOf(this._fd, 'reader') !== null) loop._removeCallbackOf(this._fd, 'reader');
    if (loop._callbackOf(this._fd, 'writer') !== null) loop._removeCallbackOf(this._fd, 'writer');
  }
}

/**
 * asyncio's `_SelectorSocketTransport`: a stream socket. `write` sends at
 * once and keeps what the kernel did not take as a list of the caller's
 * buffers (not copied: do not change a buffer after writing it); the rest
 * goes out with one `sendmsg` per writability.
 */
export class SelectorSocketTransport extends SelectorTransport implements Transport {
  /** @internal TLS can run over it (`startTls`); set on the prototype, below. */
  declare readonly [START_TLS_COMPATIBLE]: true;
  /** @internal What the kernel has not taken yet; NO_BUFFERS (shared, never written) while that is nothing. */
  _buffers: Uint8Array[] = NO_BUFFERS;
  /** @internal */ _eof = false;
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
    this._loop._addCallbackArg(this._fd, EVENT_READ, this._buffered ? readReadyBuffered : readReady, this);
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
      const sock = this._sock!;
      // Into the slab at its offset, without a view of the rest (a socket from an older @evloop/sys takes the view).
      count = sock.recvIntoAt !== undefined ? sock.recvIntoAt(slab, slabOffset) : sock.recvInto(slab.subarray(slabOffset));
    } catch (error) {
      if (isWouldBlock(error)) return;
      this._fatalError(error, 'Fatal read error on socket transport');
      return;
    }
    if (count === 0) {
      this._eofReceived();
      return;
    }
    const start = slabOffset;
    const data = slab.subarray(start, start + count);
    // Keep the next read 8-byte aligned, so views of the slab stay usable as typed arrays.
    const end = (slabOffset += (count + 7) & ~7);
    const protocol = this._protocol;
    const read = slab;
    try {
      protocol.dataReceived!(data);
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.dataReceived() call failed.');
    }
    // A protocol that never keeps the view (native TLS): its region is read into again.
    if (consumesReceivedData(protocol) && slab === read && slabOffset === end) slabOffset = start;
    // Otherwise that slab memory is spent: keep V8's young collections in step with it (@evloop/interface's read-memory.ts).
    else noteReadMemory(count);
  }

  /** @internal BufferedProtocol: receive straight into the protocol's buffer. */
  _readReadyBuffered(): void {
    if (this._connLost !== 0) return;
    const buffer = this._protocolBuffer();
    if (buffer === null) return;
    let count: number;
    try {
      count = this._sock!.recvInto(buffer);
    } catch (error) {
      if (isWouldBlock(error)) return;
      this._fatalError(error, 'Fatal read error on socket transport');
      return;
    }
    if (count === 0) {
      this._eofReceived();
      return;
    }
    try {
      this._protocol.bufferUpdated!(count);
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.bufferUpdated() call failed.');
    }
  }

  write(data: Uint8Array): void {
    checkBytes(data);
    checkNoSendfile(this);
    if (this._eof) throw new RuntimeError('Cannot call write() after writeEof()');
    if (data.length === 0 || this._writeAfterLost()) return;
    if (this._bufferSize === 0) {
      const sent = this._sendNow(data, null);
      if (sent < 0 || sent === data.length) return;
      if (sent > 0) data = data.subarray(sent);
      this._loop._addCallbackArg(this._fd, EVENT_WRITE, writeReady, this);
    }
    if (this._buffers === NO_BUFFERS) this._buffers = [];
    this._buffers.push(data);
    this._bufferSize += data.length;
    this._maybePauseProtocol();
  }

  writelines(list: Iterable<Uint8Array>): void {
    checkNoSendfile(this);
    const pieces = writelinesPieces(list).filter((data) => data.length > 0);
    if (pieces.length === 0) return;
    if (pieces.length === 1 || this._bufferSize !== 0 || this._eof || this._connLost !== 0 || this._sock === null || this._sock.sendmsg === undefined) {
      for (const piece of pieces) this.write(piece);
      return;
    }
    // Nothing buffered: one sendmsg for all of it, buffer what is left.
    let sent = this._sendNow(null, pieces);
    if (sent < 0) return;
    this._loop._addCallbackArg(this._fd, EVENT_WRITE, writeReady, this);
    for (const piece of pieces) {
      if (sent >= piece.length) {
        sent -= piece.length;
        continue;
      }
      const rest = sent > 0 ? piece.subarray(sent) : piece;
      sent = 0;
      if (this._buffers === NO_BUFFERS) this._buffers = [];
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
    if (index === buffers.length) this._buffers = NO_BUFFERS;
    else if (index > 0) buffers.splice(0, index);
    this._maybeResumeProtocol();
    if (this._bufferSize === 0) {
      this._loop._removeCallbackOf(this._fd, 'writer');
      if (this._sendfileWaiter !== null) sendfileDrained(this);
      if (this._closing) {
        this._connectionLostSoon(null);
      } else if (this._eof) {
        this._shutdownWrite();
      }
    }
  }

  /** @internal Whether the socket is an `@evloop/sys` socket (a real fd that send(2) may use); found on first ask. */
  _osSocket: boolean | undefined = undefined;

  /**
   * @internal Native TLS over this transport sends its records itself, with
   * one send(2) in the call that encrypts them, while this transport could
   * send at once: nothing buffered, open, no EOF or sendfile. The fd to send
   * on then, else -1 (then it writes as anyone does). What the socket did not
   * take goes to {@link _directSendRest}, a failure to {@link _directSendFailed}.
   */
  _directSendFd(): number {
    if (this._bufferSize !== 0 || this._eof || this._closing || this._connLost !== 0 || this._sendfileWaiter !== null || this._sock === null) return -1;
    if (this._osSocket === undefined) this._osSocket = process.platform !== 'win32' && this._sock instanceof sysModule().Socket;
    return this._osSocket ? this._sock.fileno() : -1;
  }

  /** @internal The part of a direct send (see `_directSendFd`) the socket did not take: buffered as `write` buffers it. */
  _directSendRest(data: Uint8Array): void {
    if (this._buffers === NO_BUFFERS) this._buffers = [];
    this._loop._addCallbackArg(this._fd, EVENT_WRITE, writeReady, this);
    this._buffers.push(data);
    this._bufferSize += data.length;
    this._maybePauseProtocol();
  }

  /** @internal A direct send failed (not EAGAIN): as a failed `write`. */
  _directSendFailed(error: unknown): void {
    this._fatalError(error, 'Fatal write error on socket transport');
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
      this._buffers = NO_BUFFERS;
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

  /** @internal Set while the loop sends a file through the socket (base/sendfile-gate.ts). */
  _sendfileWaiter: Future<void> | null = null;

  /** @internal Start a native sendfile: wait for the write buffer to drain, and refuse writes until `_sendfileEnd`. */
  _sendfileBegin(): Future<void> {
    return beginSendfile(this, this._bufferSize === 0);
  }

  /** @internal The native sendfile is over (see `endSendfile`). */
  _sendfileEnd(error: unknown): void {
    endSendfile(this, error);
  }

  /** @internal close() under a sendfile: the step waiting for writability ends (the socket is going away). */
  protected override _closeRead(): void {
    super._closeRead();
    if (this._sendfileWaiter !== null) this._loop._abortSendfileStep(this._fd);
  }

  /** @internal */
  protected override _abortIo(wasClosing: boolean): void {
    super._abortIo(wasClosing);
    if (this._sendfileWaiter !== null) this._loop._abortSendfileStep(this._fd);
  }

  override _forceClose(error: unknown): void {
    super._forceClose(error);
    sendfileLost(this, error);
  }
}

Object.defineProperty(SelectorSocketTransport.prototype, START_TLS_COMPATIBLE, { value: true });
// `_readReady` hands out views of a slab region that is never read into again.
Object.defineProperty(SelectorSocketTransport.prototype, OWNS_RECEIVED_DATA, { value: true });

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
    this._loop._addCallbackArg(this._fd, EVENT_READ, datagramReadReady, this);
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
    checkBytes(data);
    checkDatagramAddress(this._address, address);
    if (this._address !== null) address = this._address;
    if (this._writeAfterLost()) return;
    if (this._pending.length === 0) {
      const sock = this._sock!;
      try {
        if (this._address !== null) sock.send(data);
        else sock.sendto(data, address);
        return;
      } catch (error) {
        if (!isWouldBlock(error)) {
          if (isOSError(error)) this._callProtocol('errorReceived', error);
          else this._fatalError(error, 'Fatal write error on datagram transport');
          return;
        }
        this._loop._addCallbackArg(this._fd, EVENT_WRITE, datagramWriteReady, this);
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
      if (this._closing && this._connLost === 0) this._connectionLostSoon(null);
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
