// What a peer sends is never trusted: random bytes, a real handshake cut
// into random pieces, and real handshake messages with random bytes
// flipped, fed to both sides. Every call returns; a failure is a flag with
// an error that has Node's code; nothing crashes.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { available, FLAG_FAILED, FLAG_HANDSHAKE_DONE, type NativeTlsContext } from '../src/index.js';
import { feed, certificatesAvailable, makePems, side, tls } from './helpers.js';

const status = available();
const RUNS = 150;

describe.skipIf(!status.ok || !certificatesAvailable)(`native TLS handshake fuzz${status.ok ? '' : ` (skipped: ${status.reason})`}`, () => {
  let serverContext: NativeTlsContext;
  let clientContext: NativeTlsContext;
  beforeAll(() => {
    const pems = makePems();
    const native = tls();
    serverContext = new native.Context(true);
    serverContext.useCertificateChain(pems.cert, pems.key, null);
    clientContext = new native.Context(false);
    clientContext.addCaPem(pems.ca);
  });

  const newServer = () => {
    const native = tls();
    return side(new native.Connection(serverContext, 0, '', false, false));
  };
  const newClient = () => {
    const native = tls();
    return side(new native.Connection(clientContext, native.SSL_VERIFY_PEER, 'localhost', true, true));
  };
  const checkFailure = (flags: number, error: { code?: unknown } | null) => {
    // Node's code: OpenSSL's reason upper-cased, spaces to '_' (OpenSSL 3.5 reasons have a '/': 'SSL/TLS ALERT ...').
    if ((flags & FLAG_FAILED) !== 0) expect(String(error?.code)).toMatch(/^[A-Z0-9_/]+$/);
  };

  it('random bytes to a server and to a client that sent its hello', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 1, maxLength: 4 }), fc.boolean(), (chunks, toClient) => {
        const target = toClient ? newClient() : newServer();
        if (toClient) feed(target, null);
        for (const chunk of chunks) {
          feed(target, chunk);
          checkFailure(target.flags, target.error);
        }
        target.connection.destroy();
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes behind a plausible record header (a handshake record of random length)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 24 }), fc.integer({ min: 0, max: 0x4800 }), fc.uint8Array({ maxLength: 2000 }), (type, length, body) => {
        const server = newServer();
        feed(server, Buffer.concat([Buffer.from([type, 3, 3, length >> 8, length & 0xff]), body]));
        checkFailure(server.flags, server.error);
        server.connection.destroy();
      }),
      { numRuns: RUNS },
    );
  });

  it('a real handshake with one byte flipped, delivered in random pieces, to either side', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), fc.integer({ min: 1, max: 400 }), (position, mask, flipServerBound, piece) => {
        const client = newClient();
        const server = newServer();
        let toServer = feed(client, null);
        let flipped = false;
        for (let round = 0; round < 10 && toServer !== null; round++) {
          if (flipServerBound && !flipped) {
            toServer = Buffer.from(toServer);
            toServer[position % toServer.length] ^= mask;
            flipped = true;
          }
          let toClient: Buffer | null = null;
          for (let offset = 0; offset < toServer.length; offset += piece) {
            const out = feed(server, toServer.subarray(offset, offset + piece));
            if (out !== null) toClient = toClient === null ? out : Buffer.concat([toClient, out]);
          }
          if (toClient === null) break;
          if (!flipServerBound && !flipped) {
            toClient = Buffer.from(toClient);
            toClient[position % toClient.length] ^= mask;
            flipped = true;
          }
          toServer = feed(client, toClient);
        }
        checkFailure(client.flags, client.error);
        checkFailure(server.flags, server.error);
        client.connection.destroy();
        server.connection.destroy();
      }),
      { numRuns: RUNS },
    );
  });

  it('an unbroken handshake in random pieces always completes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), (piece) => {
        const client = newClient();
        const server = newServer();
        let toServer = feed(client, null);
        for (let round = 0; round < 10 && toServer !== null; round++) {
          let toClient: Buffer | null = null;
          for (let offset = 0; offset < toServer.length; offset += piece) {
            const out = feed(server, toServer.subarray(offset, offset + piece));
            if (out !== null) toClient = toClient === null ? out : Buffer.concat([toClient, out]);
          }
          toServer = toClient === null ? null : feed(client, toClient);
        }
        expect(client.flags & FLAG_HANDSHAKE_DONE).toBe(FLAG_HANDSHAKE_DONE);
        expect(server.flags & FLAG_HANDSHAKE_DONE).toBe(FLAG_HANDSHAKE_DONE);
        expect(client.error).toBe(null);
        client.connection.destroy();
        server.connection.destroy();
      }),
      { numRuns: 40 },
    );
  });
});
