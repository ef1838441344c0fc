import { NotImplementedError, type BaseProtocol, type Transport } from '@evloop/interface';
import type { SSLProtocol } from './ssl-protocol.js';
import { checkProtocol, writeBufferLimits, writelinesPieces } from '../net/transport-arguments.js';

/**
 * The transport a protocol gets on a TLS connection (asyncio's
 * `_SSLProtocolTransport`): the plain transport's API over TLS.
 *
 * - `write` encrypts and sends; the write buffer (`getWriteBufferSize()`)
 *   is the plaintext not yet encrypted and handed to the socket, with the
 *   same high/low-water flow control (`pauseWriting`/`resumeWriting`).
 * - `close()` flushes, sends close_notify and waits for the peer's (at most
 *   `sslShutdownTimeout` seconds, then the connection is aborted and
 *   `connectionLost` gets a `TimeoutError`); `abort()` closes at once.
 * - `writeEof()` is not supported (`canWriteEof()` is false), as asyncio:
 *   TLS has no half-close.
 * - `getExtraInfo` adds `'sslcontext'` (the {@link SSLContext}),
 *   `'peercert'` (Node's `getPeerCertificate()` object, or null),
 *   `'cipher'` (`[name, version, secretBits]`), `'compression'` (null) and
 *   `'ssl_object'` (the `tls.TLSSocket`: `alpnProtocol`, `getProtocol()`,
 *   `getPeerX509Certificate()`...) to the socket's `'socket'`,
 *   `'sockname'` and `'peername'`.
 */
export class SSLTransport implements Transport {
  /** @internal */ readonly _ssl: SSLProtocol;
  /** @internal */ _closed = false;

  constructor(ssl: SSLProtocol) {
    this._ssl = ssl;
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return this._ssl._extraInfo(name, defaultValue);
  }

  setProtocol(protocol: BaseProtocol): void {
    checkProtocol(protocol);
    this._ssl._app = protocol as SSLProtocol['_app'];
  }

  getProtocol(): BaseProtocol {
    return this._ssl._app;
  }

  isClosing(): boolean {
    return this._closed || this._ssl._state === 'shutdown' || this._ssl._state === 'closed';
  }

  /** Flush, send close_notify, wait for the peer's; `connectionLost(null)` once done. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._ssl._startShutdown();
  }

  /**
   * `await using transport = ...`: `close()` (flush, close_notify both
   * ways, at most `sslShutdownTimeout` seconds), then wait until the
   * protocol's `connectionLost` has run.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this._ssl._waitLost();
  }

  /** Close at once, dropping buffered data; `connectionLost(null)`. */
  abort(): void {
    this._closed = true;
    this._ssl._abort();
  }

  isReading(): boolean {
    return !this._ssl._appReadingPaused && !this.isClosing();
  }

  pauseReading(): void {
    if (this.isClosing() || this._ssl._appReadingPaused) return;
    this._ssl._setReading(false);
  }

  resumeReading(): void {
    if (this.isClosing() || !this._ssl._appReadingPaused) return;
    this._ssl._setReading(true);
  }

  /** As the plain transport: high defaults to 64 KiB (or 4 × low), low to high / 4. */
  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    [this._ssl._highWater, this._ssl._lowWater] = writeBufferLimits(high, low);
    this._ssl._maybePauseApp();
    this._ssl._maybeResumeApp();
  }

  getWriteBufferSize(): number {
    return this._ssl._pending;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return [this._ssl._lowWater, this._ssl._highWater];
  }

  write(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new TypeError(`data argument must be a bytes-like object (Uint8Array), not ${data === null ? 'null' : typeof data}`);
    if (data.length === 0) return;
    this._ssl._write(data);
  }

  writelines(list: Iterable<Uint8Array>): void {
    const pieces = writelinesPieces(list).filter((data) => data.length > 0);
    if (pieces.length === 0) return;
    this._ssl._write(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
  }

  /** TLS has no half-close: throws NotImplementedError (asyncio's SSL transport does too). */
  writeEof(): void {
    throw new NotImplementedError("TLS transports don't support half-closes (writeEof)");
  }

  canWriteEof(): boolean {
    return false;
  }

  toString(): string {
    return `<SSLTransport ${this._ssl._serverSide ? 'server' : 'client'} ${this._ssl._state} raw=${String(this._ssl._raw)}>`;
  }
}
