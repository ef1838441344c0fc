import { Duplex } from 'node:stream';
import { RuntimeError, type BaseProtocol as BaseProtocolContract, type Protocol as ProtocolContract, type Transport } from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import { getEventLoop } from '../loop/running-loop.js';
import { Future } from '../futures/future.js';
import { Protocol } from './protocols.js';
import { writeBufferLimits, writelinesPieces } from './transport-arguments.js';

const DEFAULT_HIGH_WATER = 64 * 1024;

// ---- an evloop transport seen as a Node Duplex ----

/**
 * A protocol that turns its transport into a Node `Duplex` (`protocol.stream`),
 * so a Node library that speaks to a stream (an HTTP parser, a database
 * driver, `pipeline()`) runs over an evloop connection. Flow control goes
 * both ways: a full readable side pauses the transport's reading, and the
 * transport's `pauseWriting` holds the stream's write callbacks until
 * `resumeWriting`. The peer's EOF ends the readable side (the writable side
 * stays open until `end()`); `end()` sends EOF where the transport can
 * (`writeEof`), else closes; `destroy()` aborts the transport.
 *
 * ```js
 * const [, protocol] = await loop.createConnection(() => new DuplexProtocol(), host, port);
 * protocol.stream.pipe(parser);
 * ```
 */
export class DuplexProtocol extends Protocol {
  /** The Node side of the connection. */
  readonly stream: Duplex;
  #transport: Transport | null = null;
  #readingPaused = false;
  #writingPaused = false;
  #heldCallbacks: Array<(error?: Error | null) => void> = [];
  #lost = false;
  #eofSeen = false;

  constructor(options: { highWaterMark?: number } = {}) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const protocol = this;
    this.stream = new Duplex({
      allowHalfOpen: true,
      ...(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark }),
      read() {
        protocol.#resume();
      },
      write(chunk: Buffer, _encoding, callback) {
        protocol.#write(chunk, callback);
      },
      final(callback) {
        protocol.#final(callback);
      },
      destroy(error, callback) {
        protocol.#destroy(error);
        callback(error);
      },
    });
  }

  /** The transport under the stream (null before `connectionMade`). */
  get transport(): Transport | null {
    return this.#transport;
  }

  override connectionMade(transport: unknown): void {
    this.#transport = transport as Transport;
    this.stream.emit('connect');
  }

  override dataReceived(data: Uint8Array): void {
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!this.stream.push(chunk) && !this.#readingPaused && this.#transport !== null && !this.#transport.isClosing()) {
      this.#readingPaused = true;
      this.#transport.pauseReading();
    }
  }

  override eofReceived(): boolean {
    this.#eofSeen = true;
    this.stream.push(null);
    // Keep the write side open until the Node side ends it, unless it already has.
    return !this.stream.writableFinished;
  }

  override connectionLost(error: unknown): void {
    this.#lost = true;
    this.#releaseWrites(error instanceof Error ? error : null);
    if (error !== null && error !== undefined) {
      this.stream.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (!this.stream.readableEnded) this.stream.push(null);
    // Nothing more can be written; let the stream close once it is read.
    if (!this.stream.destroyed) {
      if (this.stream.readableEnded || this.stream.readableLength === 0) this.stream.destroy();
      else this.stream.once('end', () => this.stream.destroy());
    }
  }

  override pauseWriting(): void {
    this.#writingPaused = true;
  }

  override resumeWriting(): void {
    this.#writingPaused = false;
    this.#releaseWrites(null);
  }

  /** @internal Take over a transport that already runs (see `transportToDuplex`). */
  _adopt(transport: Transport): void {
    this.#transport = transport;
  }

  #resume(): void {
    if (!this.#readingPaused || this.#transport === null) return;
    this.#readingPaused = false;
    if (!this.#transport.isClosing()) this.#transport.resumeReading();
  }

  #write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const transport = this.#transport;
    if (transport === null) {
      callback(new RuntimeError('the connection is not made yet'));
      return;
    }
    if (this.#lost || transport.isClosing()) {
      callback(new RuntimeError('the transport is closing'));
      return;
    }
    transport.write(chunk);
    if (this.#writingPaused) this.#heldCallbacks.push(callback);
    else callback();
  }

  #final(callback: (error?: Error | null) => void): void {
    const transport = this.#transport;
    if (transport !== null && !transport.isClosing()) {
      // Both directions are done once the peer has ended too.
      if (transport.canWriteEof() && !this.#eofSeen) transport.writeEof();
      else transport.close();
    }
    callback();
  }

  #destroy(error: Error | null): void {
    this.#releaseWrites(error);
    const transport = this.#transport;
    if (transport === null || this.#lost || transport.isClosing()) return;
    if (error === null) transport.close();
    else transport.abort();
  }

  #releaseWrites(error: Error | null): void {
    const callbacks = this.#heldCallbacks;
    this.#heldCallbacks = [];
    for (const callback of callbacks) callback(error);
  }
}

/**
 * Hand a running evloop transport to Node: its protocol is replaced by a
 * `DuplexProtocol` and the Duplex is returned. Bytes the old protocol has
 * not consumed stay with it.
 */
export function transportToDuplex(transport: Transport): Duplex {
  if (transport === null || typeof transport !== 'object' || typeof transport.setProtocol !== 'function' || typeof transport.write !== 'function') {
    throw new TypeError('transport must be an evloop stream transport');
  }
  if (transport.isClosing()) throw new RuntimeError('the transport is closing');
  const protocol = new DuplexProtocol();
  protocol._adopt(transport);
  transport.setProtocol(protocol);
  return protocol.stream;
}

// ---- a Node Duplex seen as an evloop transport ----

/**
 * An evloop stream transport over a Node `Duplex` (a `net.Socket`, a
 * `tls.TLSSocket`, a stream pair from a test): protocols, `StreamReader` /
 * `StreamWriter` and everything written against `Transport` run on it.
 * Protocol methods are called from loop callbacks, as on any transport.
 * `write` past the high-water mark calls `pauseWriting`, and the stream's
 * `'drain'` calls `resumeWriting`; `pauseReading` pauses the stream.
 * `close()` ends the stream and destroys it once flushed, `abort()`
 * destroys it at once; `connectionLost` follows the stream's `'close'`.
 */
export class DuplexTransport implements Transport {
  readonly #loop: BaseEventLoop;
  readonly #stream: Duplex;
  #protocol: ProtocolContract;
  #closing = false;
  #reading = true;
  #held: Buffer[] = [];
  #eofPending = false;
  #protocolPaused = false;
  #lostCalled = false;
  #high = DEFAULT_HIGH_WATER;
  #low = DEFAULT_HIGH_WATER / 4;
  readonly #extra: Record<string, unknown>;

  constructor(loop: BaseEventLoop, stream: Duplex, protocol: ProtocolContract, waiter: Future<void> | null = null, extra: Record<string, unknown> = {}) {
    this.#loop = loop;
    this.#stream = stream;
    this.#protocol = protocol;
    const socket = stream as Partial<{ remoteAddress: string; remotePort: number; localAddress: string; localPort: number; connecting: boolean }>;
    this.#extra = { ...extra, stream };
    // Node emits whenever it likes; once the loop is closed nothing can be scheduled: drop the stream.
    const schedule = (callback: () => void) => {
      if (loop.isClosed()) {
        if (!stream.destroyed) stream.destroy();
        return;
      }
      loop.callSoon(callback);
    };
    const start = () => {
      if (socket.remoteAddress !== undefined) this.#extra.peername = [socket.remoteAddress, socket.remotePort];
      if (socket.localAddress !== undefined) this.#extra.sockname = [socket.localAddress, socket.localPort];
      schedule(() => {
        if (this.#lostCalled) return;
        this.#protocol.connectionMade?.(this);
        if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
      });
    };
    stream.on('data', (chunk: Buffer | string) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      schedule(() => this.#deliver(data));
    });
    stream.on('end', () => schedule(() => this.#deliverEof()));
    stream.on('drain', () => schedule(() => this.#maybeResumeProtocol()));
    stream.on('error', (error: Error) => {
      schedule(() => {
        if (waiter !== null && !waiter.done()) waiter.setException(error);
        this.#connectionLost(error);
      });
    });
    stream.on('close', () => schedule(() => this.#connectionLost(null)));
    if (socket.connecting === true) stream.once('connect', start);
    else start();
  }

  getExtraInfo(name: string, defaultValue: unknown = undefined): unknown {
    return name in this.#extra ? this.#extra[name] : defaultValue;
  }

  isClosing(): boolean {
    return this.#closing;
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#reading = false;
    this.#held = [];
    if (this.#stream.destroyed) return;
    if (this.#stream.writableEnded) this.#stream.destroy();
    else this.#stream.end(() => this.#stream.destroy());
  }

  abort(): void {
    this.#closing = true;
    this.#stream.destroy();
  }

  setProtocol(protocol: BaseProtocolContract): void {
    this.#protocol = protocol as ProtocolContract;
  }

  getProtocol(): BaseProtocolContract {
    return this.#protocol;
  }

  isReading(): boolean {
    return this.#reading && !this.#closing;
  }

  pauseReading(): void {
    if (this.#closing || !this.#reading) return;
    this.#reading = false;
    this.#stream.pause();
  }

  resumeReading(): void {
    if (this.#closing || this.#reading) return;
    this.#reading = true;
    this.#stream.resume();
    const held = this.#held;
    this.#held = [];
    for (const data of held) this.#loop.callSoon(() => this.#deliver(data));
    if (this.#eofPending) {
      this.#eofPending = false;
      this.#loop.callSoon(() => this.#deliverEof());
    }
  }

  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    [this.#high, this.#low] = writeBufferLimits(high, low);
  }

  getWriteBufferSize(): number {
    return this.#stream.writableLength;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this.#low, this.#high];
  }

  write(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new TypeError(`data must be a Uint8Array or Buffer, got ${data === null ? 'null' : typeof data}`);
    if (this.#closing || this.#stream.destroyed || this.#stream.writableEnded) return;
    if (data.byteLength === 0) return;
    this.#stream.write(data);
    if (!this.#protocolPaused && this.#stream.writableLength > this.#high) {
      this.#protocolPaused = true;
      this.#protocol.pauseWriting?.();
    }
  }

  writelines(list: Iterable<Uint8Array>): void {
    for (const data of writelinesPieces(list)) this.write(data);
  }

  writeEof(): void {
    if (this.#closing || this.#stream.writableEnded) return;
    this.#stream.end();
  }

  canWriteEof(): boolean {
    return true;
  }

  /** `await using transport`: `close()`, then wait until `connectionLost` has run. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    if (this.#lostCalled) return;
    const done = new Future<void>({ loop: this.#loop });
    this.#stream.once('close', () => {
      if (!this.#loop.isClosed()) this.#loop.callSoon(() => void (done.done() || done.setResult(undefined)));
    });
    if (this.#stream.closed) done.setResult(undefined);
    await done;
  }

  toString(): string {
    return `<DuplexTransport ${this.#lostCalled ? 'closed' : this.#closing ? 'closing' : 'open'}>`;
  }

  #deliver(data: Buffer): void {
    if (this.#closing || this.#lostCalled) return;
    if (!this.#reading) {
      this.#held.push(data);
      return;
    }
    this.#protocol.dataReceived?.(data);
  }

  #deliverEof(): void {
    if (this.#closing || this.#lostCalled) return;
    if (!this.#reading || this.#held.length > 0) {
      this.#eofPending = true;
      return;
    }
    const keepOpen = this.#protocol.eofReceived?.();
    if (!keepOpen) this.close();
  }

  #maybeResumeProtocol(): void {
    if (!this.#protocolPaused || this.#stream.writableLength > this.#low) return;
    this.#protocolPaused = false;
    this.#protocol.resumeWriting?.();
  }

  #connectionLost(error: unknown): void {
    if (this.#lostCalled) return;
    this.#lostCalled = true;
    this.#closing = true;
    this.#protocol.connectionLost?.(error);
  }
}

/**
 * Run an evloop protocol on a Node `Duplex` or `net.Socket` (one that is
 * connected, or connecting): resolves to `[transport, protocol]` once
 * `connectionMade` has run, as `loop.createConnection` does.
 */
export function connectDuplex<P extends ProtocolContract>(stream: Duplex, protocolFactory: () => P, options: { loop?: BaseEventLoop } = {}): Future<[DuplexTransport, P]> {
  if (!(stream instanceof Duplex)) throw new TypeError(`stream must be a Node Duplex (a net.Socket, for one), got ${stream === null ? 'null' : typeof stream}`);
  if (typeof protocolFactory !== 'function') throw new TypeError(`protocolFactory must be a function, got ${protocolFactory === null ? 'null' : typeof protocolFactory}`);
  if (stream.destroyed) throw new RuntimeError('the stream is already destroyed');
  const loop = options.loop ?? (getEventLoop() as BaseEventLoop);
  loop._checkClosed();
  const protocol = protocolFactory();
  const waiter = new Future<void>({ loop });
  const transport = new DuplexTransport(loop, stream, protocol, waiter);
  const result = new Future<[DuplexTransport, P]>({ loop });
  waiter.addDoneCallback(() => {
    if (result.done()) return;
    if (waiter.cancelled()) result.cancel();
    else if (waiter.exception() !== null) result.setException(waiter.exception());
    else result.setResult([transport, protocol]);
  });
  return result;
}
