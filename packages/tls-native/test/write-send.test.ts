// writeSend: encrypt, then send(2) the records on a real loopback socket in the same call.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { available, type NativeTlsContext } from '../src/index.js';
import { certificatesAvailable, feed, makePems, pump, side, tls, writeSend, type Side } from './helpers.js';

const status = available();
const posix = process.platform !== 'win32';

/** A connected loopback pair of Node sockets; `fd` is the client's (libuv's TCP handle). */
async function socketPair(): Promise<{ client: net.Socket; peer: net.Socket; fd: number; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const peer = await accepted;
  const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
  return {
    client,
    peer,
    fd,
    close: () => {
      client.destroy();
      peer.destroy();
      server.close();
    },
  };
}

/** Everything the peer socket receives, and a wait for `length` bytes of it. */
function collect(peer: net.Socket) {
  const chunks: Buffer[] = [];
  let length = 0;
  let waiter: { want: number; resolve: () => void } | null = null;
  peer.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
    if (waiter !== null && length >= waiter.want) waiter.resolve();
  });
  return {
    bytes: () => Buffer.concat(chunks),
    until: (want: number) => (length >= want ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { want, resolve }))),
  };
}

function message(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  for (let index = 0; index < size; index++) out[index] = (index * 31 + seed * 7) & 0xff;
  return out;
}

describe.skipIf(!status.ok || !certificatesAvailable || !posix)(
  `writeSend over a loopback socket${status.ok ? '' : ` (skipped: ${status.reason})`}${certificatesAvailable ? '' : ' (skipped: no certificates)'}${posix ? '' : ' (skipped: on Windows writeSend sends nothing, and Node handles have no fd)'}`,
  () => {
    let serverContext: NativeTlsContext;
    let clientContext: NativeTlsContext;
    const cleanups: (() => void)[] = [];
    beforeAll(() => {
      const pems = makePems();
      const native = tls();
      serverContext = new native.Context(true);
      serverContext.useCertificateChain(pems.cert, pems.key, null);
      clientContext = new native.Context(false);
      clientContext.addCaPem(pems.ca);
    });
    afterEach(() => {
      for (const cleanup of cleanups.splice(0)) cleanup();
    });

    const established = (): { client: Side; server: Side } => {
      const native = tls();
      const client = side(new native.Connection(clientContext, native.SSL_VERIFY_PEER, 'localhost', true, true));
      const server = side(new native.Connection(serverContext, 0, '', false, false));
      expect(pump(client, server, feed(client, null))).toBe(true);
      return { client, server };
    };

    it('sends the records it made: the peer decrypts every message, in order', async () => {
      const { client, server } = established();
      const pair = await socketPair();
      cleanups.push(pair.close);
      const received = collect(pair.peer);
      const messages = [1, 100, 4096, 16384, 16385, 40000].map((size, seed) => message(size, seed));
      let total = 0;
      for (const data of messages) {
        const [taken, ciphertext, sent] = writeSend(client, data, pair.fd);
        expect(taken).toBe(data.length);
        // An idle loopback socket takes a few records whole.
        expect(sent).toBe(ciphertext!.length);
        total += sent;
      }
      await received.until(total);
      feed(server, received.bytes());
      expect(Buffer.concat(server.plaintext).equals(Buffer.concat(messages))).toBe(true);
    });

    it('a socket that takes part: it says how much; the rest, sent after, completes the stream in order', async () => {
      const { client, server } = established();
      const pair = await socketPair();
      cleanups.push(pair.close);
      pair.peer.pause();
      const written: Buffer[] = [];
      let total = 0;
      let rest: Buffer | null = null;
      for (let index = 0; index < 4096 && rest === null; index++) {
        const data = message(65536, index);
        written.push(data);
        const [taken, ciphertext, sent] = writeSend(client, data, pair.fd);
        expect(taken).toBe(data.length);
        expect(sent).toBeGreaterThanOrEqual(0);
        expect(sent).toBeLessThanOrEqual(ciphertext!.length);
        total += ciphertext!.length;
        if (sent < ciphertext!.length) rest = ciphertext!.subarray(sent);
      }
      expect(rest).not.toBe(null);
      // What the socket did not take goes out after, as the transport's buffer would send it.
      pair.client.write(rest!);
      const received = collect(pair.peer);
      pair.peer.resume();
      await received.until(total);
      // In pieces, so that each feed's plaintext fits the test slab.
      const bytes = received.bytes();
      expect(bytes.length).toBe(total);
      for (let offset = 0; offset < bytes.length; offset += 16384) feed(server, bytes.subarray(offset, offset + 16384));
      expect(Buffer.concat(server.plaintext).equals(Buffer.concat(written))).toBe(true);
    });

    it('a send that fails is -errno (EPIPE after our side shut down writing); the records are still reported', async () => {
      const { client } = established();
      const pair = await socketPair();
      cleanups.push(pair.close);
      await new Promise<void>((resolve) => pair.client.end(resolve));
      const [taken, ciphertext, sent] = writeSend(client, Buffer.from('after the end'), pair.fd);
      expect(taken).toBe(13);
      expect(ciphertext).not.toBe(null);
      expect(sent).toBe(-os.constants.errno.EPIPE);
    });

    it('refuses an fd that is not a stream socket, a bad fd, and a state too short for the count', async () => {
      const { client } = established();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evloop-write-send-'));
      const file = fs.openSync(path.join(dir, 'f'), 'w');
      try {
        expect(() => client.connection.writeSend(Buffer.from('x'), 0, file)).toThrow(TypeError);
        expect(() => client.connection.writeSend(Buffer.from('x'), 0, -1)).toThrow(RangeError);
        expect(() => client.connection.writeSend(Buffer.from('x'), 0, 'x' as never)).toThrow(TypeError);
        const native = tls();
        native.setSlab(Buffer.alloc(65536), new Int32Array(5));
        const pair = await socketPair();
        cleanups.push(pair.close);
        expect(() => client.connection.writeSend(Buffer.from('x'), 0, pair.fd)).toThrow(/at least 6/);
      } finally {
        fs.closeSync(file);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
