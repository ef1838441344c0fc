import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OSError, type BaseTransport, type DatagramTransport, type ExceptionContext, type Transport } from '@evloop/interface';
import {
  Future,
  PIPE,
  SSLContext,
  createSubprocessExec,
  openConnection,
  setSysModule,
  sleep,
  waitFor,
  type BaseEventLoop,
  type Server,
  type SysModule,
} from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { withLoop, loopFamily, serverPort, type LoopHarness, type LoopSource } from './harness.js';
import { makeCertificates, opensslAvailable, type Certificates } from './tls-conformance.js';

export interface ChaosConformanceOptions extends LoopSource {
  /** The backend name (`'epoll'`), used in test names. */
  name: string;
  /** The backend's package name (`'@evloop/selector-epoll'`), loaded by the child processes of the fd-exhaustion tests. */
  backendPackage: string;
}

function within<T>(seconds: number, future: PromiseLike<T> | Future<T>): Promise<T> {
  return waitFor(future as Future<T>, seconds) as unknown as Promise<T>;
}

function bytes(size: number, seed = 0): Buffer {
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + seed) & 0xff;
  return data;
}

/** Poll (on the loop) until `condition` holds, at most `seconds`. */
async function until(condition: () => boolean, seconds = 5, what = 'condition'): Promise<void> {
  const limit = Math.ceil(seconds / 0.005);
  for (let i = 0; i < limit; i++) {
    if (condition()) return;
    await sleep(0.005);
  }
  throw new Error(`${what} did not happen within ${seconds} s`);
}

/** Where a callback may throw, for stream protocols. */
const STREAM_POINTS = ['connectionMade', 'dataReceived', 'eofReceived', 'connectionLost', 'pauseWriting', 'resumeWriting', 'getBuffer', 'bufferUpdated'] as const;
type StreamPoint = (typeof STREAM_POINTS)[number];
/** The points after which the transport is closed by the loop (asyncio's `_fatal_error`). */
const FATAL_POINTS = new Set<StreamPoint>(['connectionMade', 'dataReceived', 'eofReceived', 'getBuffer', 'bufferUpdated']);

/**
 * A stream protocol that throws at one point, once, and records everything
 * else. For `getBuffer`/`bufferUpdated` it is a BufferedProtocol.
 */
class Thrower {
  transport: Transport | null = null;
  events: string[] = [];
  received: Buffer[] = [];
  lost: Future<unknown>;
  readonly failure: Error;
  #thrown = false;
  readonly #storage = Buffer.alloc(4096);

  constructor(
    loop: BaseEventLoop,
    readonly point: StreamPoint,
  ) {
    this.lost = loop.createFuture();
    this.failure = new Error(`chaos: ${point} throws`);
    if (point === 'getBuffer' || point === 'bufferUpdated') {
      Object.assign(this, {
        getBuffer: (sizeHint: number) => {
          this.#maybeThrow('getBuffer');
          void sizeHint;
          return this.#storage;
        },
        bufferUpdated: (nbytes: number) => {
          this.#maybeThrow('bufferUpdated');
          this.received.push(Buffer.from(this.#storage.subarray(0, nbytes)));
        },
      });
    } else {
      Object.assign(this, {
        dataReceived: (data: Uint8Array) => {
          this.#maybeThrow('dataReceived');
          this.received.push(Buffer.from(data));
        },
      });
    }
  }

  #maybeThrow(point: StreamPoint): void {
    this.events.push(point);
    if (point === this.point && !this.#thrown) {
      this.#thrown = true;
      throw this.failure;
    }
  }

  connectionMade(transport: BaseTransport): void {
    this.transport = transport as Transport;
    this.#maybeThrow('connectionMade');
  }

  eofReceived(): boolean {
    this.#maybeThrow('eofReceived');
    return false;
  }

  pauseWriting(): void {
    this.#maybeThrow('pauseWriting');
  }

  resumeWriting(): void {
    this.#maybeThrow('resumeWriting');
  }

  connectionLost(error: unknown): void {
    if (!this.lost.done()) this.lost.setResult(error);
    this.#maybeThrow('connectionLost');
  }
}

/** The other end: records bytes, EOF and loss. */
class Peer {
  transport: Transport | null = null;
  chunks: Buffer[] = [];
  received = 0;
  made: Future<void>;
  eof: Future<void>;
  lost: Future<unknown>;

  constructor(loop: BaseEventLoop) {
    this.made = loop.createFuture();
    this.eof = loop.createFuture();
    this.lost = loop.createFuture();
  }

  connectionMade(transport: BaseTransport): void {
    this.transport = transport as Transport;
    this.made.setResult(undefined);
  }

  dataReceived(data: Uint8Array): void {
    this.chunks.push(Buffer.from(data));
    this.received += data.length;
  }

  eofReceived(): boolean {
    if (!this.eof.done()) this.eof.setResult(undefined);
    return false;
  }

  connectionLost(error: unknown): void {
    if (!this.lost.done()) this.lost.setResult(error);
  }

  data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Echo {
  transport: Transport | null = null;
  connectionMade(transport: BaseTransport): void {
    this.transport = transport as Transport;
  }
  dataReceived(data: Uint8Array): void {
    this.transport!.write(Buffer.from(data));
  }
  connectionLost(): void {}
}

/** The loop still serves: one round trip through a fresh server. */
async function stillServing(loop: BaseEventLoop): Promise<void> {
  const server = await loop.createServer(() => new Echo(), '127.0.0.1', 0);
  try {
    const [transport, peer] = await loop.createConnection(() => new Peer(loop), '127.0.0.1', serverPort(server));
    transport.write(Buffer.from('still here'));
    await until(() => peer.received >= 10, 5, 'the echo');
    expect(peer.data().toString()).toBe('still here');
    transport.close();
    await within(5, peer.lost);
  } finally {
    server.close();
    await within(5, server.waitClosed());
  }
}

/** Wait until the handler has seen `failure`, then take every report and return them. */
async function reported(harness: LoopHarness, failure: unknown): Promise<ExceptionContext[]> {
  await until(() => harness.errors.some((context) => context.exception === failure), 5, `the report of ${String(failure)}`);
  // Let anything that follows from it arrive too.
  await sleep(0.01);
  return harness.claimErrors();
}

const localRequire = createRequire(import.meta.url);

/**
 * Run a CommonJS snippet in a Node child whose RLIMIT_NOFILE is `limit`,
 * with `core` (the built core-policy), `sys` and the backend in scope; it
 * prints one JSON line. Needs a POSIX shell for `ulimit`.
 */
function runWithFdLimit(backendPackage: string, backendName: string, limit: number, source: string): { result: unknown; stderr: string; status: number | null } {
  const prelude =
    `const core = require(${JSON.stringify(localRequire.resolve('@evloop/core-policy'))});\n` +
    `const sys = require(${JSON.stringify(localRequire.resolve('@evloop/sys'))});\n` +
    `require(${JSON.stringify(backendPackage)});\n` +
    `core.setSysModule(sys);\n`;
  const child = spawnSync('/bin/sh', ['-c', `ulimit -n ${limit} && exec "$0" -e "$1"`, process.execPath, prelude + source], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, EVLOOP_BACKEND: backendName },
  });
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  let result: unknown = null;
  try {
    result = JSON.parse(line);
  } catch {
    result = { unparsed: child.stdout };
  }
  return { result, stderr: child.stderr, status: child.status };
}

/** The child script's helper: fill every free fd with pipe ends, return a function that frees them. */
const EXHAUST_FDS = `
function exhaustFds() {
  const held = [];
  for (;;) {
    try { const [r, w] = sys.pipe(); held.push(r, w); } catch (error) {
      if (error.code !== 'EMFILE' && error.code !== 'ENFILE') throw error;
      break;
    }
  }
  for (;;) {
    try { held.push(sys.dup(held[0])); } catch (error) {
      if (error.code !== 'EMFILE' && error.code !== 'ENFILE') throw error;
      break;
    }
  }
  return () => { for (const fd of held.splice(0)) sys.close(fd); };
}
const failures = [];
process.on('uncaughtException', (error) => failures.push('uncaughtException: ' + String(error)));
process.on('unhandledRejection', (error) => failures.push('unhandledRejection: ' + String(error)));
`;

/**
 * The chaos suite: what a server meets in production, on one backend.
 * Protocol callbacks that throw at every point go to the exception handler
 * and the loop goes on; peers that vanish mid-handshake, mid-write and
 * mid-TLS-shutdown; fds that run out at accept and at connect; a child that
 * dies while the loop writes to it; an executor worker that crashes.
 * Nothing may reach `uncaughtException` or `unhandledRejection`, and nothing
 * a peer sent before closing may be lost. Loopback only, every test bounded.
 */
export function runChaosConformance(options: ChaosConformanceOptions): void {
  const { name, backendPackage } = options;
  const family = loopFamily(options);
  const createLoop = family.create;
  setSysModule(sys as unknown as SysModule);
  const test = (title: string, body: (harness: LoopHarness) => Promise<void>, timeout?: number) =>
    it(title, () => withLoop(createLoop, (harness) => harness.loop.runUntilComplete(() => body(harness))), timeout);

  describe(`chaos: ${name}`, () => {
    // Nothing may escape to the process: each test checks it at its end.
    const escaped: string[] = [];
    const onUncaught = (error: unknown) => escaped.push(`uncaughtException: ${String(error)}`);
    const onUnhandled = (error: unknown) => escaped.push(`unhandledRejection: ${String(error)}`);
    beforeAll(() => {
      process.on('uncaughtException', onUncaught);
      process.on('unhandledRejection', onUnhandled);
    });
    afterAll(() => {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUnhandled);
    });
    afterEach(async () => {
      // An unhandled rejection is reported after a macrotask turn.
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(escaped.splice(0)).toEqual([]);
    });

    describe('stream protocol callbacks that throw', () => {
      for (const side of ['server', 'client'] as const) {
        for (const point of STREAM_POINTS) {
          test(`${side} side, ${point}: reported to the exception handler, the loop goes on`, async (harness) => {
            const { loop } = harness;
            let victim: Thrower | null = null;
            let peer: Peer | null = null;
            const makeVictim = () => (victim = new Thrower(loop, point));
            const makePeer = () => (peer = new Peer(loop));
            const server: Server = await loop.createServer(side === 'server' ? makeVictim : makePeer, '127.0.0.1', 0);
            try {
              await loop.createConnection<object>(side === 'server' ? makePeer : makeVictim, '127.0.0.1', serverPort(server));
              await until(() => victim !== null && peer !== null && peer.made.done(), 5, 'both ends');
              const thrower = victim as unknown as Thrower;
              const other = peer as unknown as Peer;
              if (point === 'dataReceived' || point === 'getBuffer' || point === 'bufferUpdated') other.transport!.write(Buffer.from('trigger'));
              if (point === 'eofReceived') other.transport!.writeEof();
              if (point === 'connectionLost') other.transport!.close();
              if (point === 'pauseWriting' || point === 'resumeWriting') {
                // The peer stops reading: the victim's buffer passes its high-water mark.
                other.transport!.pauseReading();
                thrower.transport!.setWriteBufferLimits(16 * 1024);
                const chunk = bytes(64 * 1024);
                let written = 0;
                // The protocol's pauseWriting runs inside write(): its error must not escape to the caller.
                while (!thrower.events.includes('pauseWriting')) {
                  thrower.transport!.write(chunk);
                  written += chunk.length;
                  if (thrower.transport!.getWriteBufferSize() === 0) await sleep(0.001);
                }
                other.transport!.resumeReading();
                await until(() => other.received >= written, 10, 'the peer draining the victim');
                expect(other.data().equals(Buffer.concat(Array.from({ length: written / chunk.length }, () => chunk)))).toBe(true);
                await until(() => thrower.events.includes('resumeWriting'), 5, 'resumeWriting');
              }
              const reports = await reported(harness, thrower.failure);
              expect(reports).toHaveLength(1);
              const [report] = reports;
              if (point === 'connectionLost') {
                expect(report!.message).toMatch(/connectionLost|Exception in callback/);
              } else {
                expect(report!.message).toBe(FATAL_POINTS.has(point) ? `Fatal error: protocol.${point}() call failed.` : `protocol.${point}() failed`);
              }
              if (FATAL_POINTS.has(point)) {
                // The transport is closed for it, and its peer sees the end.
                expect(await within(5, thrower.lost)).toBe(thrower.failure);
                await within(5, other.lost);
              } else if (point !== 'connectionLost') {
                // Flow control callbacks are not fatal: the connection still works both ways.
                thrower.transport!.write(Buffer.from('after'));
                const before = other.received;
                await until(() => other.received >= before + 5, 5, 'data after the failed callback');
                other.transport!.close();
                await within(5, thrower.lost);
              } else {
                await within(5, other.lost);
              }
              expect(thrower.events.filter((event) => event === 'connectionMade')).toHaveLength(1);
              await stillServing(loop);
            } finally {
              server.close();
              await within(5, server.waitClosed());
            }
          });
        }
      }

      test('a protocol factory that throws for an accepted connection: reported, the connection dropped, the server serves on', async (harness) => {
        const { loop } = harness;
        const failure = new Error('chaos: protocol factory throws');
        let calls = 0;
        const server = await loop.createServer(
          () => {
            calls++;
            if (calls === 1) throw failure;
            return new Echo();
          },
          '127.0.0.1',
          0,
        );
        try {
          const [, first] = await loop.createConnection(() => new Peer(loop), '127.0.0.1', serverPort(server));
          await within(5, first.lost);
          const reports = await reported(harness, failure);
          expect(reports).toHaveLength(1);
          const [transport, second] = await loop.createConnection(() => new Peer(loop), '127.0.0.1', serverPort(server));
          transport.write(Buffer.from('echo'));
          await until(() => second.received >= 4);
          transport.close();
          await within(5, second.lost);
        } finally {
          server.close();
          await within(5, server.waitClosed());
        }
      });
    });

    describe('datagram protocol callbacks that throw', () => {
      for (const point of ['connectionMade', 'datagramReceived', 'errorReceived', 'connectionLost'] as const) {
        test(`${point}: reported to the exception handler, the loop goes on`, async (harness) => {
          const { loop } = harness;
          const failure = new Error(`chaos: ${point} throws`);
          const events: string[] = [];
          const lost = loop.createFuture<unknown>();
          let thrown = false;
          const maybeThrow = (event: string) => {
            events.push(event);
            if (event === point && !thrown) {
              thrown = true;
              throw failure;
            }
          };
          let remoteAddr: [string, number];
          const probe = new sys.Socket(sys.AF_INET, sys.SOCK_DGRAM);
          probe.bind(['127.0.0.1', 0]);
          const probeAddress = probe.getsockname() as [string, number];
          if (point === 'errorReceived') {
            // A closed port: sends come back as ECONNREFUSED.
            probe.close();
            remoteAddr = probeAddress;
          } else {
            remoteAddr = probeAddress;
          }
          let transport: DatagramTransport | null = null;
          try {
            [transport] = await loop.createDatagramEndpoint(
              () => ({
                connectionMade: () => maybeThrow('connectionMade'),
                datagramReceived: () => maybeThrow('datagramReceived'),
                errorReceived: () => maybeThrow('errorReceived'),
                connectionLost: (error: unknown) => {
                  if (!lost.done()) lost.setResult(error);
                  maybeThrow('connectionLost');
                },
              }),
              { localAddr: ['127.0.0.1', 0], remoteAddr },
            );
            const local = transport.getExtraInfo('sockname') as [string, number];
            if (point === 'datagramReceived') probe.sendto(Buffer.from('trigger'), local);
            if (point === 'errorReceived') {
              for (let i = 0; i < 50 && !thrown; i++) {
                transport.sendto(Buffer.from('anyone?'));
                await sleep(0.005);
              }
            }
            if (point === 'connectionLost') transport.close();
            const reports = await reported(harness, failure);
            expect(reports).toHaveLength(1);
            if (point === 'connectionMade' || point === 'datagramReceived' || point === 'errorReceived') {
              expect(reports[0]!.message).toBe(`Fatal error: protocol.${point}() call failed.`);
              expect(await within(5, lost)).toBe(failure);
            }
            await stillServing(loop);
          } finally {
            transport?.close();
            if (point !== 'errorReceived') probe.close();
            await within(5, lost);
          }
        });
      }
    });

    describe('subprocess and pipe protocol callbacks that throw', () => {
      for (const point of ['pipeDataReceived', 'processExited', 'connectionLost'] as const) {
        test(`subprocess ${point}: reported, the child is reaped, the loop goes on`, async (harness) => {
          const { loop } = harness;
          const failure = new Error(`chaos: ${point} throws`);
          let thrown = false;
          const done = loop.createFuture<void>();
          const maybeThrow = (event: string) => {
            if (event === point && !thrown) {
              thrown = true;
              throw failure;
            }
          };
          const [transport] = await loop.subprocessExec(
            () => ({
              pipeDataReceived: () => maybeThrow('pipeDataReceived'),
              processExited: () => maybeThrow('processExited'),
              connectionLost: () => {
                if (!done.done()) done.setResult(undefined);
                maybeThrow('connectionLost');
              },
            }),
            process.execPath,
            ['-e', 'process.stdout.write("out"); process.exitCode = 3'],
            { stdin: null },
          );
          try {
            await reported(harness, failure);
            await until(() => transport.getReturncode() !== null, 10, 'the exit status');
            expect(transport.getReturncode()).toBe(3);
            await stillServing(loop);
          } finally {
            transport.close();
          }
        });
      }

      test('a read pipe whose dataReceived throws: reported, the pipe closed', async (harness) => {
        const { loop } = harness;
        const failure = new Error('chaos: pipe dataReceived throws');
        const [r, w] = sys.pipe();
        const lost = loop.createFuture<unknown>();
        const [transport] = await loop.connectReadPipe(
          () => ({
            dataReceived() {
              throw failure;
            },
            connectionLost(error: unknown) {
              if (!lost.done()) lost.setResult(error);
            },
          }),
          r,
        );
        try {
          sys.write(w, Buffer.from('trigger'));
          expect(await within(5, lost)).toBe(failure);
          const reports = await reported(harness, failure);
          expect(reports[0]!.message).toBe('Fatal error: protocol.dataReceived() call failed.');
        } finally {
          transport.close();
          sys.close(w);
        }
      });
    });

    describe('peers that vanish', () => {
      test('a peer that writes and closes at once: every byte arrives before EOF, then connectionLost(null)', async ({ loop }) => {
        const payload = bytes(3 * 1024 * 1024, 1);
        const server = await loop.createServer(
          () => ({
            connectionMade(transport: BaseTransport) {
              (transport as Transport).write(payload);
              transport.close();
            },
          }),
          '127.0.0.1',
          0,
        );
        try {
          const [, peer] = await loop.createConnection(() => new Peer(loop), '127.0.0.1', serverPort(server));
          await within(10, peer.eof);
          expect(peer.received).toBe(payload.length);
          expect(peer.data().equals(payload)).toBe(true);
          expect(await within(5, peer.lost)).toBe(null);
        } finally {
          server.close();
          await within(5, server.waitClosed());
        }
      });

      test('a raw socket peer that sends and closes at once: a stream reader reads every byte, then EOF', async ({ loop }) => {
        const payload = bytes(1024 * 1024, 2);
        const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
        listener.bind(['127.0.0.1', 0]);
        listener.listen(1);
        listener.setBlocking(false);
        try {
          const connecting = loop.createTask(openConnection('127.0.0.1', (listener.getsockname() as [string, number])[1]));
          const [accepted] = await within(5, loop.sockAccept(listener));
          try {
            const [reader, writer] = await within(5, connecting);
            await within(10, loop.sockSendall(accepted, payload));
            accepted.close();
            const got = await within(10, reader.read(-1));
            expect(got.length).toBe(payload.length);
            expect(Buffer.from(got).equals(payload)).toBe(true);
            expect(reader.atEof()).toBe(true);
            writer.close();
            await within(5, writer.waitClosed());
          } finally {
            if (accepted.fileno() !== -1) accepted.close();
          }
        } finally {
          listener.close();
        }
      });

      test('a peer that closes without reading while we write: connectionLost with an OSError, nothing reported', async ({ loop }) => {
        let serverSide: Peer | null = null;
        const server = await loop.createServer(() => (serverSide = new Peer(loop)), '127.0.0.1', 0);
        try {
          const [transport, client] = await loop.createConnection(() => new Peer(loop), '127.0.0.1', serverPort(server));
          await until(() => serverSide !== null && serverSide.made.done());
          serverSide!.transport!.pauseReading();
          const chunk = bytes(256 * 1024);
          transport.write(chunk);
          await sleep(0.01);
          // Unread data in its receive queue: closing makes the kernel send RST.
          serverSide!.transport!.abort();
          for (let i = 0; i < 500 && !client.lost.done(); i++) {
            transport.write(chunk);
            await sleep(0.002);
          }
          const error = await within(5, client.lost);
          expect(OSError.isInstance(error), String(error)).toBe(true);
          expect(['ECONNRESET', 'EPIPE']).toContain((error as OSError).code);
        } finally {
          server.close();
          await within(5, server.waitClosed());
        }
      });
    });

    describe.skipIf(!opensslAvailable)('TLS peers that vanish (skipped without the openssl CLI to make certificates)', () => {
      let certs: Certificates;
      beforeAll(() => {
        certs = makeCertificates();
      });
      afterAll(() => {
        if (certs !== undefined) fs.rmSync(certs.dir, { recursive: true, force: true });
      });
      const clientContext = () => {
        const context = new SSLContext('client');
        context.loadVerifyLocations({ cafile: certs.caFile });
        return context;
      };
      const serverContext = () => {
        const context = new SSLContext('server');
        context.loadCertChain(certs.serverCert, certs.serverKey);
        return context;
      };
      /** A Node TLS server; `onSecure` gets the TLS socket and the TCP socket under it. */
      const nodeTlsServer = async (onSecure: (socket: tls.TLSSocket, raw: net.Socket) => void, options: tls.TlsOptions = {}) => {
        const sockets = new Set<net.Socket>();
        let lastRaw: net.Socket | null = null;
        const server = tls.createServer({ cert: fs.readFileSync(certs.serverCert), key: fs.readFileSync(certs.serverKey), ...options }, (socket) => onSecure(socket, lastRaw!));
        server.on('connection', (socket: net.Socket) => {
          lastRaw = socket;
          sockets.add(socket);
          socket.on('error', () => {});
          socket.once('close', () => sockets.delete(socket));
        });
        server.on('tlsClientError', () => {});
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        return {
          port: (server.address() as net.AddressInfo).port,
          close: async () => {
            const closing = new Promise<void>((resolve) => server.close(() => resolve()));
            for (const socket of sockets) socket.destroy();
            await closing;
            await new Promise((resolve) => setImmediate(resolve));
          },
        };
      };

      test('a client that resets mid-handshake: the server drops it, nothing reported, it serves on', async ({ loop, errors }) => {
        const made: Peer[] = [];
        const server = await loop.createServer(() => {
          const peer = new Peer(loop);
          made.push(peer);
          return peer;
        }, '127.0.0.1', 0, { ssl: serverContext() });
        try {
          const socket = net.connect(serverPort(server), '127.0.0.1');
          socket.on('error', () => {});
          await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
          socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
          await sleep(0.02);
          socket.resetAndDestroy();
          await until(() => server._activeCount === 0 && made.length === 1, 5, 'the server dropping the half-made connection');
          expect(made[0]!.made.done()).toBe(false);
          expect(errors).toEqual([]);
          const [transport, client] = await within(5, loop.createConnection(() => new Peer(loop), '127.0.0.1', serverPort(server), { ssl: clientContext(), serverHostname: 'localhost' }));
          transport.close();
          await within(5, client.lost);
        } finally {
          server.close();
          server.closeClients();
          await within(5, server.waitClosed());
        }
      });

      test('a TLS peer that sends and closes at once: every byte arrives, then connectionLost', async ({ loop }) => {
        const payload = bytes(2 * 1024 * 1024, 3);
        const node = await nodeTlsServer((socket) => {
          socket.end(payload);
        });
        try {
          const [, peer] = await within(5, loop.createConnection(() => new Peer(loop), '127.0.0.1', node.port, { ssl: clientContext(), serverHostname: 'localhost' }));
          await within(10, peer.lost);
          expect(peer.received).toBe(payload.length);
          expect(peer.data().equals(payload)).toBe(true);
        } finally {
          await node.close();
        }
      });

      test('a TLS peer that resets while we write: connectionLost with an error, nothing reported', async ({ loop, errors }) => {
        const node = await nodeTlsServer((socket, raw) => {
          socket.pause();
          setTimeout(() => raw.resetAndDestroy(), 20);
        });
        try {
          const [transport, peer] = await within(5, loop.createConnection(() => new Peer(loop), '127.0.0.1', node.port, { ssl: clientContext(), serverHostname: 'localhost' }));
          const chunk = bytes(128 * 1024);
          for (let i = 0; i < 1000 && !peer.lost.done(); i++) {
            transport.write(chunk);
            await sleep(0.002);
          }
          const error = await within(5, peer.lost);
          expect(error).not.toBe(null);
          expect(errors).toEqual([]);
        } finally {
          await node.close();
        }
      });

      for (const how of ['closes its TCP connection', 'resets']) {
        test(`a TLS peer that ${how} when our close_notify arrives: connectionLost at once, not after sslShutdownTimeout`, async ({ loop, errors }) => {
          const node = await nodeTlsServer(
            (socket, raw) => {
              socket.resume();
              socket.on('end', () => (how === 'resets' ? raw.resetAndDestroy() : raw.destroy()));
            },
            { allowHalfOpen: true },
          );
          try {
            const [transport, peer] = await within(5, loop.createConnection(() => new Peer(loop), '127.0.0.1', node.port, { ssl: clientContext(), serverHostname: 'localhost', sslShutdownTimeout: 30 }));
            transport.write(Buffer.from('bye'));
            transport.close();
            // Bounded well below the 30 s shutdown timeout: ending through the timeout would fail here.
            const error = await within(10, peer.lost);
            expect(error === null || OSError.isInstance(error), String(error)).toBe(true);
            expect(errors).toEqual([]);
          } finally {
            await node.close();
          }
        });
      }

      test('a TLS protocol whose dataReceived throws: reported, closed, the loop goes on', async (harness) => {
        const { loop } = harness;
        let victim: Thrower | null = null;
        const server = await loop.createServer(() => (victim = new Thrower(loop, 'dataReceived')), '127.0.0.1', 0, { ssl: serverContext() });
        try {
          const [transport, peer] = await within(5, loop.createConnection(() => new Peer(loop), '127.0.0.1', serverPort(server), { ssl: clientContext(), serverHostname: 'localhost' }));
          transport.write(Buffer.from('trigger'));
          await until(() => victim !== null);
          const reports = await reported(harness, victim!.failure);
          expect(reports[0]!.message).toBe('Fatal error: protocol.dataReceived() call failed.');
          await within(5, peer.lost);
        } finally {
          server.close();
          server.closeClients();
          await within(5, server.waitClosed());
        }
      });
    });

    describe.skipIf(process.platform === 'win32')('fds that run out (a child process with a low RLIMIT_NOFILE; skipped on Windows, which has no ulimit)', () => {
      it('EMFILE at accept: reported once, the server pauses, then accepts when fds are free; nothing escapes', () => {
        const { result, stderr } = runWithFdLimit(
          backendPackage,
          name,
          256,
          `${EXHAUST_FDS}
const loop = core.newEventLoop();
const reports = [];
loop.setExceptionHandler((_loop, context) => reports.push({ message: context.message, code: context.exception && context.exception.code }));
loop.runUntilComplete(async () => {
  const accepted = [];
  const server = await loop.createServer(() => ({ connectionMade() { accepted.push(1); } }), '127.0.0.1', 0);
  const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
  client.setBlocking(false);
  const free = exhaustFds();
  await loop.sockConnect(client, server.sockets[0].getsockname());
  for (let i = 0; i < 200 && reports.length === 0; i++) await core.sleep(0.01);
  const acceptedWhileExhausted = accepted.length;
  free();
  for (let i = 0; i < 500 && accepted.length === 0; i++) await core.sleep(0.01);
  client.close();
  server.close();
  await server.waitClosed();
  return { reports, acceptedWhileExhausted, acceptedAfter: accepted.length };
}).then((outcome) => { loop.close(); console.log(JSON.stringify({ ...outcome, failures })); },
        (error) => { loop.close(); console.log(JSON.stringify({ error: String(error), failures })); });
`,
        );
        expect(result, stderr).toMatchObject({ acceptedWhileExhausted: 0, acceptedAfter: 1, failures: [] });
        const { reports } = result as { reports: { message: string; code: string }[] };
        expect(reports.length).toBeGreaterThanOrEqual(1);
        expect(reports[0]).toEqual({ message: 'socket.accept() out of system resource', code: 'EMFILE' });
      });

      it('EMFILE at connect: createConnection and openConnection reject with a typed OSError, nothing leaks, and connect works once fds are free', () => {
        const { result, stderr } = runWithFdLimit(
          backendPackage,
          name,
          256,
          `${EXHAUST_FDS}
const loop = core.newEventLoop();
const reports = [];
loop.setExceptionHandler((_loop, context) => reports.push(context.message));
loop.runUntilComplete(async () => {
  const server = await loop.createServer(() => ({ connectionMade(t) { t.close(); } }), '127.0.0.1', 0);
  const port = server.sockets[0].getsockname()[1];
  const free = exhaustFds();
  const outcome = {};
  try { await loop.createConnection(() => ({}), '127.0.0.1', port); outcome.create = 'connected'; }
  catch (error) { outcome.create = { name: error.constructor.name, code: error.code, errno: error.errno, syscall: error.syscall, isOSError: core.OSError.isInstance(error) }; }
  try { await core.openConnection('127.0.0.1', port); outcome.open = 'connected'; }
  catch (error) { outcome.open = { code: error.code, isOSError: core.OSError.isInstance(error) }; }
  free();
  const lost = loop.createFuture();
  const [transport] = await loop.createConnection(() => ({ connectionLost() { lost.setResult(null); } }), '127.0.0.1', port);
  await lost;
  outcome.after = transport.isClosing();
  server.close();
  await server.waitClosed();
  return outcome;
}).then((outcome) => { loop.close(); console.log(JSON.stringify({ ...outcome, reports, failures })); },
        (error) => { loop.close(); console.log(JSON.stringify({ error: String(error), failures })); });
`,
        );
        expect(result, stderr).toMatchObject({
          create: { code: 'EMFILE', isOSError: true, syscall: expect.any(String), errno: expect.any(Number) },
          open: { code: 'EMFILE', isOSError: true },
          after: true,
          reports: [],
          failures: [],
        });
      });
    });

    describe('child processes and worker threads that die', () => {
      test('a child killed while the loop writes to its stdin: drain rejects with a typed error, wait() gives the signal, nothing reported', async ({ loop }) => {
        // The child never reads: the pipe fills and drain() waits, until the child is killed.
        const child = await createSubprocessExec(process.execPath, '-e', 'setTimeout(() => {}, 60000)', { stdin: PIPE });
        child.stdin!.write(bytes(1024 * 1024));
        const draining = loop.createTask(child.stdin!.drain());
        await sleep(0.05);
        expect(draining.done()).toBe(false);
        child.kill();
        const failure = await within(10, draining).then(
          () => null,
          (error: unknown) => error,
        );
        expect(OSError.isInstance(failure), String(failure)).toBe(true);
        expect(['EPIPE', 'ECONNRESET']).toContain((failure as OSError).code);
        expect(await within(10, child.wait())).toBe(-9);
        child.stdin!.close();
      });

      test('a child that exits while a write transport has megabytes buffered: connectionLost once, processExited, nothing reported', async ({ loop }) => {
        const events: string[] = [];
        const done = loop.createFuture<void>();
        const [transport] = await loop.subprocessExec(
          () => ({
            pipeConnectionLost: (fd: number, error: unknown) => events.push(`pipeConnectionLost:${fd}:${error === null ? 'null' : ((error as OSError).code ?? String(error))}`),
            processExited: () => events.push('processExited'),
            connectionLost: () => {
              events.push('connectionLost');
              done.setResult(undefined);
            },
          }),
          process.execPath,
          ['-e', 'process.stdin.once("data", () => process.exit(5))'],
          { stdout: null, stderr: null },
        );
        try {
          const stdin = transport.getPipeTransport(0)!;
          for (let i = 0; i < 32; i++) stdin.write(bytes(256 * 1024, i));
          await within(10, done);
          expect(transport.getReturncode()).toBe(5);
          expect(events).toContain('processExited');
          expect(events.filter((event) => event.startsWith('pipeConnectionLost:0:'))).toHaveLength(1);
          expect(events.at(-1)).toBe('connectionLost');
        } finally {
          transport.close();
        }
      });

      for (const [how, source, expected] of [
        ['calls process.exit()', 'function crash() { process.exit(7); }', /worker thread running crash\(\) exited with code 7 before the job finished/],
        ['throws from a timer (an uncaught error in the worker)', 'function crash() { return new Promise(() => setTimeout(() => { throw new Error("timer bug"); }, 1)); }', /^Error: timer bug$/],
      ] as const) {
        test(`an executor worker that ${how}: its future fails with a clear error, the pool recovers`, async ({ loop }) => {
          // eslint-disable-next-line no-new-func
          const crash = new Function(`return (${source});`)() as () => unknown;
          const error = await within(10, loop.runInExecutor(null, crash)).then(
            () => null,
            (thrown: unknown) => thrown,
          );
          expect(error).toBeInstanceOf(Error);
          expect(String(error)).toMatch(expected);
          // The pool replaces the thread: the next jobs run.
          const results = await within(10, Promise.all([1, 2, 3].map((n) => loop.runInExecutor(null, (x: number) => x * 2, n))));
          expect(results).toEqual([2, 4, 6]);
          await within(10, loop.shutdownDefaultExecutor());
        });
      }
    });
  });
}
