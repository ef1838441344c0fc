import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An OpenSSL failure as the addon reports it (Node's `code`, OpenSSL's `library` and `reason`; `verify` for a certificate that did not verify). */
export interface NativeTlsError extends Error {
  code: string;
  reason: string;
  library?: string;
  verify: boolean;
}

/** An SSL_CTX: the settings connections share. Methods throw a {@link NativeTlsError} when OpenSSL refuses. */
export interface NativeTlsContext {
  setProtocolVersions(minimum: number, maximum: number): void;
  /** OpenSSL cipher list (TLS 1.2 and below) and TLS 1.3 suites. */
  setCiphers(list: string, suites: string): void;
  /** Trusts each certificate of the PEM text; returns how many. */
  addCaPem(pem: Uint8Array): number;
  /** Our certificate, then its chain (PEM), and the key (PEM, maybe encrypted with passphrase). */
  useCertificateChain(cert: Uint8Array, key: Uint8Array, passphrase: string | null): void;
  /** ALPN protocols in wire format: offered by a client, chosen from by a server. */
  setAlpn(wire: Uint8Array): void;
}

/**
 * One TLS connection: an SSL over two in-memory BIOs. Output goes into the
 * slab given to `setSlab`, at the offset each call is given; the state
 * array says where: [0] plaintext bytes (at the offset), [1] ciphertext
 * offset (or -1: it did not fit, `drain()` it), [2] ciphertext bytes, [3]
 * ciphertext from the peer not decrypted yet, [4] the offset after what
 * the call wrote, [5] (`writeSend`, with a state of 6 or more) the bytes
 * send(2) took, `-errno`, or `NOT_SENT`.
 */
export interface NativeTlsConnection {
  /**
   * Ciphertext from the peer (or null): runs the handshake, then, when
   * `readPlaintext`, decrypts everything complete. Returns the flags
   * (`FLAG_*`; with FLAG_FAILED, `error()` says why).
   */
  feed(data: Uint8Array | null, readPlaintext: boolean, offset: number): number;
  /** Encrypts; returns the bytes taken (all, or 0 until OpenSSL has read), or -1 (`error()`). */
  write(data: Uint8Array, offset: number): number;
  /**
   * `write`, then, when the records went into the slab, one send(2) of them
   * on `fd` (a stream socket, else a TypeError; non-blocking): state [5] is
   * the bytes it took (0 when it would block), `-errno` when it failed, or
   * `NOT_SENT` (the records did not fit in the slab; on Windows always).
   * The caller sends or buffers the rest, in order. Needs a state of at
   * least 6 elements.
   */
  writeSend(data: Uint8Array, offset: number, fd: number): number;
  /** Queues our close_notify (the ciphertext, as the state says). */
  shutdown(offset: number): void;
  /** Copies the ciphertext that did not fit in the slab into `target`; returns its length. */
  drain(target: Uint8Array): number;
  /** The error of the last call that failed. */
  error(): NativeTlsError;
  info(): { version: string; cipher: string; standardName: string; bits: number; alpn: string | null; servername: string | null };
  /** The peer's certificate (DER), or null. */
  peerCertificate(): Buffer | null;
  exportKeyingMaterial(length: number, label: string, context: Uint8Array | null): Buffer;
  /** Frees the SSL now; every later call throws. */
  destroy(): void;
}

export interface NativeTls {
  Context: new (serverSide: boolean) => NativeTlsContext;
  Connection: new (context: NativeTlsContext, verifyMode: number, hostname: string, checkHostname: boolean, sni: boolean) => NativeTlsConnection;
  /** The Uint8Array every connection's calls write into from now on, and the Int32Array (5 long; 6 for `writeSend`) they report in. */
  setSlab(slab: Uint8Array, state: Int32Array): void;
  /** OpenSSL_version_num() of the running process. */
  openSslVersion: number;
  TLS1_2_VERSION: number;
  TLS1_3_VERSION: number;
  SSL_VERIFY_PEER: number;
  SSL_VERIFY_FAIL_IF_NO_PEER_CERT: number;
  unsupportedReason?: undefined;
}

type Loaded = NativeTls | { unsupportedReason: string };

// One folder below the package root both as src/ (tests) and dist/ (built).
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let loaded: { native: Loaded } | { error: unknown } | undefined;

/** Loads the addon once; throws the load error (the same one each time). */
export function loadNative(): Loaded {
  if (loaded === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
      loaded = { native: nodeGypBuild(packageRoot) as Loaded };
    } catch (error) {
      loaded = { error };
    }
  }
  if ('error' in loaded) throw loaded.error;
  return loaded.native;
}
