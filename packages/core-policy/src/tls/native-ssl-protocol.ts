import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { markAsUntransferable } from 'node:worker_threads';
import { noteReadMemory, osErrorFromErrno, type BaseProtocol as BaseProtocolContract } from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import type { NativeTlsBinding, NativeTlsConnectionBinding, TlsNativeModule } from './native-tls.js';
import { CONSUMES_RECEIVED_DATA, START_TLS_COMPATIBLE, consumesReceivedData, isDirectSendTransport, type DirectSendTransport, type RawStreamTransport } from './raw-transport.js';
import { CERT_NONE, CERT_REQUIRED } from './ssl-context.js';
import type { SSLContext } from './ssl-context.js';
import { SSLProtocol, toSslError, type SSLProtocolOptions } from './ssl-protocol.js';

/** Ciphertext buffered unread (the app paused reading) above which the socket stops being read. */
const INCOMING_HIGH_WATER = 256 * 1024;
/** The slab plaintext and ciphertext are written into (views of it are handed out; a region is reused only for ciphertext the socket sent at once). */
const SLAB_SIZE = 128 * 1024;
/** Room a feed wants: a whole record's plaintext. */
const FEED_ROOM = 16 * 1024 + 1024;
// The native call's report (see @evloop/tls-native's setSlab).
const PLAINTEXT_LENGTH = 0;
const CIPHERTEXT_OFFSET = 1;
const CIPHERTEXT_LENGTH = 2;
const BUFFERED_IN = 3;
const NEXT_OFFSET = 4;
/** writeSend's: the bytes send(2) took, -errno, or NOT_SENT. */
const SENT = 5;
const NOT_SENT = -2147483648;

/**
 * The slab every native connection of this thread writes into, and where
 * the addon reports. On globalThis, so that an ESM and a CJS copy of this
 * package in one process (which share the addon) share it too.
 */
interface Slab {
  binding: NativeTlsBinding | null;
  buffer: Buffer;
  offset: number;
  readonly state: Int32Array;
}
const SLAB_KEY = Symbol.for('evloop.tlsNativeSlab');
function sharedSlab(): Slab {
  const holder = globalThis as { [SLAB_KEY]?: Slab };
  holder[SLAB_KEY] ??= { binding: null, buffer: Buffer.alloc(0), offset: 0, state: new Int32Array(6) };
  return holder[SLAB_KEY];
}

/** The offset to write at, with at least `room` bytes after it (a fresh slab if need be; at most SLAB_SIZE is asked). */
function slabRoom(binding: NativeTlsBinding, room: number): Slab {
  const slab = sharedSlab();
  // (A detached slab, which user code holding a view could cause, reads as length 0.)
  if (slab.binding !== binding || slab.buffer.length - slab.offset < Math.min(room, SLAB_SIZE)) {
    slab.buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
    // Its views reach user code: postMessage must not move it away (the addon checks anyway).
    markAsUntransferable(slab.buffer.buffer);
    slab.offset = 0;
    slab.binding = binding;
    binding.setSlab(slab.buffer, slab.state);
  }
  return slab;
}

/** The ciphertext the last call produced: a view of the slab, a Buffer of its own when it did not fit, or null. */
function takeCiphertext(slab: Slab, connection: NativeTlsConnectionBinding): Buffer | null {
  const state = slab.state;
  const length = state[CIPHERTEXT_LENGTH]!;
  if (length === 0) return null;
  const offset = state[CIPHERTEXT_OFFSET]!;
  if (offset >= 0) return slab.buffer.subarray(offset, offset + length);
  const own = Buffer.allocUnsafeSlow(length);
  connection.drain(own);
  return own;
}

/** Whether an app protocol is done with a received view when its call returns. */
function appConsumesReceivedData(app: object): boolean {
  return typeof (app as { getBuffer?: unknown }).getBuffer === 'function' || consumesReceivedData(app);
}

/** A distinguished name as Node's `getPeerCertificate()` gives it: `{ CN: 'localhost', O: [...] }`. */
function distinguishedName(text: string): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    const value = line.slice(at + 1);
    const existing = result[key];
    if (existing === undefined) result[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else result[key] = [existing, value];
  }
  return result;
}

/** The peer's certificate in the shape of Node's `tlsSocket.getPeerCertificate()` (the fields OpenSSL's DER gives). */
function peerCertificateObject(certificate: X509Certificate): Record<string, unknown> {
  const object: Record<string, unknown> = {
    subject: distinguishedName(certificate.subject),
    issuer: distinguishedName(certificate.issuer),
    ca: certificate.ca,
    valid_from: certificate.validFrom,
    valid_to: certificate.validTo,
    fingerprint: certificate.fingerprint,
    fingerprint256: certificate.fingerprint256,
    fingerprint512: certificate.fingerprint512,
    serialNumber: certificate.serialNumber,
    raw: certificate.raw,
  };
  if (certificate.subjectAltName !== undefined) object.subjectaltname = certificate.subjectAltName;
  if (certificate.infoAccess !== undefined) object.infoAccess = certificate.infoAccess;
  if (certificate.keyUsage !== undefined) object.ext_key_usage = certificate.keyUsage;
  return object;
}

/**
 * `getExtraInfo('ssl_object')` on the native path: the members of Node's
 * `tls.TLSSocket` that describe a connection (`alpnProtocol`,
 * `getProtocol()`, `getCipher()`, `getPeerCertificate()`,
 * `getPeerX509Certificate()`, `exportKeyingMaterial()`, `servername`).
 */
export class NativeSslObject {
  readonly encrypted = true;
  /** The protocol ALPN chose, or false (as Node). */
  readonly alpnProtocol: string | false;
  /** Server side: the name the client sent (SNI), or false. */
  readonly servername: string | false;
  /** True: the peer's certificate was verified as the context asked (a failure ends the handshake). */
  readonly authorized = true;
  readonly #connection: NativeTlsConnectionBinding;
  readonly #info: ReturnType<NativeTlsConnectionBinding['info']>;
  readonly #der: Buffer | null;
  #certificate: X509Certificate | null | undefined;

  /** Reads what describes the connection at once (it stays readable after the connection is gone); parses the certificate when first asked. */
  constructor(connection: NativeTlsConnectionBinding) {
    this.#connection = connection;
    this.#info = connection.info();
    this.alpnProtocol = this.#info.alpn ?? false;
    this.servername = this.#info.servername ?? false;
    this.#der = connection.peerCertificate();
  }

  #peer(): X509Certificate | null {
    if (this.#certificate === undefined) this.#certificate = this.#der === null ? null : new X509Certificate(this.#der);
    return this.#certificate;
  }

  /** 'TLSv1.2' or 'TLSv1.3'. */
  getProtocol(): string {
    return this.#info.version;
  }

  getCipher(): { name: string; standardName: string; version: string } {
    return { name: this.#info.cipher, standardName: this.#info.standardName, version: this.#info.version };
  }

  /** Secret bits of the cipher. */
  cipherBits(): number {
    return this.#info.bits;
  }

  /** The peer's certificate as Node's `getPeerCertificate()` object, or `{}` when it sent none (as Node). */
  getPeerCertificate(): Record<string, unknown> {
    const certificate = this.#peer();
    return certificate === null ? {} : peerCertificateObject(certificate);
  }

  getPeerX509Certificate(): X509Certificate | undefined {
    return this.#peer() ?? undefined;
  }

  /** RFC 5705 keying material (Node's `exportKeyingMaterial`). */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Buffer {
    if (!Number.isInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${String(length)}`);
    if (typeof label !== 'string') throw new TypeError('label must be a string');
    if (context !== undefined && !(context instanceof Uint8Array)) throw new TypeError('context must be a Uint8Array');
    return this.#connection.exportKeyingMaterial(length, label, context ?? null);
  }
}

/**
 * asyncio's `sslproto.SSLProtocol` as asyncio and uvloop run it: OpenSSL
 * over memory BIOs, natively (`@evloop/tls-native`). Each chunk of
 * ciphertext from the socket is one native call that runs the handshake,
 * decrypts everything complete and returns the plaintext and the
 * ciphertext to send; each write is one call that returns the ciphertext.
 * The state machine, timeouts, flow control and errors are
 * {@link SSLProtocol}'s.
 *
 * Backpressure: while the socket transport has paused writing, plaintext
 * waits unencrypted (counted by `getWriteBufferSize()`); while the app has
 * paused reading, ciphertext waits undecrypted, and the socket stops being
 * read once 256 KiB are waiting.
 */
export class NativeSSLProtocol extends SSLProtocol {
  /** @internal */ readonly _module: TlsNativeModule;
  /** @internal */ readonly _binding: NativeTlsBinding;
  /** @internal */ _connection: NativeTlsConnectionBinding | null = null;
  /** @internal Plaintext not encrypted yet: the socket transport paused writing (or OpenSSL must read first). */
  /** @internal */ _backlog: Uint8Array[] = [];
  /** @internal */ _sslObject: NativeSslObject | null = null;
  /** @internal The socket transport, when records can be sent from the native call that makes them (writeSend). */
  _direct: DirectSendTransport | null = null;

  constructor(
    loop: BaseEventLoop,
    appProtocol: BaseProtocolContract,
    context: SSLContext,
    waiter: Future<void> | null,
    options: SSLProtocolOptions,
    native: { module: TlsNativeModule; binding: NativeTlsBinding },
  ) {
    super(loop, appProtocol, context, waiter, options);
    this._module = native.module;
    this._binding = native.binding;
  }

  // --- The raw transport's protocol ---

  override connectionMade(transport: unknown): void {
    this._raw = transport as RawStreamTransport;
    this._timer = this._loop.callLater(this._handshakeTimeout, () => this._handshakeTimedOut());
    try {
      const binding = this._binding;
      const context = this._context;
      let verify = 0;
      if (context.verifyMode !== CERT_NONE) {
        verify = binding.SSL_VERIFY_PEER;
        if (this._serverSide && context.verifyMode === CERT_REQUIRED) verify |= binding.SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      }
      const hostname = this._serverSide ? '' : (this._serverHostname ?? '');
      // SNI carries names only (RFC 6066); an address is still matched against the certificate.
      const sni = hostname !== '' && net.isIP(hostname) === 0;
      const checkHostname = !this._serverSide && context.checkHostname && hostname !== '';
      this._connection = new binding.Connection(context._nativeContext(binding), verify, hostname, checkHostname, sni);
      if (isDirectSendTransport(transport) && typeof this._connection.writeSend === 'function' && sharedSlab().state.length > SENT) this._direct = transport;
      // A client speaks first: the ClientHello.
      if (!this._serverSide) this._feed(null);
    } catch (error) {
      this._handshakeFailed(error);
    }
  }

  override dataReceived(data: Uint8Array): void {
    if (this._connection === null || this._state === 'closed') return;
    this._feed(data);
  }

  override eofReceived(): boolean {
    if (this._state === 'wrapped') {
      // The socket ended without close_notify: as the peer's EOF.
      this._tlsEnded();
      return true;
    }
    return super.eofReceived();
  }

  override resumeWriting(): void {
    this._rawWritePaused = false;
    this._flush();
  }

  override connectionLost(error: unknown): void {
    const connection = this._connection;
    this._connection = null;
    this._backlog = [];
    connection?.destroy();
    super.connectionLost(error);
  }

  // --- OpenSSL ---

  /** One native call: ciphertext in (or none), then the ciphertext to send, the handshake's end, plaintext, the peer's close_notify. */
  private _feed(data: Uint8Array | null): void {
    const connection = this._connection!;
    const module = this._module;
    for (;;) {
      const state = this._state;
      const slab = slabRoom(this._binding, FEED_ROOM);
      const start = slab.offset;
      const flags = connection.feed(data, !this._appReadingPaused || state === 'handshake' || state === 'shutdown', start);
      data = null;
      const report = slab.state;
      const plaintextLength = report[PLAINTEXT_LENGTH]!;
      const buffered = report[BUFFERED_IN]!;
      const plaintext = plaintextLength === 0 ? null : slab.buffer.subarray(start, start + plaintextLength);
      const ciphertext = takeCiphertext(slab, connection);
      // What was written is handed out: never written again.
      slab.offset = report[NEXT_OFFSET]!;
      // Handshake messages, alerts and post-handshake replies go out first.
      if (ciphertext !== null) this._raw?.write(ciphertext);
      if ((flags & module.FLAG_FAILED) !== 0) {
        const error = connection.error();
        if (this._state === 'handshake') this._handshakeFailed(error);
        else if (this._state !== 'closed') this._fatalError(toSslError(error), 'Fatal error on SSL transport');
        return;
      }
      if ((flags & module.FLAG_HANDSHAKE_DONE) !== 0 && !this._nativeHandshakeDone()) return;
      if (plaintext !== null) {
        // An app that copies what it is given (a BufferedProtocol) or says it
        // keeps no view (CONSUMES_RECEIVED_DATA) gives the room back: the next
        // message's plaintext goes to the same place, not to fresh slab memory
        // (external memory that drives V8's major GCs).
        const end = slab.offset;
        const consumed = ciphertext === null && this._state === 'wrapped' && this._appConnected && appConsumesReceivedData(this._app);
        this._plaintextReceived(plaintext);
        if (consumed && slab.offset === end && slab.buffer.buffer === plaintext.buffer) slab.offset = start;
        else noteReadMemory(plaintextLength);
      }
      if ((flags & module.FLAG_PEER_CLOSED) !== 0 && this._connection !== null) this._tlsEnded();
      if (this._connection === null || this._state === 'closed') return;
      if ((flags & module.FLAG_MORE_PLAINTEXT) !== 0 && !this._appReadingPaused) continue;
      if (buffered > INCOMING_HIGH_WATER && !this._rawReadPausedByPipe) {
        this._rawReadPausedByPipe = true;
        this._raw?.pauseReading();
      }
      break;
    }
    // OpenSSL may have been waiting for this input to take a write.
    if (this._backlog.length > 0 && !this._rawWritePaused) this._flush();
  }

  /** The app protocol is told; false if it failed or the connection is gone. */
  private _nativeHandshakeDone(): boolean {
    if (this._state !== 'handshake' || this._loop.isClosed()) return false;
    this._clearTimer();
    this._state = 'wrapped';
    const sslObject = new NativeSslObject(this._connection!);
    this._sslObject = sslObject;
    if (this._loop.getDebug()) logger.debug(`${String(this._raw)}: TLS handshake done (${sslObject.getProtocol()}, ${sslObject.getCipher().name}, native)`);
    return this._connectApp() && (this._state as string) !== 'closed' && this._connection !== null;
  }

  /** Encrypts `data` and hands the ciphertext to the socket; false if OpenSSL took none of it (it must read first). */
  private _encrypt(data: Uint8Array): boolean {
    const connection = this._connection!;
    const slab = slabRoom(this._binding, data.length + (data.length >> 8) + 64);
    const start = slab.offset;
    const direct = this._direct;
    const fd = direct === null ? -1 : direct._directSendFd();
    if (fd >= 0) return this._encryptAndSend(data, slab, start, direct!, fd);
    const taken = connection.write(data, start);
    const ciphertext = takeCiphertext(slab, connection);
    slab.offset = slab.state[NEXT_OFFSET]!;
    if (ciphertext !== null) {
      const raw = this._raw;
      raw?.write(ciphertext);
      // The socket took it all at once and holds no view of it (evloop's socket
      // transports count what they keep or have in flight in the write buffer):
      // the region is free again, so a message costs no fresh slab memory for
      // its ciphertext (external memory that drives V8's major GCs).
      if (
        raw != null &&
        slab.offset === start + ciphertext.length &&
        slab.buffer.buffer === ciphertext.buffer &&
        raw[START_TLS_COMPATIBLE] === true &&
        raw.getWriteBufferSize() === 0 &&
        !raw.isClosing()
      ) {
        slab.offset = start;
      }
    }
    if (taken < 0) {
      this._fatalError(toSslError(connection.error()), 'Fatal error on SSL transport');
      return false;
    }
    return taken === data.length;
  }

  /**
   * `_encrypt` while the socket transport has nothing buffered: the same
   * native call sends the records (send(2)); what the socket does not take
   * is buffered by the transport, a failure is the transport's write error.
   * A message the socket takes whole needs no view of the slab and leaves
   * its region free.
   */
  private _encryptAndSend(data: Uint8Array, slab: Slab, start: number, direct: DirectSendTransport, fd: number): boolean {
    const connection = this._connection!;
    const taken = connection.writeSend!(data, start, fd);
    const state = slab.state;
    const sent = state[SENT]!;
    const length = state[CIPHERTEXT_LENGTH]!;
    if (sent === NOT_SENT) {
      // The records did not fit in the slab: the transport sends them.
      const ciphertext = takeCiphertext(slab, connection);
      slab.offset = state[NEXT_OFFSET]!;
      if (ciphertext !== null) this._raw?.write(ciphertext);
    } else if (sent < 0) {
      direct._directSendFailed(osErrorFromErrno(-sent, 'send'));
    } else if (sent < length) {
      slab.offset = state[NEXT_OFFSET]!;
      direct._directSendRest(slab.buffer.subarray(start + sent, start + length));
    }
    if (taken < 0) {
      this._fatalError(toSslError(connection.error()), 'Fatal error on SSL transport');
      return false;
    }
    return taken === data.length;
  }

  /** Encrypts what waits, while the socket transport takes it; then close_notify if closing. */
  private _flush(): void {
    const backlog = this._backlog;
    while (backlog.length > 0 && !this._rawWritePaused && this._connection !== null) {
      const data = backlog[0]!;
      if (!this._encrypt(data)) break;
      backlog.shift();
      this._pending -= data.length;
    }
    if (this._connection === null) return;
    this._maybeResumeApp();
    if (this._state === 'shutdown' && backlog.length === 0) this._sendCloseNotify();
  }

  private _sendCloseNotify(): void {
    if (this._sentCloseNotify || this._connection === null) return;
    this._sentCloseNotify = true;
    const connection = this._connection;
    const slab = slabRoom(this._binding, 256);
    connection.shutdown(slab.offset);
    const ciphertext = takeCiphertext(slab, connection);
    slab.offset = slab.state[NEXT_OFFSET]!;
    if (ciphertext !== null) this._raw?.write(ciphertext);
    this._maybeFinishShutdown();
  }

  // --- For SSLTransport ---

  /** @internal */
  override _write(data: Uint8Array): void {
    if (this._state !== 'wrapped' || this._connection === null) {
      super._write(data);
      return;
    }
    if (this._backlog.length === 0 && !this._rawWritePaused) {
      if (this._encrypt(data) || this._connection === null) return;
    }
    // Copied: the caller may reuse its buffer once write() returns.
    this._backlog.push(Buffer.from(data));
    this._pending += data.length;
    this._maybePauseApp();
  }

  /** @internal */
  override _setReading(reading: boolean): void {
    this._appReadingPaused = !reading;
    if (!reading || this._connection === null || this._state === 'handshake' || this._state === 'closed') return;
    if (this._rawReadPausedByPipe) {
      this._rawReadPausedByPipe = false;
      this._raw?.resumeReading();
    }
    // What arrived while paused.
    this._feed(null);
  }

  /** @internal */
  override _startShutdown(): void {
    if (this._state !== 'wrapped') return;
    this._state = 'shutdown';
    this._timer = this._loop.callLater(this._shutdownTimeout, () => this._shutdownTimedOut());
    if (this._backlog.length === 0) this._sendCloseNotify();
  }

  /** @internal */
  override _extraInfo(name: string, defaultValue: unknown): unknown {
    const sslObject = this._sslObject;
    switch (name) {
      case 'ssl_object':
        return sslObject ?? defaultValue;
      case 'peercert': {
        if (sslObject === null) return defaultValue;
        const certificate = sslObject.getPeerX509Certificate();
        return certificate === undefined ? null : peerCertificateObject(certificate);
      }
      case 'cipher': {
        if (sslObject === null) return defaultValue;
        return [sslObject.getCipher().name, sslObject.getProtocol(), sslObject.cipherBits()];
      }
      default:
        return super._extraInfo(name, defaultValue);
    }
  }

  override toString(): string {
    return `<SSLProtocol ${this._serverSide ? 'server' : 'client'} ${this._state} native>`;
  }
}

// dataReceived's buffer is read in place by the native call; what OpenSSL leaves unread is copied.
Object.defineProperty(NativeSSLProtocol.prototype, CONSUMES_RECEIVED_DATA, { value: true });
