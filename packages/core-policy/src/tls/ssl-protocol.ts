import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import {
  ConnectionAbortedError,
  ConnectionResetError,
  OSError,
  RuntimeError,
  SSLCertVerificationError,
  SSLError,
  TimeoutError,
  errnoNumber,
  type BaseProtocol as BaseProtocolContract,
  type BufferedProtocol as BufferedProtocolContract,
  type Protocol as ProtocolContract,
  type Transport,
} from '@evloop/interface';
import type { Future } from '../futures/future.js';
import type { TimerHandle } from '../loop/handles.js';
import { logger } from '../loop/logger.js';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import type { RawStreamTransport } from './raw-transport.js';
import { CERT_NONE, CERT_REQUIRED, type SSLContext } from './ssl-context.js';
import { SSLTransport } from './ssl-transport.js';

/** Seconds a TLS handshake may take before the connection is aborted (asyncio's SSL_HANDSHAKE_TIMEOUT). */
export const SSL_HANDSHAKE_TIMEOUT = 60;
/** Seconds `close()` waits for the peer's close_notify before aborting (asyncio's SSL_SHUTDOWN_TIMEOUT). */
export const SSL_SHUTDOWN_TIMEOUT = 30;
/** After this many writes to a closed TLS connection, each further one logs a warning. */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;
const DEFAULT_HIGH_WATER = 64 * 1024;
/**
 * Ciphertext taken in while the app has paused reading before the raw
 * transport stops reading too (asyncio's SSL read high-water mark). Node's
 * TLSSocket stops pulling from the Duplex once its own buffer is full, so
 * the Duplex fills and its push says so long before this; Deno's keeps
 * pulling and holds what it read out of sight, so without this bound a
 * paused app let the whole stream pile up in memory there.
 */
const PAUSED_INTAKE_HIGH_WATER = 256 * 1024;

type AppProtocol = BaseProtocolContract & Partial<ProtocolContract> & Partial<BufferedProtocolContract>;
type State = 'handshake' | 'wrapped' | 'shutdown' | 'closed';

export interface SSLProtocolOptions {
  serverSide: boolean;
  /** Client side: the name sent as SNI and matched against the certificate ('' matches nothing: no check). */
  serverHostname?: string | null;
  sslHandshakeTimeout?: number | null;
  sslShutdownTimeout?: number | null;
  /** Call the app protocol's connectionMade once the handshake is done (false for startTls, as asyncio). */
  callConnectionMade?: boolean;
}

/** Check a timeout option as asyncio does: positive seconds, or null/undefined for the default. */
export function checkTimeout(name: string, value: number | null | undefined, defaultValue: number): number {
  if (value === undefined || value === null) return defaultValue;
  if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`${name} should be a positive number, got ${String(value)}`);
  return value;
}

// Node's codes for certificate verification failures that are not X509 verify codes.
const VERIFY_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);

/**
 * Node's TLS error as evloop's typed error: a certificate that did not
 * verify is an `SSLCertVerificationError` (Node's code, e.g.
 * `CERT_HAS_EXPIRED`, and its message as `verifyMessage`), another OpenSSL
 * failure an `SSLError`, a connection reset a `ConnectionResetError`.
 */
export function toSslError(error: unknown): unknown {
  if (OSError.isInstance(error)) return error;
  if (error === null || typeof error !== 'object') return new SSLError(`TLS failure: ${String(error)}`, { code: 'ERR_SSL' });
  const record = error as { code?: unknown; message?: unknown; library?: unknown; reason?: unknown };
  const code = typeof record.code === 'string' ? record.code : 'ERR_SSL';
  const message = typeof record.message === 'string' ? record.message : String(error);
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new ConnectionResetError(errnoNumber('ECONNRESET') ?? 104, 'ssl', `Connection lost during the TLS handshake: ${message}`, 'ECONNRESET');
  }
  if (VERIFY_CODES.has(code) || (record.library === undefined && /^[A-Z][A-Z0-9_]+$/.test(code) && !code.startsWith('ERR_'))) {
    return new SSLCertVerificationError(`certificate verify failed: ${message} (${code})`, { code, verifyMessage: message, cause: error });
  }
  const library = typeof record.library === 'string' ? record.library : null;
  const reason = typeof record.reason === 'string' ? record.reason : null;
  return new SSLError(library !== null && reason !== null ? `[${library}] ${reason} (${code})` : `${message} (${code})`, { code, reason, library, cause: error });
}

function cipherBits(name: string): number | null {
  if (/CHACHA20|AES_?256|AES256/.test(name)) return 256;
  if (/AES_?128|AES128/.test(name)) return 128;
  return null;
}

type ConnectionListener = (this: tls.Server, socket: Duplex) => void;

/**
 * Why a server TLSSocket's client certificate did not verify, or null. Bun's
 * socket checks it itself (`authorized`, or an 'error' before 'secure');
 * Node leaves it to its tls.Server, which asks the handle as done here. A
 * runtime that offers neither counts as not verified.
 */
function clientVerifyError(tlsSocket: tls.TLSSocket): string | null {
  if (tlsSocket.authorized) return null;
  const handle = (tlsSocket as unknown as { _handle?: { verifyError?: () => { code?: unknown; message?: unknown } | null } })._handle;
  if (typeof handle?.verifyError === 'function') {
    const error = handle.verifyError();
    return error ? String(error.code ?? error.message) : null;
  }
  return String(tlsSocket.authorizationError ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
}

/**
 * asyncio's `sslproto.SSLProtocol`: sits between a raw stream transport
 * and the app's protocol. Ciphertext from the raw transport goes into an
 * in-memory `Duplex` that a Node `tls.TLSSocket` (OpenSSL) reads; what the
 * TLS socket writes goes to the raw transport. The app protocol gets an
 * {@link SSLTransport} once the handshake is done, and plaintext.
 *
 * Backpressure both ways: the Duplex's write callbacks are held while the
 * raw transport has paused writing (so TLS stops encrypting), and the raw
 * transport stops reading while the Duplex's buffer is full (the app paused
 * reading, so TLS stopped reading).
 */
export class SSLProtocol {
  /** @internal */ readonly _loop: BaseEventLoop;
  /** @internal */ _app: AppProtocol;
  /** @internal */ readonly _context: SSLContext;
  /** @internal */ readonly _serverSide: boolean;
  /** @internal */ readonly _serverHostname: string | null;
  /** @internal */ readonly _handshakeTimeout: number;
  /** @internal */ readonly _shutdownTimeout: number;
  /** @internal */ readonly _callConnectionMade: boolean;
  /** @internal */ _waiter: Future<void> | null;
  /** @internal */ _raw: RawStreamTransport | null = null;
  /** @internal */ _tls: tls.TLSSocket | null = null;
  /** @internal */ _pipe: Duplex | null = null;
  /** @internal */ _state: State = 'handshake';
  /** @internal */ _appTransport: SSLTransport | null = null;
  /** @internal */ _appConnected = false;
  /** @internal */ _timer: TimerHandle | null = null;
  /** @internal */ _heldWrites: Array<() => void> = [];
  /** @internal */ _rawWritePaused = false;
  /** @internal */ _rawReadPausedByPipe = false;
  /** @internal */ _appReadingPaused = false;
  /** @internal Ciphertext bytes received since the app paused reading (see PAUSED_INTAKE_HIGH_WATER). */
  /** @internal */ _pausedIntake = 0;
  /** @internal The paused-intake bound holds the raw transport's reading. */
  /** @internal */ _rawReadPausedByIntake = false;
  /** @internal This protocol paused the raw transport's reading (for the Duplex, the intake bound, or both). */
  /** @internal */ _rawReadStopped = false;
  /** @internal */ _early: Buffer[] = [];
  /** @internal */ _peerClosed = false;
  /** @internal */ _sentCloseNotify = false;
  /** @internal Plaintext given to TLS that has not reached the raw transport yet. */
  /** @internal */ _pending = 0;
  /** @internal */ _appWritePaused = false;
  /** @internal */ _highWater = DEFAULT_HIGH_WATER;
  /** @internal */ _lowWater = DEFAULT_HIGH_WATER / 4;
  /** @internal */ _connLostWrites = 0;
  /** @internal connectionLost has run. */
  /** @internal */ _lost = false;
  /** @internal Resolved once connectionLost has run (made when someone waits). */
  /** @internal */ _lostWaiter: Future<void> | null = null;

  constructor(loop: BaseEventLoop, appProtocol: BaseProtocolContract, context: SSLContext, waiter: Future<void> | null, options: SSLProtocolOptions) {
    this._loop = loop;
    this._app = appProtocol as AppProtocol;
    this._context = context;
    this._waiter = waiter;
    this._serverSide = options.serverSide;
    this._serverHostname = options.serverHostname ?? null;
    this._handshakeTimeout = checkTimeout('sslHandshakeTimeout', options.sslHandshakeTimeout, SSL_HANDSHAKE_TIMEOUT);
    this._shutdownTimeout = checkTimeout('sslShutdownTimeout', options.sslShutdownTimeout, SSL_SHUTDOWN_TIMEOUT);
    this._callConnectionMade = options.callConnectionMade ?? true;
    // '' is an explicit request for no host name check; null is a mistake when the context checks names.
    if (!this._serverSide && context.checkHostname && this._serverHostname === null) throw new RangeError('checkHostname requires serverHostname');
  }

  // --- The raw transport's protocol ---

  connectionMade(transport: unknown): void {
    this._raw = transport as RawStreamTransport;
    const pipe = new Duplex({
      allowHalfOpen: true,
      read: () => this._pipeWantsData(),
      write: (chunk: Buffer, _encoding, callback) => this._sendCiphertext([chunk], callback),
      writev: (chunks, callback) => this._sendCiphertext(chunks.map((entry) => entry.chunk as Buffer), callback),
      final: (callback) => callback(),
    });
    this._pipe = pipe;
    this._timer = this._loop.callLater(this._handshakeTimeout, () => this._handshakeTimedOut());
    try {
      if (this._serverSide) this._startServer(pipe);
      else this._startClient(pipe);
    } catch (error) {
      this._handshakeFailed(error);
    }
  }

  dataReceived(data: Uint8Array): void {
    const pipe = this._pipe;
    if (pipe === null || pipe.destroyed || this._state === 'closed') return;
    if (!pipe.push(data)) this._rawReadPausedByPipe = true;
    if (this._appReadingPaused && this._state === 'wrapped') {
      this._pausedIntake += data.length;
      if (this._pausedIntake >= PAUSED_INTAKE_HIGH_WATER) this._rawReadPausedByIntake = true;
    }
    if ((this._rawReadPausedByPipe || this._rawReadPausedByIntake) && !this._rawReadStopped) {
      this._rawReadStopped = true;
      this._raw?.pauseReading();
    }
  }

  eofReceived(): boolean {
    if (this._state === 'handshake') {
      this._handshakeFailed(new ConnectionResetError(errnoNumber('ECONNRESET') ?? 104, 'ssl', 'Connection lost during the TLS handshake: the peer closed the connection', 'ECONNRESET'));
      return false;
    }
    if (this._state === 'shutdown') {
      this._peerClosed = true;
      this._maybeFinishShutdown();
      return true;
    }
    // TLS sees the end of its input: it reports EOF (the 'end' below).
    this._pipe?.push(null);
    return true;
  }

  pauseWriting(): void {
    this._rawWritePaused = true;
  }

  resumeWriting(): void {
    this._rawWritePaused = false;
    const held = this._heldWrites;
    this._heldWrites = [];
    for (const callback of held) callback();
  }

  connectionLost(error: unknown): void {
    this._clearTimer();
    this._lost = true;
    const lostWaiter = this._lostWaiter;
    this._lostWaiter = null;
    if (lostWaiter !== null && !lostWaiter.done()) lostWaiter.setResult(undefined);
    const wasHandshake = this._state === 'handshake';
    this._state = 'closed';
    this._heldWrites = [];
    const tlsSocket = this._tls;
    const pipe = this._pipe;
    this._tls = null;
    this._pipe = null;
    tlsSocket?.destroy();
    pipe?.destroy();
    const waiter = this._waiter;
    this._waiter = null;
    if (waiter !== null && !waiter.done()) {
      waiter.setException(error ?? new ConnectionResetError(errnoNumber('ECONNRESET') ?? 104, 'ssl', 'Connection lost during the TLS handshake', 'ECONNRESET'));
    }
    if (!wasHandshake && this._appConnected) {
      this._appConnected = false;
      const app = this._app;
      app.connectionLost?.(error ?? null);
    }
  }

  // --- Handshake ---

  private _startClient(pipe: Duplex): void {
    const context = this._context;
    const hostname = this._serverHostname ?? '';
    const verify = context.verifyMode !== CERT_NONE;
    const options: tls.ConnectionOptions = {
      socket: pipe,
      secureContext: context.secureContext(),
      rejectUnauthorized: verify,
      checkServerIdentity: (host, cert) => (context.checkHostname && hostname !== '' ? tls.checkServerIdentity(host, cert) : undefined),
    };
    if (hostname !== '') {
      options.host = hostname;
      // SNI carries names only (RFC 6066); an address is still matched against the certificate.
      if (net.isIP(hostname) === 0) options.servername = hostname;
    }
    const alpn = context.alpnProtocols;
    if (alpn !== null) options.ALPNProtocols = [...alpn];
    const tlsSocket = tls.connect(options);
    this._tls = tlsSocket;
    this._listen(tlsSocket);
    tlsSocket.once('secureConnect', () => this._handshakeDone(tlsSocket));
  }

  private _startServer(pipe: Duplex): void {
    // Node's own server logic (client-certificate checks, ALPN, tlsClientError)
    // runs on a per-connection view of the context's server, whose emit is ours.
    const server = this._context._server();
    const listener = server.listeners('connection')[0] as ConnectionListener;
    // A listener without a prototype (an arrow function, as Bun's is) keeps
    // the real server as its `this`: it would report to that server, never
    // to the view, and the handshake would never end here.
    if (typeof listener !== 'function' || listener.prototype === undefined) {
      this._startServerSocket(pipe);
      return;
    }
    const view = Object.create(server) as tls.Server;
    Object.defineProperty(view, 'emit', {
      value: (event: string, ...args: unknown[]): boolean => {
        if (event === 'secureConnection') this._serverHandshakeDone(args[0] as tls.TLSSocket);
        else if (event === 'tlsClientError' && !this._loop.isClosed()) this._serverHandshakeError(args[0], args[1] as tls.TLSSocket);
        return true;
      },
    });
    listener.call(view, pipe);
  }

  /**
   * The server side without a tls.Server: a server TLSSocket over the pipe,
   * checked as Node's server checks it (a client certificate that did not
   * verify fails the handshake when one is required).
   */
  private _startServerSocket(pipe: Duplex): void {
    const context = this._context;
    const requestCert = context.verifyMode !== CERT_NONE;
    const rejectUnauthorized = context.verifyMode === CERT_REQUIRED;
    const options: tls.TLSSocketOptions = { isServer: true, secureContext: context.secureContext(), requestCert, rejectUnauthorized };
    const alpn = context.alpnProtocols;
    if (alpn !== null) options.ALPNProtocols = [...alpn];
    const tlsSocket = new tls.TLSSocket(pipe, options);
    const onError = (error: unknown) => {
      tlsSocket.off('secure', onSecure);
      if (!this._loop.isClosed()) this._serverHandshakeError(error, tlsSocket);
    };
    const onSecure = () => {
      tlsSocket.off('error', onError);
      if (requestCert) {
        const reason = clientVerifyError(tlsSocket);
        if (reason === null) {
          tlsSocket.authorized = true;
        } else {
          tlsSocket.authorizationError = reason as unknown as Error;
          if (rejectUnauthorized) {
            tlsSocket.destroy();
            if (!this._loop.isClosed()) this._handshakeFailed(Object.assign(new Error(reason), { code: reason }));
            return;
          }
        }
      }
      this._serverHandshakeDone(tlsSocket);
    };
    tlsSocket.once('secure', onSecure);
    tlsSocket.once('error', onError);
  }

  private _serverHandshakeDone(tlsSocket: tls.TLSSocket): void {
    if (this._state !== 'handshake' || this._loop.isClosed()) {
      tlsSocket.destroy();
      return;
    }
    this._tls = tlsSocket;
    this._listen(tlsSocket);
    this._handshakeDone(tlsSocket);
  }

  private _serverHandshakeError(error: unknown, tlsSocket: tls.TLSSocket): void {
    // A client certificate that did not verify: Node destroys the socket and reports a reset; say why.
    const reason = tlsSocket?.authorizationError;
    if (reason && (error as { code?: string })?.code === 'ECONNRESET') {
      const verifyError = Object.assign(new Error(String(reason)), { code: String(reason) });
      this._handshakeFailed(verifyError);
      return;
    }
    this._handshakeFailed(error);
  }

  /**
   * Node calls these from its own callbacks (a write completes on a
   * setImmediate); once the loop is closed nothing reaches the app.
   */
  private _listen(tlsSocket: tls.TLSSocket): void {
    tlsSocket.on('data', (data: Buffer) => {
      if (!this._loop.isClosed()) this._plaintextReceived(data);
    });
    tlsSocket.on('end', () => {
      if (!this._loop.isClosed()) this._tlsEnded();
    });
    tlsSocket.on('error', (error: unknown) => {
      if (!this._loop.isClosed()) this._tlsError(error);
    });
    tlsSocket.on('finish', () => {
      this._sentCloseNotify = true;
      if (!this._loop.isClosed()) this._maybeFinishShutdown();
    });
  }

  private _handshakeDone(tlsSocket: tls.TLSSocket): void {
    if (this._state !== 'handshake' || this._loop.isClosed()) return;
    this._clearTimer();
    this._state = 'wrapped';
    if (this._loop.getDebug()) logger.debug(`${String(this._raw)}: TLS handshake done (${tlsSocket.getProtocol()}, ${tlsSocket.getCipher().name})`);
    if (this._appReadingPaused) tlsSocket.pause();
    if (!this._connectApp()) return;
    const early = this._early;
    this._early = [];
    for (const chunk of early) this._plaintextReceived(chunk);
  }

  /**
   * The handshake is done (both engines): the app gets its transport
   * (connectionMade, when this protocol calls it) and the waiter is told.
   * False if connectionMade threw: reported and the connection closed, as
   * on a plain transport, and the waiter still told the connection was made.
   */
  protected _connectApp(): boolean {
    const transport = new SSLTransport(this);
    this._appTransport = transport;
    this._appConnected = true;
    let failed = false;
    if (this._callConnectionMade) {
      try {
        this._app.connectionMade?.(transport);
      } catch (error) {
        failed = true;
        this._fatalError(error, 'Fatal error: protocol.connectionMade() call failed.');
      }
    }
    const waiter = this._waiter;
    this._waiter = null;
    if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
    return !failed;
  }

  protected _handshakeTimedOut(): void {
    this._timer = null;
    if (this._state !== 'handshake') return;
    const error = new ConnectionAbortedError(
      errnoNumber('ECONNABORTED') ?? 103,
      'ssl',
      `SSL handshake is taking longer than ${this._handshakeTimeout} seconds: aborting the connection`,
      'ECONNABORTED',
    );
    this._handshakeFailed(error);
  }

  /** @internal */
  _handshakeFailed(cause: unknown): void {
    if (this._state !== 'handshake') return;
    this._clearTimer();
    const error = toSslError(cause);
    const waiter = this._waiter;
    this._waiter = null;
    if (waiter !== null && !waiter.done()) waiter.setException(error);
    this._state = 'closed';
    this._tls?.destroy();
    this._fatalError(error, 'SSL handshake failed');
  }

  // --- Ciphertext ---

  private _sendCiphertext(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    const raw = this._raw;
    if (raw === null || this._state === 'closed') {
      callback();
      return;
    }
    if (chunks.length === 1) raw.write(chunks[0]!);
    else raw.writelines(chunks);
    if (this._rawWritePaused) this._heldWrites.push(callback);
    else callback();
  }

  private _pipeWantsData(): void {
    this._rawReadPausedByPipe = false;
    this._resumeRawReading();
  }

  /** The raw transport reads again once neither the Duplex nor the paused-intake bound holds it. */
  private _resumeRawReading(): void {
    if (!this._rawReadStopped || this._rawReadPausedByPipe || this._rawReadPausedByIntake) return;
    this._rawReadStopped = false;
    if (this._state !== 'closed') this._raw?.resumeReading();
  }

  // --- Plaintext ---

  protected _plaintextReceived(data: Buffer): void {
    if (this._state === 'handshake') {
      this._early.push(data);
      return;
    }
    if (this._state !== 'wrapped' || !this._appConnected) return;
    const app = this._app;
    try {
      if (typeof app.getBuffer === 'function') {
        let offset = 0;
        while (offset < data.length) {
          const buffer = app.getBuffer(data.length - offset);
          if (!(buffer instanceof Uint8Array) || buffer.length === 0) throw new RuntimeError('getBuffer() returned an empty buffer');
          const count = Math.min(buffer.length, data.length - offset);
          buffer.set(data.subarray(offset, offset + count));
          offset += count;
          app.bufferUpdated!(count);
        }
      } else {
        app.dataReceived?.(data);
      }
    } catch (error) {
      this._fatalError(error, 'Fatal error: protocol.dataReceived() call failed.');
    }
  }

  /** The peer's close_notify, or the end of the connection. */
  protected _tlsEnded(): void {
    this._peerClosed = true;
    if (this._state === 'shutdown') {
      this._maybeFinishShutdown();
      return;
    }
    if (this._state !== 'wrapped') return;
    if (this._loop.getDebug()) logger.debug(`${String(this._raw)} received EOF`);
    let keepOpen: unknown;
    try {
      keepOpen = this._app.eofReceived?.();
    } catch (error) {
      this._fatalError(error, 'Error calling eofReceived()');
      return;
    }
    if (keepOpen === true) logger.warning('returning true from eofReceived() has no effect when using ssl');
    this._startShutdown();
  }

  private _tlsError(error: unknown): void {
    if (this._state === 'handshake') {
      this._handshakeFailed(error);
      return;
    }
    if (this._state === 'closed') return;
    this._fatalError(toSslError(error), 'Fatal error on SSL transport');
  }

  // --- Writing (for SSLTransport) ---

  /** @internal */
  _write(data: Uint8Array): void {
    if (this._state !== 'wrapped' || this._tls === null) {
      if (this._connLostWrites >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) logger.warning('SSL connection is closed');
      this._connLostWrites++;
      return;
    }
    const size = data.length;
    this._pending += size;
    // Copied: Node's TLSSocket may hold the chunk until later, and the caller may reuse its buffer once write() returns.
    this._tls.write(Buffer.from(data), () => {
      this._pending -= size;
      if (!this._loop.isClosed()) this._maybeResumeApp();
    });
    this._maybePauseApp();
  }

  /** @internal */
  _maybePauseApp(): void {
    if (this._appWritePaused || this._pending <= this._highWater) return;
    this._appWritePaused = true;
    try {
      this._app.pauseWriting?.();
    } catch (error) {
      this._loop.callExceptionHandler({ message: 'protocol.pauseWriting() failed', exception: error, transport: this._appTransport as unknown as Transport, protocol: this._app });
    }
  }

  /** @internal */
  _maybeResumeApp(): void {
    if (!this._appWritePaused || this._pending > this._lowWater || this._state === 'closed') return;
    this._appWritePaused = false;
    try {
      this._app.resumeWriting?.();
    } catch (error) {
      this._loop.callExceptionHandler({ message: 'protocol.resumeWriting() failed', exception: error, transport: this._appTransport as unknown as Transport, protocol: this._app });
    }
  }

  /** @internal */
  _setReading(reading: boolean): void {
    this._appReadingPaused = !reading;
    this._pausedIntake = 0;
    if (reading && this._rawReadPausedByIntake) {
      this._rawReadPausedByIntake = false;
      this._resumeRawReading();
    }
    const tlsSocket = this._tls;
    if (tlsSocket === null || this._state === 'handshake') return;
    if (reading) {
      tlsSocket.resume();
    } else {
      tlsSocket.pause();
    }
  }

  // --- Closing ---

  /** @internal close(): flush, send close_notify, wait for the peer's (at most sslShutdownTimeout), then close the raw transport. */
  _startShutdown(): void {
    if (this._state !== 'wrapped') return;
    this._state = 'shutdown';
    this._timer = this._loop.callLater(this._shutdownTimeout, () => this._shutdownTimedOut());
    this._tls?.end();
    this._maybeFinishShutdown();
  }

  protected _maybeFinishShutdown(): void {
    if (this._state !== 'shutdown' || !this._sentCloseNotify || !this._peerClosed) return;
    this._clearTimer();
    this._raw?.close();
  }

  protected _shutdownTimedOut(): void {
    this._timer = null;
    if (this._state !== 'shutdown') return;
    this._raw?._forceClose(new TimeoutError('SSL shutdown timed out'));
  }

  /** @internal abort(): close the raw transport at once. */
  _abort(): void {
    this._clearTimer();
    if (this._state === 'closed' && this._raw === null) return;
    this._state = 'closed';
    this._tls?.destroy();
    this._raw?.abort();
  }

  /** @internal Resolves once the connection is gone (connectionLost has run). */
  _waitLost(): Future<void> {
    if (this._lostWaiter === null) {
      this._lostWaiter = this._loop.createFuture<void>();
      if (this._lost || this._loop.isClosed()) this._lostWaiter.setResult(undefined);
    }
    return this._lostWaiter;
  }

  /** @internal The transport the app protocol was given, once the handshake is done. */
  _handshakenTransport(): SSLTransport {
    if (this._appTransport === null) throw new RuntimeError('the TLS handshake has not completed');
    return this._appTransport;
  }

  /** @internal */
  _fatalError(error: unknown, message: string): void {
    this._clearTimer();
    const raw = this._raw;
    if (raw === null) return;
    raw._fatalError(error, message);
  }

  protected _clearTimer(): void {
    this._timer?.cancel();
    this._timer = null;
  }

  // --- Extra info (for SSLTransport) ---

  /** @internal */
  _extraInfo(name: string, defaultValue: unknown): unknown {
    const tlsSocket = this._tls;
    switch (name) {
      case 'sslcontext':
        return this._context;
      case 'ssl_object':
        return tlsSocket ?? defaultValue;
      case 'compression':
        return null;
      case 'peercert': {
        if (tlsSocket === null) return defaultValue;
        const cert = tlsSocket.getPeerCertificate();
        return cert === null || Object.keys(cert).length === 0 ? null : cert;
      }
      case 'cipher': {
        if (tlsSocket === null) return defaultValue;
        const cipher = tlsSocket.getCipher();
        const standard = (cipher as { standardName?: string }).standardName ?? cipher.name;
        return [cipher.name, cipher.version, cipherBits(standard)];
      }
      default:
        return this._raw === null ? defaultValue : this._raw.getExtraInfo(name, defaultValue);
    }
  }

  toString(): string {
    return `<SSLProtocol ${this._serverSide ? 'server' : 'client'} ${this._state}>`;
  }
}
