import type { Transport } from '@evloop/interface';

/**
 * Set (to true) on a stream transport that `startTls` may put TLS over:
 * asyncio's `_start_tls_compatible`. Every family's socket transport sets it.
 */
export const START_TLS_COMPATIBLE: unique symbol = Symbol.for('evloop.startTlsCompatible');

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
