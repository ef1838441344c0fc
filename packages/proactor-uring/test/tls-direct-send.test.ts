import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { OSError, type Transport } from '@evloop/interface';
import { Future, NativeSSLProtocol, ProactorEventLoop, SSLContext, sleep, tlsEngine, waitFor, type BaseEventLoop } from '@evloop/core-policy';
import { makeCertificates, withLoop, type Certificates } from '@evloop/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../src/index.js';

// Native TLS over the uring proactor's socket transport: records go out with
// one send(2) in the native call that encrypts them while no ring send is in
// flight and nothing is buffered; what the socket does not take goes through
// the ring, and later records queue behind it.

const availability = backend.available();
const engine = tlsEngine();
const why = !availability.ok ? `uring is not usable here: ${availability.reason}` : engine.engine !== 'native' ? `native TLS does not load here: ${engine.reason}` : null;

/** The parts of the socket transport under TLS these tests watch. */
interface RawInternals {
  write(data: Uint8Array): void;
  setWriteBufferLimits(high?: number, low?: number): void;
  getWriteBufferSize(): number;
  _directSendFd(): number;
  _directSendRest(data: Uint8Array): void;
  _writeToken: number;
  _buffers: Uint8Array[];
  _sock: unknown;
}

/** What happened on the socket transport under a TLS transport. */
interface Watch {
  raw: RawInternals;
  /** Direct sends offered (the fd was handed out). */
  direct: number;
  /** Direct sends the socket took only part of (the rest went to the ring). */
  rests: number;
  /** Records written through `write` while a ring send was in flight (queued behind it). */
  queuedBehindRing: number;
  /** Records written through `write` at all. */
  writes: number;
}

function watchRaw(transport: Transport): Watch {
  const ssl = (transport as unknown as { _ssl: NativeSSLProtocol })._ssl;
  expect(ssl).toBeInstanceOf(NativeSSLProtocol);
  const raw = (ssl as unknown as { _raw: RawInternals })._raw;
  const watch: Watch = { raw, direct: 0, rests: 0, queuedBehindRing: 0, writes: 0 };
  const directSendFd = raw._directSendFd.bind(raw);
  raw._directSendFd = () => {
    const fd = directSendFd();
    if (fd >= 0) watch.direct++;
    return fd;
  };
  const rest = raw._directSendRest.bind(raw);
  raw._directSendRest = (data) => {
    watch.rests++;
    rest(data);
  };
  const write = raw.write.bind(raw);
  raw.write = (data) => {
    watch.writes++;
    if (raw._writeToken !== 0) watch.queuedBehindRing++;
    write(data);
  };
  return watch;
}

class Recorder {
  transport: Transport | null = null;
  chunks: Buffer[] = [];
  received = 0;
  lostCalls = 0;
  readonly lost: Future<unknown>;
  #want = 0;
  #enough: Future<void> | null = null;
  constructor(loop: BaseEventLoop) {
    this.lost = loop.createFuture();
  }
  connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  dataReceived(data: Uint8Array): void {
    this.chunks.push(Buffer.from(data));
    this.received += data.length;
    if (this.#enough !== null && this.received >= this.#want && !this.#enough.done()) this.#enough.setResult(undefined);
  }
  waitForBytes(loop: BaseEventLoop, count: number): Future<void> {
    this.#want = count;
    this.#enough = loop.createFuture<void>();
    if (this.received >= count) this.#enough.setResult(undefined);
    return this.#enough;
  }
  connectionLost(error: unknown): void {
    this.lostCalls++;
    if (!this.lost.done()) this.lost.setResult(error);
  }
}

function pattern(size: number, seed: number): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + seed) & 0xff;
  return data;
}

function within<T>(seconds: number, future: Future<T>): Promise<T> {
  return waitFor(future, seconds) as unknown as Promise<T>;
}

async function listen(server: net.Server): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}

describe.skipIf(why !== null)(`native TLS on the uring proactor sends records itself${why === null ? '' : ` (skipped: ${why})`}`, () => {
  let certs: Certificates;
  beforeAll(() => {
    certs = makeCertificates();
  });
  afterAll(() => {
    if (certs !== undefined) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  const uringLoop = () => new ProactorEventLoop(backend.createProactor!(), { backend });
  const test = (title: string, body: (loop: BaseEventLoop, errors: unknown[]) => Promise<void>) =>
    it(title, () => withLoop(uringLoop, (harness) => harness.loop.runUntilComplete(() => body(harness.loop, harness.errors))), 30_000);
  const clientContext = () => {
    const context = new SSLContext('client');
    context.loadVerifyLocations({ cafile: certs.caFile });
    return context;
  };
  const serverOptions = () => ({ cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey) });
  const connect = async (loop: BaseEventLoop, port: number) => {
    const [transport, protocol] = await within(5, loop.createConnection(() => new Recorder(loop), '127.0.0.1', port, { ssl: clientContext(), serverHostname: 'localhost' }));
    return [transport as Transport, protocol] as const;
  };

  test('echo round trips: every record goes out in the call that encrypts it, none through the transport write', async (loop) => {
    const node = await listen(tls.createServer(serverOptions(), (socket) => socket.pipe(socket)));
    try {
      const [transport, protocol] = await connect(loop, node.port);
      const watch = watchRaw(transport);
      const sent: Buffer[] = [];
      for (let round = 0; round < 20; round++) {
        const message = pattern(4096, round);
        sent.push(message);
        transport.write(message);
        await within(5, protocol.waitForBytes(loop, 4096 * (round + 1)));
      }
      expect(Buffer.concat(protocol.chunks).equals(Buffer.concat(sent))).toBe(true);
      expect(watch.direct).toBe(20);
      expect(watch.writes).toBe(0);
      transport.close();
      expect(await within(5, protocol.lost)).toBe(null);
    } finally {
      await node.close();
    }
  });

  test('a send the socket takes only part of: the rest goes to the ring, later records queue behind it, the peer gets every byte in order, then close_notify', async (loop) => {
    const received: Buffer[] = [];
    let reader: tls.TLSSocket | null = null;
    let ended: () => void = () => {};
    const end = new Promise<void>((resolve) => (ended = resolve));
    const node = await listen(
      tls.createServer(serverOptions(), (socket) => {
        // Not read until everything is written.
        socket.pause();
        reader = socket;
        socket.on('data', (data: Buffer) => received.push(data));
        socket.on('end', () => ended());
        socket.on('error', () => {});
      }),
    );
    try {
      const [transport, protocol] = await connect(loop, node.port);
      const watch = watchRaw(transport);
      // The socket transport buffers all of it rather than pause TLS, so records keep coming while a ring send is in flight.
      watch.raw.setWriteBufferLimits(64 * 1024 * 1024);
      const written: Buffer[] = [];
      for (let index = 0; index < 128; index++) {
        const piece = pattern(65536, index);
        written.push(piece);
        transport.write(piece);
      }
      expect(watch.direct).toBeGreaterThan(0);
      expect(watch.rests).toBeGreaterThan(0);
      expect(watch.queuedBehindRing).toBeGreaterThan(0);
      expect(watch.raw._writeToken).not.toBe(0);
      expect(watch.raw._buffers.length).toBeGreaterThan(0);
      transport.write(Buffer.from('last'));
      written.push(Buffer.from('last'));
      transport.close();
      for (let wait = 0; wait < 500 && reader === null; wait++) await sleep(0.01);
      (reader as tls.TLSSocket | null)!.resume();
      await end;
      expect(Buffer.concat(received).equals(Buffer.concat(written))).toBe(true);
      expect(await within(10, protocol.lost)).toBe(null);
      expect(protocol.lostCalls).toBe(1);
    } finally {
      await node.close();
    }
  });

  test('abort() while a ring send is in flight with records queued behind it: connectionLost(null) once, nothing reported, later writes dropped', async (loop, errors) => {
    const node = await listen(
      tls.createServer(serverOptions(), (socket) => {
        socket.pause();
        socket.on('error', () => {});
      }),
    );
    try {
      const [transport, protocol] = await connect(loop, node.port);
      const watch = watchRaw(transport);
      watch.raw.setWriteBufferLimits(64 * 1024 * 1024);
      for (let index = 0; index < 128 && watch.queuedBehindRing === 0; index++) transport.write(pattern(65536, index));
      expect(watch.rests).toBeGreaterThan(0);
      expect(watch.queuedBehindRing).toBeGreaterThan(0);
      expect(watch.raw._writeToken).not.toBe(0);
      transport.abort();
      transport.write(Buffer.from('after abort'));
      expect(await within(5, protocol.lost)).toBe(null);
      await sleep(0.05);
      expect(protocol.lostCalls).toBe(1);
      expect(watch.raw._sock).toBe(null);
      expect(errors).toEqual([]);
    } finally {
      await node.close();
      // Node lets go of the reset server socket's handle and timer a moment after its server closes.
      await sleep(0.05);
    }
  });

  test("the peer resets the connection while records go out directly: connectionLost gets the socket's OSError, once", async (loop, errors) => {
    const node = await listen(
      net.createServer((plain) => {
        const secure = new tls.TLSSocket(plain, { isServer: true, ...serverOptions() });
        secure.on('error', () => {});
        plain.on('error', () => {});
        // At the first data: an RST (SO_LINGER 0), no close_notify.
        secure.once('data', () => plain.resetAndDestroy());
      }),
    );
    try {
      const [transport, protocol] = await connect(loop, node.port);
      const watch = watchRaw(transport);
      transport.write(Buffer.from('hello'));
      for (let round = 0; round < 200 && !protocol.lost.done(); round++) {
        transport.write(pattern(4096, round));
        await sleep(0.01);
      }
      const error = await within(5, protocol.lost);
      expect(watch.direct).toBeGreaterThan(0);
      expect(OSError.isInstance(error), String(error)).toBe(true);
      expect(typeof (error as OSError).errno).toBe('number');
      await sleep(0.05);
      expect(protocol.lostCalls).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await node.close();
    }
  });
});
