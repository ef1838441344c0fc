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

/** A CA, a leaf for localhost/127.0.0.1 it signed, and a self-signed leaf, made with the openssl CLI in a temporary folder (removed). */
export function makePems(): Pems {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-tls-native-'));
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    fs.writeFileSync(path.join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
    run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=tls-native test CA');
    run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '30', '-extfile', 'leaf.ext');
    run('req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '30', '-subj', '/CN=localhost');
    const read = (name: string) => fs.readFileSync(path.join(dir, name));
    return { ca: read('ca.pem'), cert: read('server.pem'), key: read('server.key'), selfCert: read('self.pem'), selfKey: read('self.key') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function results(): unknown[] {
  return [null, null, null, 0];
}

export interface Side {
  connection: NativeTlsConnection;
  results: unknown[];
  plaintext: Buffer[];
  flags: number;
  error: NativeTlsError | null;
}

/** Feeds `data` to a side and gathers what came out; returns the ciphertext for the other side. */
export function feed(side: Side, data: Uint8Array | null): Buffer | null {
  const flags = side.connection.feed(data, true);
  side.flags |= flags;
  const [plaintext, ciphertext, error] = side.results as [Buffer | null, Buffer | null, NativeTlsError | null];
  if (plaintext !== null) side.plaintext.push(plaintext);
  if ((flags & FLAG_FAILED) !== 0) side.error = error;
  return ciphertext;
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

export function side(connection: NativeTlsConnection, resultsArray: unknown[]): Side {
  return { connection, results: resultsArray, plaintext: [], flags: 0, error: null };
}

export function tls() {
  return nativeTls();
}
