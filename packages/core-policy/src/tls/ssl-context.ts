import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { NativeTlsBinding, NativeTlsContextBinding } from './native-tls.js';
import { SSLError, toOSError } from '@evloop/interface';

/** Do not ask for (server) or check (client) the peer's certificate. */
export const CERT_NONE = 0;
/** Server: ask for a client certificate and verify it if one is sent. Client: as CERT_REQUIRED (Python's rule). */
export const CERT_OPTIONAL = 1;
/** Require a certificate from the peer that verifies against the trusted CAs. */
export const CERT_REQUIRED = 2;
export type VerifyMode = typeof CERT_NONE | typeof CERT_OPTIONAL | typeof CERT_REQUIRED;

export type SSLContextPurpose = 'client' | 'server';
export type TLSVersion = 'TLSv1.2' | 'TLSv1.3';

/** Where the common systems keep their CA bundle (the first that exists is read), after `SSL_CERT_FILE`. */
const SYSTEM_CA_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem', '/etc/ssl/ca-bundle.pem'];

let defaultCas: string[] | null = null;

/**
 * The default trust store: Node's bundled roots, plus the system's CAs (Node's
 * `tls.getCACertificates('system')` where it exists, else `SSL_CERT_FILE` or
 * the system bundle). Read once per process.
 */
export function defaultCaCertificates(): string[] {
  if (defaultCas !== null) return defaultCas;
  // Keyed by the base64 body alone: Node's copies and the system's differ in line breaks.
  const cas = new Map<string, string>();
  const add = (cert: string) => {
    const key = cert.replace(/\s+/g, '');
    if (!cas.has(key)) cas.set(key, cert);
  };
  for (const cert of tls.rootCertificates) add(cert);
  const getCACertificates = (tls as unknown as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  if (typeof getCACertificates === 'function') {
    for (const cert of getCACertificates('system')) add(cert);
  } else {
    const candidates = process.env.SSL_CERT_FILE ? [process.env.SSL_CERT_FILE] : SYSTEM_CA_BUNDLES;
    for (const file of candidates) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      for (const cert of splitPem(text)) add(cert);
      break;
    }
  }
  defaultCas = [...cas.values()];
  return defaultCas;
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * TLS settings for `createConnection`, `createServer`, `startTls` and the
 * stream functions (`{ ssl: context }`): Python's `ssl.SSLContext`, mapped
 * onto Node's `tls.createSecureContext` options (OpenSSL does the work).
 *
 * A `'client'` context verifies the server by default (`verifyMode`
 * CERT_REQUIRED, `checkHostname` true) but trusts no CA until
 * `loadVerifyLocations()` or `loadDefaultCerts()`; {@link createDefaultContext}
 * does the latter. A `'server'` context needs `loadCertChain()` and does not
 * ask clients for certificates unless `verifyMode` says so.
 */
export class SSLContext {
  readonly purpose: SSLContextPurpose;
  #verifyMode: VerifyMode;
  #checkHostname: boolean;
  #cert: Buffer[] = [];
  #key: Buffer[] = [];
  #passphrase: string | undefined;
  #ca: Array<string | Buffer> = [];
  #alpn: string[] | null = null;
  #minimumVersion: TLSVersion = 'TLSv1.2';
  #maximumVersion: TLSVersion = 'TLSv1.3';
  #ciphers: string | undefined;
  #secureContext: tls.SecureContext | null = null;
  #server: tls.Server | null = null;
  #native: NativeTlsContextBinding | null = null;

  constructor(purpose: SSLContextPurpose = 'client') {
    if (purpose !== 'client' && purpose !== 'server') throw new RangeError(`purpose must be 'client' or 'server', got ${String(purpose)}`);
    this.purpose = purpose;
    this.#verifyMode = purpose === 'client' ? CERT_REQUIRED : CERT_NONE;
    this.#checkHostname = purpose === 'client';
  }

  /** CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED. CERT_NONE is refused while `checkHostname` is on (Python's rule). */
  get verifyMode(): VerifyMode {
    return this.#verifyMode;
  }

  set verifyMode(mode: VerifyMode) {
    if (mode !== CERT_NONE && mode !== CERT_OPTIONAL && mode !== CERT_REQUIRED) throw new RangeError(`invalid verifyMode ${typeof mode === 'number' ? String(mode) : typeName(mode)}`);
    if (mode === CERT_NONE && this.#checkHostname) throw new RangeError('Cannot set verifyMode to CERT_NONE when checkHostname is enabled.');
    this.#verifyMode = mode;
    this.#changed();
  }

  /** Match the server's certificate against `serverHostname` (client side). Turning it on makes `verifyMode` CERT_REQUIRED if it was CERT_NONE. */
  get checkHostname(): boolean {
    return this.#checkHostname;
  }

  set checkHostname(value: boolean) {
    this.#checkHostname = Boolean(value);
    if (this.#checkHostname && this.#verifyMode === CERT_NONE) this.#verifyMode = CERT_REQUIRED;
  }

  /** The lowest protocol version accepted (default TLSv1.2). */
  get minimumVersion(): TLSVersion {
    return this.#minimumVersion;
  }

  set minimumVersion(version: TLSVersion) {
    checkVersion(version);
    this.#minimumVersion = version;
    this.#changed();
  }

  /** The highest protocol version offered (default TLSv1.3). */
  get maximumVersion(): TLSVersion {
    return this.#maximumVersion;
  }

  set maximumVersion(version: TLSVersion) {
    checkVersion(version);
    this.#maximumVersion = version;
    this.#changed();
  }

  /**
   * Our certificate (chain) and private key, PEM files (Python's
   * `load_cert_chain`). Without `keyFile` the key is read from `certFile`.
   */
  loadCertChain(certFile: string, keyFile?: string | null, password?: string | null): void {
    checkPath('certFile', certFile, false);
    checkPath('keyFile', keyFile, true);
    if (password !== undefined && password !== null && typeof password !== 'string') throw new TypeError(`password must be a string or null, got ${typeName(password)}`);
    const cert = readFile(certFile);
    const key = readFile(keyFile ?? certFile);
    this.#cert = [cert];
    this.#key = [key];
    this.#passphrase = password ?? undefined;
    this.#changed();
    // Fail now on a bad key or certificate, as Python does, rather than at the first handshake.
    this.secureContext();
  }

  /**
   * Trust these CAs: a PEM file (`cafile`), every `*.pem`/`*.crt` file in
   * a directory (`capath`) or PEM text (`cadata`). Adds to what is trusted.
   */
  loadVerifyLocations(locations: { cafile?: string | null; capath?: string | null; cadata?: string | Uint8Array | null }): void {
    if (locations === null || typeof locations !== 'object') throw new TypeError(`locations must be an object with cafile, capath or cadata, got ${typeName(locations)}`);
    const { cafile, capath, cadata } = locations;
    checkPath('cafile', cafile, true);
    checkPath('capath', capath, true);
    if (cadata !== undefined && cadata !== null && typeof cadata !== 'string' && !(cadata instanceof Uint8Array)) throw new TypeError(`cadata must be a string or bytes, got ${typeName(cadata)}`);
    if (!cafile && !capath && !cadata) throw new TypeError('cafile, capath and cadata cannot be all omitted');
    const added: string[] = [];
    if (cafile) added.push(...pemCertificates(readFile(cafile).toString('utf8'), cafile));
    if (capath) {
      let names: string[];
      try {
        names = fs.readdirSync(capath).sort();
      } catch (error) {
        throw toOSError(error);
      }
      for (const name of names) {
        if (!/\.(pem|crt)$/i.test(name)) continue;
        added.push(...splitPem(readFile(path.join(capath, name)).toString('utf8')));
      }
    }
    if (cadata) added.push(...pemCertificates(typeof cadata === 'string' ? cadata : Buffer.from(cadata).toString('utf8'), 'cadata'));
    this.#ca.push(...added);
    this.#changed();
  }

  /** Trust the default CAs (Node's bundled roots and the system's). */
  loadDefaultCerts(): void {
    this.#ca.push(...defaultCaCertificates());
    this.#changed();
  }

  /** ALPN protocols to offer (client) or accept (server), most preferred first. */
  setAlpnProtocols(protocols: readonly string[]): void {
    if (!Array.isArray(protocols) || protocols.some((name) => typeof name !== 'string' || name.length === 0 || name.length > 255)) {
      throw new TypeError('ALPN protocols must be non-empty strings of at most 255 bytes');
    }
    this.#alpn = [...protocols];
    this.#changed();
  }

  /** OpenSSL cipher list for TLS 1.2 and below (and TLS 1.3 suite names), as Node's `ciphers` option. */
  setCiphers(ciphers: string): void {
    if (typeof ciphers !== 'string') throw new TypeError(`ciphers must be a string, got ${typeName(ciphers)}`);
    this.#ciphers = ciphers;
    this.#changed();
    this.secureContext();
  }

  /** The ALPN protocols set, or null. */
  get alpnProtocols(): readonly string[] | null {
    return this.#alpn;
  }

  /** The options this context gives `tls.createSecureContext`. */
  secureContextOptions(): tls.SecureContextOptions {
    const options: tls.SecureContextOptions = { minVersion: this.#minimumVersion, maxVersion: this.#maximumVersion, ca: this.#ca };
    if (this.#cert.length > 0) {
      options.cert = this.#cert;
      options.key = this.#key;
      if (this.#passphrase !== undefined) options.passphrase = this.#passphrase;
    }
    if (this.#ciphers !== undefined) options.ciphers = this.#ciphers;
    return options;
  }

  /** Node's `tls.SecureContext` for these settings (made once, remade after a change). */
  secureContext(): tls.SecureContext {
    if (this.#secureContext === null) {
      try {
        this.#secureContext = tls.createSecureContext(this.secureContextOptions());
      } catch (error) {
        // OpenSSL refused a key, certificate or cipher list: Python's ssl.SSLError.
        const record = error as { code?: unknown; library?: unknown; reason?: unknown; message?: unknown };
        const code = typeof record.code === 'string' ? record.code : 'ERR_SSL';
        const library = typeof record.library === 'string' ? record.library : null;
        const reason = typeof record.reason === 'string' ? record.reason : null;
        throw new SSLError(`${typeof record.message === 'string' ? record.message : String(error)} (${code})`, { code, library, reason, cause: error });
      }
    }
    return this.#secureContext;
  }

  /**
   * @internal A `tls.Server` that never listens: server-side connections
   * are handed to its connection listener, so Node verifies client
   * certificates and reports failures exactly as its own servers do.
   */
  _server(): tls.Server {
    if (this.#server === null) {
      const options: tls.TlsOptions = {
        ...this.secureContextOptions(),
        requestCert: this.#verifyMode !== CERT_NONE,
        rejectUnauthorized: this.#verifyMode === CERT_REQUIRED,
        // evloop's own timer (sslHandshakeTimeout) bounds the handshake.
        handshakeTimeout: 2 ** 31 - 1,
      };
      if (this.#alpn !== null) options.ALPNProtocols = this.#alpn;
      this.#server = tls.createServer(options);
    }
    return this.#server;
  }

  /**
   * @internal The native SSL_CTX for these settings (made once, remade
   * after a change), for connections on the native TLS path. The verify
   * mode and host name are set per connection.
   */
  _nativeContext(binding: NativeTlsBinding): NativeTlsContextBinding {
    if (this.#native !== null) return this.#native;
    const context = new binding.Context(this.purpose === 'server');
    const version = (name: TLSVersion) => (name === 'TLSv1.3' ? binding.TLS1_3_VERSION : binding.TLS1_2_VERSION);
    context.setProtocolVersions(version(this.#minimumVersion), version(this.#maximumVersion));
    // Node's default cipher list unless one was set; TLS 1.3 suites (TLS_*) apart, as Node splits them.
    const names = (this.#ciphers ?? tls.DEFAULT_CIPHERS).split(':').filter((name) => name.length > 0);
    context.setCiphers(names.filter((name) => !name.startsWith('TLS_')).join(':'), names.filter((name) => name.startsWith('TLS_')).join(':'));
    if (this.#ca.length > 0) context.addCaPem(Buffer.from(this.#ca.map((cert) => (typeof cert === 'string' ? cert : cert.toString('utf8'))).join('\n')));
    if (this.#cert.length > 0) context.useCertificateChain(this.#cert[0]!, this.#key[0]!, this.#passphrase ?? null);
    if (this.#alpn !== null) context.setAlpn(Buffer.concat(this.#alpn.map((name) => {
      const bytes = Buffer.from(name);
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    })));
    this.#native = context;
    return context;
  }

  #changed(): void {
    this.#secureContext = null;
    this.#server = null;
    this.#native = null;
  }

  toString(): string {
    return `<SSLContext ${this.purpose} verifyMode=${['CERT_NONE', 'CERT_OPTIONAL', 'CERT_REQUIRED'][this.#verifyMode]} checkHostname=${this.#checkHostname}>`;
  }
}

function checkVersion(version: string): void {
  if (version !== 'TLSv1.2' && version !== 'TLSv1.3') throw new RangeError(`unsupported TLS version ${typeof version === 'string' ? JSON.stringify(version) : typeName(version)} (TLSv1.2 or TLSv1.3)`);
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** A file name argument: a non-empty string (never an fd number, which fs would read from), or null/undefined when `optional`. */
function checkPath(name: string, value: unknown, optional: boolean): void {
  if (optional && (value === undefined || value === null)) return;
  if (typeof value !== 'string' || value === '' || value.includes('\0')) throw new TypeError(`${name} must be a non-empty path string, got ${typeof value === 'string' ? JSON.stringify(value) : typeName(value)}`);
}

/** Read a file; a failure is the typed OSError (FileNotFoundError, PermissionError, ...), as Python's. */
function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw toOSError(error);
  }
}

function pemCertificates(text: string, where: string): string[] {
  const certs = splitPem(text);
  if (certs.length === 0) throw new RangeError(`no PEM certificate found in ${where}`);
  return certs;
}

/**
 * Python's `ssl.create_default_context()`: a client context that verifies
 * the server's certificate and host name against the default trust store
 * (`purpose: 'server'` makes a server context instead; give it a chain with
 * `loadCertChain`). `cafile`/`capath`/`cadata` replace the default CAs.
 */
export function createDefaultContext(options: { purpose?: SSLContextPurpose; cafile?: string; capath?: string; cadata?: string | Uint8Array } = {}): SSLContext {
  const context = new SSLContext(options.purpose ?? 'client');
  if (options.cafile || options.capath || options.cadata) context.loadVerifyLocations(options);
  else if (context.purpose === 'client') context.loadDefaultCerts();
  return context;
}

let sharedDefault: SSLContext | null = null;

/** @internal The context `ssl: true` means: one default client context per process. */
export function defaultClientContext(): SSLContext {
  sharedDefault ??= createDefaultContext();
  return sharedDefault;
}

/** True for an evloop SSLContext (from any copy of this package). */
export function isSSLContext(value: unknown): value is SSLContext {
  return value instanceof SSLContext || (value !== null && typeof value === 'object' && typeof (value as SSLContext).secureContext === 'function' && typeof (value as SSLContext)._server === 'function');
}
