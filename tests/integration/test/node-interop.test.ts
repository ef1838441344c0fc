import net from 'node:net';
import { getEventListeners } from 'node:events';
import { setTimeout as nodeSleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  DuplexProtocol,
  DuplexTransport,
  RuntimeError,
  SelectorEventLoop,
  StreamReader,
  StreamReaderProtocol,
  StreamWriter,
  cancelOnAbort,
  connectDuplex,
  currentTask,
  openConnection,
  sleep,
  transportToDuplex,
  type BaseEventLoop,
} from '@evloop/core-policy';
import { withLoop, serverPort, type LoopHarness } from '@evloop/conformance';
import { testSelector } from './helpers.js';

const test = (title: string, body: (harness: LoopHarness) => Promise<void>) =>
  it(title, () => withLoop(() => new SelectorEventLoop(testSelector()), body));

async function settle(loop: BaseEventLoop, main: () => unknown): Promise<unknown> {
  try {
    return await loop.runUntilComplete(main as () => Promise<unknown>);
  } catch (error) {
    return error;
  }
}

describe('AbortSignal', () => {
  test('cancelOnAbort: an abort cancels a future or a task, with the reason as message; the listener goes when done', async ({ loop }) => {
    const controller = new AbortController();
    const future = cancelOnAbort(loop.createFuture(), controller.signal);
    const task = cancelOnAbort(loop.createTask(sleep(10)), controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(2);
    loop.callSoon(() => controller.abort(new Error('user left')));
    const error = await settle(loop, () => task);
    expect(CancelledError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('user left');
    expect(future.cancelled()).toBe(true);
    await loop.runUntilComplete(sleep(0));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // Already aborted: at once. Done already: untouched.
    expect(cancelOnAbort(loop.createFuture(), AbortSignal.abort()).cancelled()).toBe(true);
    const finished = loop.createFuture<number>();
    finished.setResult(1);
    expect(cancelOnAbort(finished, AbortSignal.abort()).result()).toBe(1);
    expect(() => cancelOnAbort({} as never, controller.signal)).toThrow(/future must be an evloop Future/);
    expect(() => cancelOnAbort(loop.createFuture(), 'signal' as never)).toThrow(/signal must be an AbortSignal/);
  });

  test('task.signal aborts on cancel(): a Node timer awaited by an async task stops, and the task ends cancelled', async ({ loop }) => {
    let seenReason: unknown;
    const task = loop.createTask(async () => {
      const signal = currentTask()!.signal;
      signal.addEventListener('abort', () => (seenReason = signal.reason));
      await nodeSleep(60_000, undefined, { signal });
    });
    loop.callLater(0.01, () => task.cancel('shutting down'));
    const error = await settle(loop, () => task);
    expect(CancelledError.isInstance(error)).toBe(true);
    expect(task.cancelled()).toBe(true);
    expect(CancelledError.isInstance(seenReason)).toBe(true);
    expect((seenReason as Error).message).toBe('shutting down');
    // The harness checks that the 60 s Node timer is gone.
  });

  test('a generator task\'s signal, asked for after cancel(), is aborted already', async ({ loop }) => {
    const task = loop.createTask(function* () {
      yield* sleep(10);
    });
    task.cancel();
    expect(task.signal.aborted).toBe(true);
    await settle(loop, () => task);
    const done = loop.createTask(sleep(0, 1));
    await loop.runUntilComplete(done);
    expect(done.signal.aborted).toBe(false);
  });
});

describe('Symbol.asyncDispose', () => {
  test('a task: disposing cancels it if running and waits for it; a finished one is left as is', async ({ loop }) => {
    const outcome = await loop.runUntilComplete(async () => {
      const worker = loop.createTask(sleep(10));
      await worker[Symbol.asyncDispose]();
      const finished = loop.createTask(sleep(0, 'kept'));
      await finished;
      await finished[Symbol.asyncDispose]();
      return [worker.cancelled(), finished.result()];
    });
    expect(outcome).toEqual([true, 'kept']);
  });

  it('a loop: disposing cancels its pending tasks and closes it; a running loop refuses', async () => {
    const loop = new SelectorEventLoop(testSelector());
    let cleaned = false;
    loop.createTask(async () => {
      try {
        await sleep(100);
      } finally {
        cleaned = true;
      }
    });
    await loop.runUntilComplete(sleep(0));
    let refused: unknown;
    loop.callSoon(() => {
      loop[Symbol.asyncDispose]().catch((error: unknown) => (refused = error));
    });
    await loop.runUntilComplete(sleep(0));
    await loop[Symbol.asyncDispose]();
    expect(RuntimeError.isInstance(refused)).toBe(true);
    expect(cleaned).toBe(true);
    expect(loop.isClosed()).toBe(true);
    await loop[Symbol.asyncDispose]();
  });
});

describe('Node streams', () => {
  test('an evloop server connection as a Node Duplex: pipe() echoes, EOF ends it', async ({ loop }) => {
    const server = await loop.runUntilComplete(
      loop.createServer(() => {
        const protocol = new DuplexProtocol();
        protocol.stream.pipe(protocol.stream);
        return protocol;
      }, '127.0.0.1', 0),
    );
    try {
      const echoed = await loop.runUntilComplete(async () => {
        const [reader, writer] = await openConnection('127.0.0.1', serverPort(server));
        writer.write(Buffer.from('through a Node pipe\n'));
        const line = (await reader.readline()).toString();
        writer.writeEof();
        const rest = await reader.read();
        writer.close();
        await writer.waitClosed();
        return [line, rest.length];
      });
      expect(echoed).toEqual(['through a Node pipe\n', 0]);
    } finally {
      server.close();
      await loop.runUntilComplete(server.waitClosed());
    }
  });

  test('transportToDuplex hands a running connection to Node; bad transports are refused', async ({ loop }) => {
    const server = await loop.runUntilComplete(
      loop.createServer(() => {
        let transport: unknown;
        return {
          connectionMade(made: unknown) {
            transport = made;
          },
          dataReceived(data: Uint8Array) {
            // Hand over after the first bytes: Node answers from now on.
            const stream = transportToDuplex(transport as never);
            stream.write(Buffer.concat([Buffer.from('node says: '), data]));
            stream.end();
          },
        };
      }, '127.0.0.1', 0),
    );
    try {
      const reply = await loop.runUntilComplete(async () => {
        const [reader, writer] = await openConnection('127.0.0.1', serverPort(server));
        writer.write(Buffer.from('hi'));
        const all = (await reader.read()).toString();
        writer.close();
        await writer.waitClosed();
        return all;
      });
      expect(reply).toBe('node says: hi');
    } finally {
      server.close();
      await loop.runUntilComplete(server.waitClosed());
    }
    expect(() => transportToDuplex({} as never)).toThrow(TypeError);
  });

  test('a net.Socket as an evloop transport: StreamReader/StreamWriter over a Node connection', async ({ loop }) => {
    const nodeServer = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (nodeServer.address() as net.AddressInfo).port;
      const result = await loop.runUntilComplete(async () => {
        const socket = net.connect(port, '127.0.0.1');
        const reader = new StreamReader();
        const [transport, protocol] = await connectDuplex(socket, () => new StreamReaderProtocol(reader));
        const writer = new StreamWriter(transport, protocol, reader, loop);
        expect(transport).toBeInstanceOf(DuplexTransport);
        expect(transport.getExtraInfo('peername')).toEqual(['127.0.0.1', port]);
        writer.write(Buffer.from('evloop streams on net.Socket\n'));
        await writer.drain();
        const line = (await reader.readline()).toString();
        transport.pauseReading();
        expect(transport.isReading()).toBe(false);
        transport.resumeReading();
        writer.writeEof();
        const rest = await reader.read();
        await transport[Symbol.asyncDispose]();
        return [line, rest.length, transport.isClosing()];
      });
      expect(result).toEqual(['evloop streams on net.Socket\n', 0, true]);
    } finally {
      await new Promise((resolve) => nodeServer.close(resolve));
    }
  });

  test('a Node socket that still talks after the loop is closed is dropped, not a crash', async ({ loop }) => {
    let serverSide: net.Socket | undefined;
    const nodeServer = net.createServer((socket) => (serverSide = socket));
    await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', resolve));
    try {
      const port = (nodeServer.address() as net.AddressInfo).port;
      const socket = net.connect(port, '127.0.0.1');
      await loop.runUntilComplete(connectDuplex(socket, () => ({}), { loop }));
      loop.close();
      const closed = new Promise((resolve) => socket.once('close', resolve));
      serverSide!.write('late bytes');
      await closed;
      expect(socket.destroyed).toBe(true);
    } finally {
      serverSide?.destroy();
      await new Promise((resolve) => nodeServer.close(resolve));
    }
  });

  test('connectDuplex: a connection error reaches the future; bad arguments are typed errors', async ({ loop }) => {
    const refused = await settle(loop, async () => {
      // A port nobody listens on (bound, never listening).
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const port = (holder.address() as net.AddressInfo).port;
      await new Promise((resolve) => holder.close(resolve));
      return connectDuplex(net.connect(port, '127.0.0.1'), () => ({}));
    });
    expect((refused as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(() => connectDuplex({} as never, () => ({}), { loop })).toThrow(TypeError);
    expect(() => connectDuplex(new net.Socket(), 'x' as never, { loop })).toThrow(TypeError);
  });
});
