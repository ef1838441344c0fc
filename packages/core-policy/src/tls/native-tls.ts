import { createRequire } from 'node:module';
import path from 'node:path';
import { RuntimeError } from '@evloop/interface';

/**
 * The part of `@evloop/tls-native` evloop uses (declared here, so that the
 * addon, an optional dependency, loads only when the first TLS connection is
 * made). See that package for what each member does.
 */
export interface TlsNativeModule {
  available(): { ok: true } | { ok: false; reason: string };
  nativeTls(): NativeTlsBinding;
  FLAG_HANDSHAKE_DONE: number;
  FLAG_PEER_CLOSED: number;
  FLAG_FAILED: number;
  FLAG_MORE_PLAINTEXT: number;
}

export interface NativeTlsContextBinding {
  setProtocolVersions(minimum: number, maximum: number): void;
  setCiphers(list: string, suites: string): void;
  addCaPem(pem: Uint8Array): number;
  useCertificateChain(cert: Uint8Array, key: Uint8Array, passphrase: string | null): void;
  setAlpn(wire: Uint8Array): void;
}

export interface NativeTlsConnectionBinding {
  feed(data: Uint8Array | null, readPlaintext: boolean, offset: number): number;
  write(data: Uint8Array, offset: number): number;
  /** Absent from an older addon. */
  writeSend?(data: Uint8Array, offset: number, fd: number): number;
  shutdown(offset: number): void;
  drain(target: Uint8Array): number;
  error(): Error;
  info(): { version: string; cipher: string; standardName: string; bits: number; alpn: string | null; servername: string | null };
  peerCertificate(): Buffer | null;
  exportKeyingMaterial(length: number, label: string, context: Uint8Array | null): Buffer;
  destroy(): void;
}

export interface NativeTlsBinding {
  Context: new (serverSide: boolean) => NativeTlsContextBinding;
  Connection: new (context: NativeTlsContextBinding, verifyMode: number, hostname: string, checkHostname: boolean, sni: boolean) => NativeTlsConnectionBinding;
  setSlab(slab: Uint8Array, state: Int32Array): void;
  TLS1_2_VERSION: number;
  TLS1_3_VERSION: number;
  SSL_VERIFY_PEER: number;
  SSL_VERIFY_FAIL_IF_NO_PEER_CERT: number;
}

/** Which TLS implementation new connections use: asked for (`EVLOOP_TLS` or {@link setTlsEngine}) or found. */
export type TlsEngineChoice = 'auto' | 'native' | 'js';

export interface TlsEngineStatus {
  /** What new TLS connections use: 'native' (OpenSSL over memory BIOs, @evloop/tls-native) or 'js' (Node's `tls` over a JS stream). */
  engine: 'native' | 'js';
  /** Why 'js', when native was not asked against. */
  reason: string | null;
}

let choice: TlsEngineChoice | null = null;
let resolved: { module: TlsNativeModule; binding: NativeTlsBinding } | { reason: string } | undefined;

function loadModule(): { module: TlsNativeModule; binding: NativeTlsBinding } | { reason: string } {
  if (resolved !== undefined) return resolved;
  const bases = [import.meta.url, path.join(process.cwd(), 'evloop-tls.js')];
  if (process.argv[1]) bases.push(path.join(path.dirname(path.resolve(process.argv[1])), 'evloop-tls.js'));
  let module: TlsNativeModule | null = null;
  for (const base of bases) {
    try {
      module = createRequire(base)('@evloop/tls-native') as TlsNativeModule;
      break;
    } catch (error) {
      const record = error as { code?: unknown; message?: unknown };
      if (record?.code !== 'MODULE_NOT_FOUND' || typeof record.message !== 'string' || !record.message.includes("'@evloop/tls-native'")) {
        resolved = { reason: `@evloop/tls-native does not load: ${String((error as Error)?.message ?? error)}` };
        return resolved;
      }
    }
  }
  if (module === null) {
    resolved = { reason: '@evloop/tls-native is not installed' };
    return resolved;
  }
  const status = module.available();
  resolved = status.ok ? { module, binding: module.nativeTls() } : { reason: status.reason };
  return resolved;
}

function currentChoice(): TlsEngineChoice {
  if (choice !== null) return choice;
  const fromEnvironment = process.env.EVLOOP_TLS;
  if (fromEnvironment === undefined || fromEnvironment === '' || fromEnvironment === 'auto') return 'auto';
  if (fromEnvironment === 'native' || fromEnvironment === 'js') return fromEnvironment;
  throw new RangeError(`EVLOOP_TLS must be 'native', 'js' or 'auto', got ${JSON.stringify(fromEnvironment)}`);
}

/**
 * Chooses the TLS implementation of connections made from now on:
 * `'native'` (OpenSSL driven over memory BIOs by `@evloop/tls-native`; an
 * error at the next TLS connection if it cannot load), `'js'` (Node's `tls`
 * over a JS stream, which works wherever Node's `tls` does) or `'auto'`
 * (native where it loads, else js). `null` goes back to the `EVLOOP_TLS`
 * environment variable (the same words; unset means auto).
 */
export function setTlsEngine(engine: TlsEngineChoice | null): void {
  if (engine !== null && engine !== 'auto' && engine !== 'native' && engine !== 'js') throw new RangeError(`engine must be 'native', 'js', 'auto' or null, got ${String(engine)}`);
  choice = engine;
}

/** Which TLS implementation new connections use, and why not native when it is not. Loads the addon if needed; never throws for a missing addon. */
export function tlsEngine(): TlsEngineStatus {
  const wanted = currentChoice();
  if (wanted === 'js') return { engine: 'js', reason: 'asked for (EVLOOP_TLS or setTlsEngine)' };
  const loaded = loadModule();
  if ('binding' in loaded) return { engine: 'native', reason: null };
  return { engine: 'js', reason: loaded.reason };
}

/** @internal The native binding for a new connection, or null for the JS path; a RuntimeError if native was asked for and cannot load. */
export function nativeTlsForConnection(): { module: TlsNativeModule; binding: NativeTlsBinding } | null {
  const wanted = currentChoice();
  if (wanted === 'js') return null;
  const loaded = loadModule();
  if ('binding' in loaded) return loaded;
  if (wanted === 'native') throw new RuntimeError(`native TLS was asked for (EVLOOP_TLS=native or setTlsEngine('native')) but cannot be used: ${loaded.reason}`);
  return null;
}
