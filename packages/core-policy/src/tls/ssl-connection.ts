import type { BaseProtocol as BaseProtocolContract } from '@evloop/interface';
import type { Future } from '../futures/future.js';
import { logger } from '../loop/logger.js';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import type { SocketLike } from '../net/socket-module.js';
import { defaultClientContext, isSSLContext, type SSLContext } from './ssl-context.js';
import { SSLProtocol, checkTimeout, SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT } from './ssl-protocol.js';
import type { SSLTransport } from './ssl-transport.js';
import { isStartTlsCompatible } from './raw-transport.js';
import { nativeTlsForConnection } from './native-tls.js';
import { NativeSSLProtocol } from './native-ssl-protocol.js';
import type { SSLProtocolOptions } from './ssl-protocol.js';

/**
 * The SSLProtocol for a new connection: the native one (OpenSSL over memory
 * BIOs) where `@evloop/tls-native` loads, else the one over Node's `tls`
 * (see `setTlsEngine`).
 */
export function createSSLProtocol(loop: BaseEventLoop, appProtocol: BaseProtocolContract, context: SSLContext, waiter: Future<void> | null, options: SSLProtocolOptions): SSLProtocol {
  const native = nativeTlsForConnection();
  return native === null ? new SSLProtocol(loop, appProtocol, context, waiter, options) : new NativeSSLProtocol(loop, appProtocol, context, waiter, options, native);
}

/** What the `ssl` option may be: `true` (a default client context: verify the certificate and host name) or an {@link SSLContext}. */
export type SSLOption = boolean | SSLContext | null | undefined;

export interface ClientTlsSettings {
  context: SSLContext;
  serverHostname: string;
  sslHandshakeTimeout: number;
  sslShutdownTimeout: number;
}

function checkTimeouts(enabled: boolean, options: { sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null }): void {
  if (!enabled) {
    if (options.sslHandshakeTimeout !== undefined && options.sslHandshakeTimeout !== null) throw new RangeError('sslHandshakeTimeout is only meaningful with ssl');
    if (options.sslShutdownTimeout !== undefined && options.sslShutdownTimeout !== null) throw new RangeError('sslShutdownTimeout is only meaningful with ssl');
  }
}

/**
 * asyncio's rules for a client's TLS options: `serverHostname` only with
 * `ssl`; it defaults to `host`, and must be given when there is no host (a
 * Unix socket, a ready socket); `''` turns off host name matching (the
 * certificate is still verified), with a warning in debug mode. Returns
 * null without TLS.
 */
export function clientTlsSettings(
  loop: BaseEventLoop,
  options: { ssl?: unknown; serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null },
  host: string | null,
): ClientTlsSettings | null {
  const ssl = options.ssl;
  const enabled = ssl !== undefined && ssl !== null && ssl !== false;
  checkTimeouts(enabled, options);
  if (!enabled) {
    if (options.serverHostname !== undefined && options.serverHostname !== null) throw new RangeError('serverHostname is only meaningful with ssl');
    return null;
  }
  let context: SSLContext;
  if (ssl === true) context = defaultClientContext();
  else if (isSSLContext(ssl)) context = ssl;
  else throw new TypeError(`ssl must be true or an SSLContext, got ${typeof ssl}`);
  if (context.purpose !== 'client') throw new RangeError('a client connection needs a client SSLContext (new SSLContext("client") or createDefaultContext())');
  let serverHostname = options.serverHostname;
  if (serverHostname === undefined || serverHostname === null) {
    if (!host) throw new RangeError('You must set serverHostname when using ssl without a host');
    serverHostname = host;
  }
  if (typeof serverHostname !== 'string') throw new TypeError('serverHostname must be a string');
  if (serverHostname === '' && loop.getDebug()) {
    logger.warning("serverHostname '' turns off host name matching: the server's certificate is verified, but not checked against any name");
  }
  return {
    context,
    serverHostname,
    sslHandshakeTimeout: checkTimeout('sslHandshakeTimeout', options.sslHandshakeTimeout, SSL_HANDSHAKE_TIMEOUT),
    sslShutdownTimeout: checkTimeout('sslShutdownTimeout', options.sslShutdownTimeout, SSL_SHUTDOWN_TIMEOUT),
  };
}

/** A server's `ssl` option: an SSLContext with a certificate chain, or nothing (asyncio refuses `ssl=True` here). */
export function serverTlsContext(options: { ssl?: unknown; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null }): SSLContext | null {
  const ssl = options.ssl;
  const enabled = ssl !== undefined && ssl !== null && ssl !== false;
  checkTimeouts(enabled, options);
  if (!enabled) return null;
  if (!isSSLContext(ssl)) throw new TypeError('ssl argument must be an SSLContext (with loadCertChain) for a server');
  checkTimeout('sslHandshakeTimeout', options.sslHandshakeTimeout, SSL_HANDSHAKE_TIMEOUT);
  checkTimeout('sslShutdownTimeout', options.sslShutdownTimeout, SSL_SHUTDOWN_TIMEOUT);
  return ssl;
}

/**
 * Wrap `sock` in a raw transport whose protocol is an SSLProtocol (client
 * side, or server side for `connectAcceptedSocket`), and wait for the
 * handshake and the app protocol's connectionMade. On failure (or
 * cancellation) the connection is aborted and the error thrown.
 */
export async function startSslConnection<P extends object>(
  loop: BaseEventLoop,
  sock: SocketLike,
  protocolFactory: () => P,
  extra: Record<string, unknown> | null,
  settings: { context: SSLContext; serverSide?: boolean; serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null },
): Promise<[SSLTransport, P]> {
  let protocol: P;
  let ssl: SSLProtocol;
  const waiter = loop.createFuture<void>();
  try {
    protocol = protocolFactory();
    ssl = createSSLProtocol(loop, protocol as BaseProtocolContract, settings.context, waiter, {
      serverSide: settings.serverSide ?? false,
      serverHostname: settings.serverHostname ?? null,
      sslHandshakeTimeout: settings.sslHandshakeTimeout ?? null,
      sslShutdownTimeout: settings.sslShutdownTimeout ?? null,
    });
  } catch (error) {
    sock.close();
    throw error;
  }
  sock.setBlocking(false);
  const raw = loop._makeSocketTransport(sock, ssl as unknown as BaseProtocolContract, null, extra, null);
  try {
    await waiter;
  } catch (error) {
    ssl._abort();
    raw.abort();
    throw error;
  }
  return [ssl._handshakenTransport(), protocol];
}

/** The protocol factory of a TLS server: each accepted connection gets an SSLProtocol around the app's protocol. */
export function sslServerProtocolFactory(
  loop: BaseEventLoop,
  protocolFactory: () => object,
  context: SSLContext,
  options: { sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null },
): () => object {
  return () =>
    createSSLProtocol(loop, protocolFactory() as BaseProtocolContract, context, null, {
      serverSide: true,
      sslHandshakeTimeout: options.sslHandshakeTimeout ?? null,
      sslShutdownTimeout: options.sslShutdownTimeout ?? null,
    });
}

export interface StartTlsOptions {
  /** Act as the TLS server (default false). */
  serverSide?: boolean;
  /** Client side: the name to send (SNI) and match; required when the context checks host names ('' turns matching off). */
  serverHostname?: string | null;
  sslHandshakeTimeout?: number | null;
  sslShutdownTimeout?: number | null;
}

/**
 * asyncio's `loop.start_tls()`: upgrade an open connection to TLS. The
 * transport's protocol becomes an SSLProtocol; once the handshake is done
 * the returned future gives the new {@link SSLTransport}, which `protocol`
 * (not told of a new connectionMade, as asyncio) should use from then on.
 * The old transport must not be used any more.
 */
export function startTls(
  loop: BaseEventLoop,
  transport: unknown,
  protocol: object,
  sslContext: SSLContext,
  options: StartTlsOptions = {},
): Future<SSLTransport> {
  loop._checkClosed();
  return loop.createTask(async () => {
    if (!isSSLContext(sslContext)) throw new TypeError(`sslContext is expected to be an SSLContext, got ${typeof sslContext}`);
    if (!isStartTlsCompatible(transport)) throw new TypeError(`transport ${String(transport)} is not supported by startTls()`);
    if (transport.isClosing()) throw new RangeError(`transport ${String(transport)} is closing`);
    const serverSide = options.serverSide ?? false;
    const waiter = loop.createFuture<void>();
    const ssl = createSSLProtocol(loop, protocol as BaseProtocolContract, sslContext, waiter, {
      serverSide,
      serverHostname: serverSide ? null : (options.serverHostname ?? null),
      sslHandshakeTimeout: options.sslHandshakeTimeout ?? null,
      sslShutdownTimeout: options.sslShutdownTimeout ?? null,
      callConnectionMade: false,
    });
    transport.pauseReading();
    transport.setProtocol(ssl as unknown as BaseProtocolContract);
    const made = loop.callSoon(() => ssl.connectionMade(transport));
    const resume = loop.callSoon(() => transport.resumeReading());
    try {
      await waiter;
    } catch (error) {
      made.cancel();
      resume.cancel();
      ssl._abort();
      transport.abort();
      throw error;
    }
    return ssl._handshakenTransport();
  });
}
