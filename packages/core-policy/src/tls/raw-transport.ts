import type { Transport } from '@evloop/interface';

/**
 * Set (to true) on a stream transport that `startTls` may put TLS over:
 * asyncio's `_start_tls_compatible`. Every family's socket transport sets it.
 */
export const START_TLS_COMPATIBLE: unique symbol = Symbol.for('evloop.startTlsCompatible');

/**
 * Set (to true) on a protocol whose `dataReceived` never keeps the view it
 * is given, nor any view into its memory, once the call returns (it copies
 * what it needs; `transport.write(data)` is fine, transports copy what they
 * must hold). The transport then reads the next bytes into the same memory
 * (the selector socket transports, uring's proactor, native TLS's plaintext),
 * so receiving takes no fresh memory. Without it every view stays valid for
 * good. Native TLS sets it on itself; a `BufferedProtocol` needs no mark.
 *
 * ```ts
 * class Echo extends Protocol<Transport> {
 *   readonly [CONSUMES_RECEIVED_DATA] = true;
 *   ...
 * }
 * ```
 */
export const CONSUMES_RECEIVED_DATA: unique symbol = Symbol.for('evloop.consumesReceivedData');

/** @internal Whether `protocol` is marked `CONSUMES_RECEIVED_DATA` (the one place the mark is read). */
export function consumesReceivedData(protocol: object): boolean {
  return (protocol as { [CONSUMES_RECEIVED_DATA]?: unknown })[CONSUMES_RECEIVED_DATA] === true;
}

/**
 * What TLS needs of the stream transport under it, whichever family made
 * it: the `Transport` contract, plus closing at once with an error for the
 * protocol's `connectionLost` (asyncio's `_force_close`, used when a TLS
 * shutdown times out). This is what `BaseEventLoop._makeSocketTransport`
 * returns.
 */
export interface RawStreamTransport extends Transport {
  readonly [START_TLS_COMPATIBLE]?: boolean;
  /** Close now, dropping buffered data; the protocol's `connectionLost(error)` runs once, soon. */
  _forceClose(error: unknown): void;
  /** Report `error` (OSErrors only in debug mode, as asyncio), then `_forceClose(error)`: asyncio's `_fatal_error`. */
  _fatalError(error: unknown, message?: string): void;
}

export function isStartTlsCompatible(transport: unknown): transport is RawStreamTransport {
  return typeof transport === 'object' && transport !== null && (transport as { [START_TLS_COMPATIBLE]?: unknown })[START_TLS_COMPATIBLE] === true;
}

/**
 * A stream transport that lets native TLS send its records itself (one
 * native call encrypts and send(2)s them) while nothing is buffered: the
 * selector socket transport on a POSIX socket.
 */
export interface DirectSendTransport {
  /** The fd to send on now, or -1 (then write as usual). */
  _directSendFd(): number;
  /** What the socket did not take: buffered, in order, as `write` buffers it (the view is kept). */
  _directSendRest(data: Uint8Array): void;
  /** The send failed: as a failed `write` (a fatal error). */
  _directSendFailed(error: unknown): void;
}

export function isDirectSendTransport(transport: unknown): transport is DirectSendTransport {
  return typeof (transport as Partial<DirectSendTransport> | null)?._directSendFd === 'function';
}
