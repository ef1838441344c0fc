import { loadNative, type NativeTls } from './load-native.js';

export type { NativeTls, NativeTlsConnection, NativeTlsContext, NativeTlsError } from './load-native.js';

/** `feed` flag: the handshake completed during this call. */
export const FLAG_HANDSHAKE_DONE = 1;
/** `feed` flag: the peer's close_notify arrived. */
export const FLAG_PEER_CLOSED = 2;
/** `feed` flag: the connection failed; `error()` says why. */
export const FLAG_FAILED = 4;
/** `feed` flag: the plaintext did not all fit after the offset: feed again (null) with more room. */
export const FLAG_MORE_PLAINTEXT = 8;

/** `writeSend`'s state [5] when it sent nothing (the records did not fit in the slab, or Windows). */
export const NOT_SENT = -2147483648;

/**
 * Whether native TLS works in this process: the addon loads (a prebuild or
 * a local build) and the runtime exports OpenSSL 3. Never throws.
 */
export function available(): { ok: true } | { ok: false; reason: string } {
  try {
    const native = loadNative();
    if (native.unsupportedReason !== undefined) return { ok: false, reason: native.unsupportedReason };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `the @evloop/tls-native addon does not load: ${(error as Error)?.message ?? String(error)}` };
  }
}

/** The addon, or an Error saying why it cannot be used. */
export function nativeTls(): NativeTls {
  const status = available();
  if (!status.ok) throw new Error(status.reason);
  return loadNative() as NativeTls;
}
