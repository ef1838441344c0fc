import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FLAG_FAILED, FLAG_HANDSHAKE_DONE, nativeTls, type NativeTlsConnection, type NativeTlsError } from '../src/index.js';

export const opensslAvailable = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

export interface Pems {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  selfCert: Buffer;
  selfKey: Buffer;
}

/**
 * Where there is no openssl CLI (Windows): a folder of certificates made
 * beforehand by packages/conformance/scripts/make-tls-certificates.mjs (the
 * same file names), as scripts/windows/run.sh passes it.
 */
const presetDir = process.env.EVLOOP_TLS_TEST_CERTS || null;
export const certificatesAvailable = opensslAvailable || presetDir !== null;

/** A CA, a leaf for localhost/127.0.0.1 it signed, and a self-signed leaf, made with the openssl CLI in a temporary folder (removed), or read from EVLOOP_TLS_TEST_CERTS. */
export function makePems(): Pems {
  if (!opensslAvailable && presetDir !== null) return readPems(presetDir);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-tls-native-'));
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    fs.writeFileSync(path.join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=tls-native test CA');
    run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '30', '-extfile', 'leaf.ext');
    run('req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '30', '-subj', '/CN=localhost');
    return readPems(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function readPems(dir: string): Pems {
  const read = (name: string) => fs.readFileSync(path.join(dir, name));
  return { ca: read('ca.pem'), cert: read('server.pem'), key: read('server.key'), selfCert: read('self.pem'), selfKey: read('self.key') };
}

const slab = Buffer.alloc(1 << 20);
const state = new Int32Array(6);
let offset = 0;

/** Room in the shared test slab (it is reset when it runs low: the tests copy what they keep). */
export function room(): number {
  const native = nativeTls();
  if (offset > slab.length - 300_000) offset = 0;
  native.setSlab(slab, state);
  return offset;
}

/** The ciphertext the last call reported (copied). */
export function ciphertextOf(connection: NativeTlsConnection): Buffer | null {
  const length = state[2]!;
  if (length === 0) return null;
  const at = state[1]!;
  const out = at >= 0 ? Buffer.from(slab.subarray(at, at + length)) : Buffer.alloc(length);
  if (at < 0) connection.drain(out);
  offset = state[4]!;
  return out;
}

export interface Side {
  connection: NativeTlsConnection;
  plaintext: Buffer[];
  flags: number;
  error: NativeTlsError | null;
}

/** The length of the test slab. */
export const SLAB_LENGTH = slab.length;

/** Feeds `data` to a side and gathers what came out; returns the ciphertext for the other side. `at`: the slab offset (default: where the last call ended). */
export function feed(side: Side, data: Uint8Array | null, at?: number): Buffer | null {
  let start = room();
  if (at !== undefined) start = at;
  const flags = side.connection.feed(data, true, start);
  side.flags |= flags;
  if (state[0]! > 0) side.plaintext.push(Buffer.from(slab.subarray(start, start + state[0]!)));
  if ((flags & FLAG_FAILED) !== 0) side.error = side.connection.error();
  return ciphertextOf(side.connection);
}

/** Encrypts on a side; returns [bytes taken, ciphertext]. `at`: the slab offset (default: where the last call ended). */
export function write(side: Side, data: Uint8Array, at?: number): [number, Buffer | null] {
  let start = room();
  if (at !== undefined) start = at;
  const taken = side.connection.write(data, start);
  return [taken, ciphertextOf(side.connection)];
}

/** `writeSend` on a side: [bytes taken, the ciphertext (copied), what send(2) did (the state's [5])]. */
export function writeSend(side: Side, data: Uint8Array, fd: number): [number, Buffer | null, number] {
  const taken = side.connection.writeSend(data, room(), fd);
  const sent = state[5]!;
  return [taken, ciphertextOf(side.connection), sent];
}

/** Ciphertext from the peer the last call left undecrypted (the state's [3]). */
export function bufferedIn(): number {
  return state[3]!;
}

/** Where the last call put its ciphertext: the slab offset, or -1 (it waits for drain()). */
export function ciphertextOffset(): number {
  return state[1]!;
}

/** Runs both sides against each other in memory until nothing moves; true when both finished the handshake. */
export function pump(client: Side, server: Side, first: Buffer | null): boolean {
  let toServer = first;
  let toClient: Buffer | null = null;
  for (let round = 0; round < 20 && (toServer !== null || toClient !== null); round++) {
    toClient = toServer === null ? null : feed(server, toServer);
    toServer = toClient === null ? null : feed(client, toClient);
  }
  return (client.flags & FLAG_HANDSHAKE_DONE) !== 0 && (server.flags & FLAG_HANDSHAKE_DONE) !== 0;
}

export function side(connection: NativeTlsConnection): Side {
  return { connection, plaintext: [], flags: 0, error: null };
}

export function tls() {
  return nativeTls();
}
