// The addon on its own: two connections in one process, over memory only.
import { beforeAll, describe, expect, it } from 'vitest';
import { available, FLAG_FAILED, FLAG_MORE_PLAINTEXT, FLAG_PEER_CLOSED, type NativeTlsContext } from '../src/index.js';
import { bufferedIn, ciphertextOf, ciphertextOffset, feed, certificatesAvailable, makePems, pump, room, side, SLAB_LENGTH, tls, write, type Pems } from './helpers.js';

const status = available();

describe.skipIf(!status.ok || !certificatesAvailable)(`native TLS over memory BIOs${status.ok ? '' : ` (skipped: ${status.reason})`}${certificatesAvailable ? '' : ' (skipped: no openssl CLI and no EVLOOP_TLS_TEST_CERTS)'}`, () => {
  let pems: Pems;
  let serverContext: NativeTlsContext;
  let clientContext: NativeTlsContext;
  beforeAll(() => {
    pems = makePems();
    const native = tls();
    serverContext = new native.Context(true);
    serverContext.useCertificateChain(pems.cert, pems.key, null);
    serverContext.setAlpn(Buffer.from('\x08evloop/1\x08http/1.1', 'latin1'));
    clientContext = new native.Context(false);
    expect(clientContext.addCaPem(pems.ca)).toBe(1);
    clientContext.setAlpn(Buffer.from('\x08evloop/1', 'latin1'));
  });

  const connect = (hostname = 'localhost', context = clientContext) => {
    const native = tls();
    const client = side(new native.Connection(context, native.SSL_VERIFY_PEER, hostname, true, hostname !== '127.0.0.1'));
    const server = side(new native.Connection(serverContext, 0, '', false, false));
    return { client, server, hello: feed(client, null) };
  };

  it('handshakes, verifies the name, agrees on ALPN, moves data both ways and closes with close_notify', () => {
    const { client, server, hello } = connect();
    expect(hello).not.toBe(null);
    expect(pump(client, server, hello)).toBe(true);
    const info = client.connection.info();
    expect(info.version).toMatch(/^TLSv1\.[23]$/);
    expect(info.alpn).toBe('evloop/1');
    expect(server.connection.info().servername).toBe('localhost');
    expect(client.connection.peerCertificate()!.length).toBeGreaterThan(100);
    expect(server.connection.peerCertificate()).toBe(null);
    expect(client.connection.exportKeyingMaterial(16, 'EXPORTER-test', null).equals(server.connection.exportKeyingMaterial(16, 'EXPORTER-test', null))).toBe(true);

    const message = Buffer.alloc(100_000, 7);
    const [taken, ciphertext] = write(client, message);
    expect(taken).toBe(message.length);
    if (ciphertext === null) throw new Error('no ciphertext');
    expect(ciphertext.length).toBeGreaterThan(message.length);
    // In uneven pieces: plaintext comes out as records complete.
    for (let offset = 0; offset < ciphertext.length; offset += 7001) feed(server, ciphertext.subarray(offset, offset + 7001));
    expect(Buffer.concat(server.plaintext).equals(message)).toBe(true);

    client.connection.shutdown(room());
    const closeNotify = ciphertextOf(client.connection);
    expect(closeNotify).not.toBe(null);
    feed(server, closeNotify);
    expect(server.flags & FLAG_PEER_CLOSED).toBe(FLAG_PEER_CLOSED);
    client.connection.destroy();
    server.connection.destroy();
    expect(() => client.connection.feed(null, true, 0)).toThrow(/destroyed/);
  });

  it('plaintext that does not fit after the offset is kept for the next feed (FLAG_MORE_PLAINTEXT)', () => {
    const { client, server, hello } = connect();
    expect(pump(client, server, hello)).toBe(true);
    const message = Buffer.alloc(50_000, 3);
    const [, ciphertext] = write(client, message);
    // 1000 bytes of room at the end of the slab.
    feed(server, ciphertext, SLAB_LENGTH - 1000);
    expect(server.flags & FLAG_MORE_PLAINTEXT).toBe(FLAG_MORE_PLAINTEXT);
    expect(Buffer.concat(server.plaintext).length).toBe(1000);
    feed(server, null);
    expect(Buffer.concat(server.plaintext).equals(message)).toBe(true);
    client.connection.destroy();
    server.connection.destroy();
  });

  it('a slab whose ArrayBuffer was detached is never written to', () => {
    const native = tls();
    const { client, server, hello } = connect();
    expect(pump(client, server, hello)).toBe(true);
    const [, ciphertext] = write(client, Buffer.from('after detach'));
    const slab = Buffer.alloc(4096);
    const state = new Int32Array(5);
    native.setSlab(slab, state);
    structuredClone(slab.buffer, { transfer: [slab.buffer] });
    expect(slab.length).toBe(0);
    expect(() => server.connection.feed(ciphertext, true, 10)).toThrow(RangeError);
    const flags = server.connection.feed(ciphertext, true, 0);
    expect(flags & FLAG_MORE_PLAINTEXT).toBe(FLAG_MORE_PLAINTEXT);
    expect(state[0]).toBe(0);
    // With a slab again, the plaintext is there.
    feed(server, null);
    expect(Buffer.concat(server.plaintext).toString()).toBe('after detach');
    client.connection.destroy();
    server.connection.destroy();
  });

  it('writes of every size around the record and slab sizes: in the slab when they fit, else all of it drained, in order', () => {
    const { client, server, hello } = connect();
    expect(pump(client, server, hello)).toBe(true);
    const sizes = [1, 100, 16383, 16384, 16385, 32768, 65535, 131072, 131073, 400_000];
    // Room after the offset: plenty, one whole record and a little (the next spills), too little, none.
    const rooms = [300_000, 16_420, 5000, 0];
    let expected: Buffer[] = [];
    let sequence = 0;
    for (const size of sizes) {
      for (const left of rooms) {
        const message = Buffer.alloc(size, sequence++ & 0xff);
        if (size >= 4) message.writeUInt32BE(sequence, 0);
        const at = left >= 300_000 ? room() : SLAB_LENGTH - left;
        const [taken, ciphertext] = write(client, message, at);
        expect(taken).toBe(size);
        if (ciphertext === null) throw new Error('no ciphertext');
        // A whole write is in the slab at the offset, or none of it is (offset -1).
        expect(ciphertextOffset()).toBe(ciphertext.length <= SLAB_LENGTH - at ? at : -1);
        expected.push(message);
        feed(server, ciphertext);
      }
      expect(Buffer.concat(server.plaintext).equals(Buffer.concat(expected))).toBe(true);
      server.plaintext = [];
      expected = [];
    }
    client.connection.destroy();
    server.connection.destroy();
  });

  it('ciphertext left undrained goes out before the next write\'s', () => {
    const { client, server, hello } = connect();
    expect(pump(client, server, hello)).toBe(true);
    const first = Buffer.alloc(20_000, 1);
    const second = Buffer.alloc(3000, 2);
    // No room: the first write's records wait for drain(), which is not called.
    expect(client.connection.write(first, SLAB_LENGTH)).toBe(first.length);
    expect(ciphertextOffset()).toBe(-1);
    const [taken, ciphertext] = write(client, second, room());
    expect(taken).toBe(second.length);
    expect(ciphertext!.length).toBeGreaterThan(first.length + second.length);
    feed(server, ciphertext);
    expect(Buffer.concat(server.plaintext).equals(Buffer.concat([first, second]))).toBe(true);
    client.connection.destroy();
    server.connection.destroy();
  });

  it('ciphertext fed a byte at a time, and while plaintext is not read, is kept until it is (partial records across feeds)', () => {
    const { client, server, hello } = connect();
    expect(pump(client, server, hello)).toBe(true);
    const message = Buffer.from('x'.repeat(40_000) + 'end');
    const [, ciphertext] = write(client, message);
    if (ciphertext === null) throw new Error('no ciphertext');
    // The first 20 000 bytes one at a time: plaintext comes out as each record completes.
    for (let index = 0; index < 20_000; index++) feed(server, ciphertext.subarray(index, index + 1));
    const early = Buffer.concat(server.plaintext).length;
    expect(early).toBeGreaterThanOrEqual(16_384);
    // The rest while the app is not reading: nothing is decrypted, all of it is kept.
    const before = bufferedIn();
    server.connection.feed(ciphertext.subarray(20_000), false, room());
    expect(bufferedIn()).toBe(before + ciphertext.length - 20_000);
    ciphertextOf(server.connection);
    expect(Buffer.concat(server.plaintext).length).toBe(early);
    // Reading again: the rest comes out, in order.
    feed(server, null);
    expect(bufferedIn()).toBe(0);
    expect(Buffer.concat(server.plaintext).equals(message)).toBe(true);
    client.connection.destroy();
    server.connection.destroy();
  });

  it('close_notify right behind the last record in one feed: the plaintext, then FLAG_PEER_CLOSED; ours answers it', () => {
    const { client, server, hello } = connect();
    expect(pump(client, server, hello)).toBe(true);
    const [, data] = write(client, Buffer.from('last words'));
    client.connection.shutdown(room());
    const closeNotify = ciphertextOf(client.connection);
    if (data === null || closeNotify === null) throw new Error('no ciphertext');
    feed(server, Buffer.concat([data, closeNotify]));
    expect(Buffer.concat(server.plaintext).toString()).toBe('last words');
    expect(server.flags & FLAG_PEER_CLOSED).toBe(FLAG_PEER_CLOSED);
    // After the peer's close_notify we can still send ours (the end of a half-close).
    server.connection.shutdown(room());
    const answer = ciphertextOf(server.connection);
    expect(answer).not.toBe(null);
    feed(client, answer);
    expect(client.flags & FLAG_PEER_CLOSED).toBe(FLAG_PEER_CLOSED);
    expect(client.flags & FLAG_FAILED).toBe(0);
    client.connection.destroy();
    server.connection.destroy();
  });

  it('a wrong host name fails verification with Node\'s code, and the server hears the alert', () => {
    const { client, server, hello } = connect('example.com');
    expect(pump(client, server, hello)).toBe(false);
    expect(client.flags & FLAG_FAILED).toBe(FLAG_FAILED);
    expect(client.error!.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(client.error!.verify).toBe(true);
    expect(server.error?.code).toMatch(/^ERR_SSL_/);
  });

  it('an address is matched against the IP SANs', () => {
    const { client, server, hello } = connect('127.0.0.1');
    expect(pump(client, server, hello)).toBe(true);
  });

  it('an untrusted certificate fails with the X509 verify code', () => {
    const native = tls();
    const untrusting = new native.Context(false);
    const { client, server, hello } = connect('localhost', untrusting);
    expect(pump(client, server, hello)).toBe(false);
    expect(client.error!.code).toMatch(/UNABLE_TO_(GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE)/);
    expect(client.error!.message.length).toBeGreaterThan(0);
  });

  it('refuses bad settings with OpenSSL\'s reason', () => {
    const native = tls();
    const context = new native.Context(true);
    expect(() => context.useCertificateChain(pems.cert, pems.selfKey, null)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_/) }));
    expect(() => context.useCertificateChain(Buffer.from('not pem'), pems.key, null)).toThrow();
    expect(() => context.setCiphers('NO-SUCH-CIPHER', '')).toThrow(expect.objectContaining({ code: expect.stringMatching(/^ERR_SSL_/) }));
    expect(context.addCaPem(Buffer.from('no certificates here'))).toBe(0);
  });

  it('checks its arguments: TypeError or RangeError naming them', () => {
    const native = tls();
    expect(() => new native.Context('yes' as never)).toThrow(TypeError);
    const context = new native.Context(false);
    expect(() => context.setProtocolVersions(0x0301, native.TLS1_3_VERSION)).toThrow(/minimum/);
    expect(() => context.setAlpn(Buffer.from([5, 1]))).toThrow(RangeError);
    expect(() => context.setAlpn(Buffer.alloc(0))).toThrow(RangeError);
    expect(() => context.addCaPem('text' as never)).toThrow(/pem must be a Uint8Array/);
    expect(() => context.setCiphers('A\0B', '')).toThrow(TypeError);
    expect(() => new native.Connection({} as never, 0, '', false, false)).toThrow(/context must be a Context/);
    expect(() => new native.Connection(context, 99, '', false, false)).toThrow(/verifyMode/);
    expect(() => new native.Connection(context, 0, 'a\0b', false, false)).toThrow(RangeError);
    const connection = new native.Connection(context, 0, '', false, false);
    expect(() => connection.feed(new Float32Array(2) as never, true, room())).toThrow(/data must be a Uint8Array/);
    expect(() => connection.feed(null, 1 as never, room())).toThrow(/readPlaintext/);
    expect(() => connection.feed(null, true, -1)).toThrow(RangeError);
    expect(() => connection.feed(null, true, 2 ** 40)).toThrow(RangeError);
    expect(() => connection.feed(null, true, 1.5)).toThrow(RangeError);
    expect(() => connection.write(Buffer.from('x'), 'zero' as never)).toThrow(TypeError);
    expect(() => connection.drain(Buffer.alloc(0))).not.toThrow();
    expect(() => native.setSlab(Buffer.alloc(4), new Int32Array(2))).toThrow(RangeError);
    expect(() => native.setSlab([] as never, new Int32Array(5))).toThrow(TypeError);
    expect(() => connection.exportKeyingMaterial(16, 'x', null)).toThrow(/handshake/);
    connection.destroy();
  });
});
