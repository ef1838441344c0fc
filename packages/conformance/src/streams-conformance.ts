import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OSError, type AbstractServer, type BaseSelector } from '@evloop/interface';
import {
  StreamReader,
  Protocol,
  StreamReaderProtocol,
  StreamWriter,
  openConnection,
  openUnixConnection,
  startServer,
  startUnixServer,
  sleep,
  waitFor,
  type ClientConnectedCallback,
} from '@evloop/core-policy';
import * as sys from '@evloop/sys';
import { withLoop, type LoopHarness, loopFamily, refusingTcpPort, type LoopSource } from './harness.js';

export interface StreamsConformanceOptions extends LoopSource {
  /** The backend name (`'epoll'`), used in test names. */
  name: string;
}

/** Seconds any one scenario may take before it fails with a TimeoutError instead of hanging. */
const SCENARIO_TIMEOUT = 15;

/** Whether the loopback interface has an IPv6 address (containers often have none). */
function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((entries) => entries?.some((entry) => entry.internal && entry.family === 'IPv6' && entry.address === '::1'));
}

function temporarySocketPath(): string {
  return path.join(os.tmpdir(), `evloop-streams-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
}

function portOf(server: AbstractServer): number {
  const address = (server.sockets[0] as { getsockname(): unknown }).getsockname();
  return (address as [string, number])[1];
}

/** Echo every line back until EOF, then close. */
const echoLines: ClientConnectedCallback = async (reader, writer) => {
  for await (const line of reader) {
    writer.write(line);
    await writer.drain();
  }
  writer.close();
  await writer.waitClosed();
};

/**
 * Run `first`, then read to EOF and close: a server connection left
 * half-open after the client's EOF would keep `server.waitClosed()` waiting.
 */
function closeAtEof(first: ClientConnectedCallback): ClientConnectedCallback {
  return async (reader, writer) => {
    await first(reader, writer);
    await reader.read();
    writer.close();
  };
}

async function closeServer(server: AbstractServer): Promise<void> {
  server.close();
  await server.waitClosed();
}

async function failure(work: PromiseLike<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** Send `count` lines and check that each comes back, then close and wait. */
async function echoRoundTrips(reader: StreamReader, writer: StreamWriter, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const line = Buffer.from(`message ${i} ${'x'.repeat(i % 50)}\n`);
    writer.write(line);
    await writer.drain();
    expect((await reader.readline()).equals(line)).toBe(true);
  }
  writer.writeEof();
  expect((await reader.read()).length).toBe(0);
  expect(reader.atEof()).toBe(true);
  writer.close();
  await writer.waitClosed();
}

/**
 * The shared streams suite: asyncio's stream scenarios (ported from what
 * CPython's test_streams checks) over real loopback sockets on one backend.
 * Every scenario is bounded by a timeout and checked for leaked fds and
 * unexpected exception-handler calls.
 */
export function runStreamsConformance(options: StreamsConformanceOptions): void {
  const { name } = options;
  const family = loopFamily(options);
  const createLoop = family.create;
  /** Windows: @evloop/sys has no AF_UNIX sockets or pipes there. */
  const noUnix = process.platform === 'win32' ? 'no AF_UNIX sockets or pipes in @evloop/sys on Windows' : null;
  /** Windows: pipes are named pipes, which only the IOCP proactor reads and writes. */
  const noPipes = process.platform === 'win32' && family.kind !== 'proactor' ? 'on Windows pipes need the IOCP proactor' : null;
  /** One scenario in a fresh loop, as a task bounded by SCENARIO_TIMEOUT; `skipBecause` says why it cannot run here. */
  const scenario = (title: string, body: (harness: LoopHarness) => Promise<void>, skipBecause: string | null = null) =>
    it.skipIf(skipBecause !== null)(skipBecause === null ? title : `${title} (skipped: ${skipBecause})`, () =>
      withLoop(createLoop, (harness) => harness.loop.runUntilComplete(waitFor(() => body(harness), SCENARIO_TIMEOUT))),
    );

  describe(`streams conformance: ${name}`, () => {
    scenario('echo over TCP on IPv4 loopback', async () => {
      const server = await startServer(echoLines, '127.0.0.1', 0);
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      expect(writer.getExtraInfo('peername')).toEqual(['127.0.0.1', portOf(server)]);
      await echoRoundTrips(reader, writer, 100);
      await closeServer(server);
    });

    scenario(
      'echo over TCP on IPv6 loopback',
      async () => {
        const server = await startServer(echoLines, '::1', 0);
        const [reader, writer] = await openConnection('::1', portOf(server));
        await echoRoundTrips(reader, writer, 20);
        await closeServer(server);
      },
      hasIpv6Loopback() ? null : 'the loopback interface has no ::1',
    );

    scenario('echo over a Unix socket', async () => {
      const socketPath = temporarySocketPath();
      try {
        const server = await startUnixServer(echoLines, socketPath);
        const [reader, writer] = await openUnixConnection(socketPath);
        await echoRoundTrips(reader, writer, 50);
        await closeServer(server);
      } finally {
        fs.rmSync(socketPath, { force: true });
      }
    }, noUnix);

    scenario('the client callback may be a plain function or a generator function', async () => {
      const writers: StreamWriter[] = [];
      const plain = await startServer((_reader, writer) => {
        writer.write(Buffer.from('plain\n'));
        writers.push(writer);
      }, '127.0.0.1', 0);
      const generator = await startServer(function* (reader, writer) {
        const line = yield* reader.readline();
        writer.write(Buffer.concat([Buffer.from('gen:'), line]));
        writer.close();
      }, '127.0.0.1', 0);
      const [plainReader, plainWriter] = await openConnection('127.0.0.1', portOf(plain));
      expect((await plainReader.readline()).toString()).toBe('plain\n');
      const [genReader, genWriter] = await openConnection('127.0.0.1', portOf(generator));
      genWriter.write(Buffer.from('hi\n'));
      expect((await genReader.read()).toString()).toBe('gen:hi\n');
      for (const writer of [...writers, plainWriter, genWriter]) writer.close();
      await Promise.all([plainWriter.waitClosed(), genWriter.waitClosed()]);
      await Promise.all([closeServer(plain), closeServer(generator)]);
    });

    scenario('10 MB each way with drain, checked by digest', async () => {
      const size = 10 * 1024 * 1024;
      const payload = randomBytes(size);
      const digest = createHash('sha256').update(payload).digest('hex');
      const server = await startServer(
        async (reader, writer) => {
          // Receive all of it, then answer with its digest and send it back.
          const hash = createHash('sha256');
          let received = 0;
          for (;;) {
            const chunk = await reader.read(100_000);
            if (chunk.length === 0) break;
            hash.update(chunk);
            received += chunk.length;
          }
          writer.write(Buffer.from(`${received} ${hash.digest('hex')}\n`));
          for (let offset = 0; offset < size; offset += 256 * 1024) {
            writer.write(payload.subarray(offset, offset + 256 * 1024));
            await writer.drain();
          }
          writer.close();
          await writer.waitClosed();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server), { limit: 16 * 1024 });
      for (let offset = 0; offset < size; offset += 64 * 1024) {
        writer.write(payload.subarray(offset, offset + 64 * 1024));
        await writer.drain();
      }
      writer.writeEof();
      expect((await reader.readline()).toString()).toBe(`${size} ${digest}\n`);
      // Read it back in pieces smaller than the limit so the reader pauses and resumes the transport.
      const back = createHash('sha256');
      let received = 0;
      while (received < size) {
        const chunk = await reader.readexactly(Math.min(10_000, size - received));
        back.update(chunk);
        received += chunk.length;
      }
      expect(back.digest('hex')).toBe(digest);
      expect((await reader.read()).length).toBe(0);
      writer.close();
      await writer.waitClosed();
      await closeServer(server);
    });

    scenario('half-close: writeEof, the server reads to EOF and still answers', async () => {
      const server = await startServer(
        async (reader, writer) => {
          const request = await reader.read();
          expect(reader.atEof()).toBe(true);
          writer.write(Buffer.from(`got ${request.length} bytes: ${request.toString()}`));
          writer.close();
          await writer.waitClosed();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      expect(writer.canWriteEof()).toBe(true);
      writer.write(Buffer.from('part one, '));
      writer.write(Buffer.from('part two'));
      writer.writeEof();
      expect((await reader.read()).toString()).toBe('got 18 bytes: part one, part two');
      expect(reader.atEof()).toBe(true);
      writer.close();
      await writer.waitClosed();
      await closeServer(server);
    });

    scenario('the server closing a client gives the client its last bytes and then EOF', async () => {
      const server = await startServer(
        async (_reader, writer) => {
          writer.write(Buffer.from('bye\n'));
          writer.close();
          await writer.waitClosed();
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      expect((await reader.readline()).toString()).toBe('bye\n');
      expect((await reader.readline()).length).toBe(0);
      expect(reader.atEof()).toBe(true);
      const partial = (await failure(reader.readexactly(1))) as { partial: Uint8Array; expected: number };
      expect(partial.expected).toBe(1);
      writer.close();
      await writer.waitClosed();
      await closeServer(server);
    });

    scenario('drain raises a connection error once the peer has gone', async () => {
      // CPython's test_drain_raises: the server closes at once; the client
      // writes until the reset reaches it.
      const server = await startServer((_reader, writer) => writer.close(), '127.0.0.1', 0);
      const [, writer] = await openConnection('127.0.0.1', portOf(server));
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let error: unknown = null;
      for (let i = 0; i < 10_000 && error === null; i++) {
        try {
          writer.write(chunk);
          await writer.drain();
        } catch (thrown) {
          error = thrown;
        }
      }
      expect(OSError.isInstance(error)).toBe(true);
      expect(['ECONNRESET', 'EPIPE', 'ECONNABORTED']).toContain((error as OSError).code);
      writer.close();
      // The connection was lost with that error; waitClosed reports it.
      expect(OSError.isInstance(await failure(writer.waitClosed()))).toBe(true);
      await closeServer(server);
    });

    scenario('waitClosed finishes after close(), on both sides', async () => {
      const serverSide: Array<Promise<void>> = [];
      const server = await startServer(
        (reader, writer) => {
          serverSide.push(
            (async () => {
              expect((await reader.read()).length).toBe(0);
              writer.close();
              await writer.waitClosed();
              expect(writer.isClosing()).toBe(true);
            })(),
          );
        },
        '127.0.0.1',
        0,
      );
      const [, writer] = await openConnection('127.0.0.1', portOf(server));
      expect(writer.isClosing()).toBe(false);
      writer.close();
      expect(writer.isClosing()).toBe(true);
      await writer.waitClosed();
      await writer.waitClosed();
      await Promise.all(serverSide);
      await closeServer(server);
    });

    scenario('after close(), the reader sees EOF once waitClosed is done, unread data or not', async () => {
      const server = await startServer(closeAtEof(async (_reader, writer) => writer.write(Buffer.from('unread data\n'))), '127.0.0.1', 0);
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      // Wait until the server's bytes are buffered, then close without reading them.
      while (!(reader as unknown as { _buffer: { length: number } })._buffer.length) await sleep(0.001);
      writer.close();
      await writer.waitClosed();
      expect(reader.atEof()).toBe(false);
      expect((await reader.read()).toString()).toBe('unread data\n');
      expect(reader.atEof()).toBe(true);
      await closeServer(server);
    });

    scenario('write and drain after close() raise ConnectionResetError', async () => {
      const server = await startServer(closeAtEof(() => {}), '127.0.0.1', 0);
      const [, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.close();
      const error = await failure(
        (async () => {
          writer.write(Buffer.from('data'));
          await writer.drain();
        })(),
      );
      expect((error as Error).name).toBe('ConnectionResetError');
      await writer.waitClosed();
      await closeServer(server);
    });

    scenario(
      'server.closeClients() ends the connections of a closed server; waitClosed then finishes',
      async () => {
        const readers: StreamReader[] = [];
        const server = await startServer((reader) => void readers.push(reader), '127.0.0.1', 0);
        const clients = await Promise.all([openConnection('127.0.0.1', portOf(server)), openConnection('127.0.0.1', portOf(server))]);
        while (readers.length < 2) await sleep(0.001);
        server.close();
        (server as unknown as { closeClients(): void }).closeClients();
        await server.waitClosed();
        for (const [reader, writer] of clients) {
          expect((await reader.read()).length).toBe(0);
          writer.close();
          await writer.waitClosed();
        }
        for (const reader of readers) expect(reader.atEof()).toBe(true);
      },
    );

    scenario('startServer and openConnection take ready-made sockets (the sock option)', async () => {
      const listening = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
      listening.bind(['127.0.0.1', 0]);
      const server = await startServer(echoLines, null, null, { sock: listening });
      const port = (listening.getsockname() as [string, number])[1];
      expect(portOf(server)).toBe(port);
      const connected = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
      // A blocking connect on loopback completes in the kernel's backlog, before the loop accepts.
      connected.connect(['127.0.0.1', port]);
      const [reader, writer] = await openConnection(null, null, { sock: connected });
      await echoRoundTrips(reader, writer, 3);
      await closeServer(server);
    });

    scenario('a StreamReader on a read pipe reads everything to EOF with limit 1 (flow control on a pipe transport)', async ({ loop }) => {
      // CPython's test_read_all_from_pipe_reader, with the writer in this process.
      const [readFd, writeFd] = sys.pipe();
      const reader = new StreamReader({ limit: 1, loop });
      const protocol = new StreamReaderProtocol(reader, null, { loop });
      const [transport] = await loop.connectReadPipe(() => protocol, readFd);
      // Windows: sys.write is for sockets; the write end goes through a write pipe transport.
      const writeTransport = process.platform === 'win32' ? (await loop.connectWritePipe(() => new Protocol(), writeFd))[0] : null;
      const pieces = ['da', 'ta', ' and more', ' data'];
      const writeNext = () => {
        const piece = pieces.shift();
        if (piece === undefined) {
          if (writeTransport !== null) writeTransport.close();
          else sys.close(writeFd);
          return;
        }
        if (writeTransport !== null) writeTransport.write(Buffer.from(piece));
        else sys.write(writeFd, Buffer.from(piece));
        loop.callLater(0.002, writeNext);
      };
      loop.callSoon(writeNext);
      expect((await reader.read()).toString()).toBe('data and more data');
      expect(reader.atEof()).toBe(true);
      transport.close();
      await sleep(0);
    }, noPipes);

    scenario('the reader limit of startServer bounds lines', async () => {
      const outcomes: unknown[] = [];
      const server = await startServer(
        async (reader, writer) => {
          outcomes.push(await failure(reader.readline()));
          outcomes.push((await reader.readline()).toString());
          writer.close();
        },
        '127.0.0.1',
        0,
        { limit: 10 },
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write(Buffer.from('a line much longer than ten bytes\nshort\n'));
      expect((await reader.read()).length).toBe(0);
      expect(outcomes[0]).toBeInstanceOf(RangeError);
      expect(outcomes[1]).toBe('short\n');
      writer.close();
      await writer.waitClosed();
      await closeServer(server);
    });

    scenario('openConnection to a closed port fails with ConnectionRefusedError', async () => {
      const refusing = refusingTcpPort();
      try {
        const error = await failure(openConnection('127.0.0.1', refusing.port));
        expect(OSError.isInstance(error)).toBe(true);
        expect((error as OSError).code).toBe('ECONNREFUSED');
      } finally {
        refusing.close();
      }
    });

    scenario('openUnixConnection to a missing path fails with an OSError', async () => {
      const error = await failure(openUnixConnection(temporarySocketPath()));
      expect(OSError.isInstance(error)).toBe(true);
      expect(['ENOENT', 'ECONNREFUSED']).toContain((error as OSError).code);
    }, noUnix);

    scenario('a failing client callback reaches the exception handler and its connection is closed', async ({ claimErrors }) => {
      const server = await startServer(
        async (reader) => {
          await reader.readline();
          throw new Error('handler failed');
        },
        '127.0.0.1',
        0,
      );
      const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
      writer.write(Buffer.from('go\n'));
      expect((await reader.read()).length).toBe(0);
      writer.close();
      await writer.waitClosed();
      await closeServer(server);
      const errors = claimErrors();
      expect(errors.map((context) => context.message)).toEqual(['Unhandled exception in the clientConnected callback of startServer']);
      expect((errors[0]!.exception as Error).message).toBe('handler failed');
    });
  });
}
