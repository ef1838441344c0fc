import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import type { BaseProtocol, Transport } from '@evloop/interface';
import {
  CancelledError,
  SelectorEventLoop,
  StreamReader,
  StreamReaderProtocol,
  StreamWriter,
  TimeoutError,
  currentTask,
  sleep,
  waitFor,
  type Task,
} from '@evloop/core-policy';
import { onLoop, testSelector } from './helpers.js';

// Stream reads and drain() called in an async-function task start at once
// and are native Promises (V8 awaits them without a thenable job); these
// tests check that cancellation, context and the reader's state are as with
// the lazy coroutines they are everywhere else.

const bytes = (text: string) => Buffer.from(text, 'latin1');
const text = (data: Uint8Array) => Buffer.from(data).toString('latin1');
const isCancel = (error: unknown) => CancelledError.isInstance(error);

/** A transport that records nothing but whether it is closing (for StreamWriter). */
class QuietTransport implements Transport {
  protocol: BaseProtocol | null = null;
  closing = false;
  getExtraInfo(_name: string, defaultValue?: unknown): unknown {
    return defaultValue;
  }
  isClosing(): boolean {
    return this.closing;
  }
  close(): void {
    this.closing = true;
  }
  setProtocol(protocol: BaseProtocol): void {
    this.protocol = protocol;
  }
  getProtocol(): BaseProtocol {
    return this.protocol!;
  }
  isReading(): boolean {
    return true;
  }
  pauseReading(): void {}
  resumeReading(): void {}
  setWriteBufferLimits(): void {}
  getWriteBufferSize(): number {
    return 0;
  }
  getWriteBufferLimits(): [number, number] {
    return [0, 0];
  }
  write(): void {}
  writelines(): void {}
  writeEof(): void {}
  canWriteEof(): boolean {
    return true;
  }
  abort(): void {
    this.closing = true;
  }
}

function connected(loop: SelectorEventLoop): { reader: StreamReader; protocol: StreamReaderProtocol; writer: StreamWriter } {
  const transport = new QuietTransport();
  const reader = new StreamReader({ loop });
  const protocol = new StreamReaderProtocol(reader, null, { loop });
  protocol.connectionMade(transport);
  return { reader, protocol, writer: new StreamWriter(transport, protocol, reader, loop) };
}

const READS: Array<[string, (reader: StreamReader) => PromiseLike<Buffer>]> = [
  ['read(n)', (reader) => reader.read(100)],
  ['read()', (reader) => reader.read()],
  ['readexactly', (reader) => reader.readexactly(10)],
  ['readuntil', (reader) => reader.readuntil('!')],
  ['readline', (reader) => reader.readline()],
];

describe('stream reads and drain() awaited in an async-function task', () => {
  it('are native Promises in an async-function task, coroutine objects outside one and in a generator task', async () => {
    const outcome = await onLoop(async (loop) => {
      const reader = new StreamReader({ loop });
      reader.feedData(bytes('abc'));
      const { writer } = connected(loop);
      const inTask = reader.read(1);
      const drain = writer.drain();
      const native = [Object.getPrototypeOf(inTask) === Promise.prototype, Object.getPrototypeOf(drain) === Promise.prototype];
      const values = [text(await inTask), await drain];
      const fromGenerator = await loop.createTask(function* () {
        const read = reader.read(1);
        const isCoroutine = String(read) === '<coroutine read>';
        return [isCoroutine, text((yield* read as unknown as Generator<unknown, Buffer>) as Buffer)];
      });
      return { native, values, fromGenerator };
    });
    expect(outcome).toEqual({ native: [true, true], values: ['a', undefined], fromGenerator: [true, 'b'] });
    const loop = new SelectorEventLoop(testSelector());
    try {
      expect(String(new StreamReader({ loop }).read(1))).toBe('<coroutine read>');
    } finally {
      loop.close();
    }
  });

  for (const [name, read] of READS) {
    it(`cancel() throws CancelledError at an await of ${name}; the buffer is intact and the task reads on`, async () => {
      const outcome = await onLoop(async (loop) => {
        const reader = new StreamReader({ loop });
        const seen: string[] = [];
        const task = loop.createTask(async () => {
          try {
            await read(reader);
            seen.push('not reached');
          } catch (error) {
            seen.push(isCancel(error) ? `cancelled: ${(error as Error).message}` : `other: ${String(error)}`);
          }
          expect(task.uncancel()).toBe(0);
          return text(await reader.readexactly(11));
        });
        await sleep(0); // the task waits in its read
        reader.feedData(bytes('12345'));
        task.cancel('stop');
        await sleep(0);
        reader.feedData(bytes('6789!\n'));
        return { result: await task, seen, cancelling: task.cancelling() };
      });
      expect(outcome).toEqual({ result: '123456789!\n', seen: ['cancelled: stop'], cancelling: 0 });
    });
  }

  it('a cancellation not caught at a read ends the task cancelled', async () => {
    const error = await onLoop(async (loop) => {
      const reader = new StreamReader({ loop });
      const task = loop.createTask(async () => reader.readline());
      await sleep(0);
      task.cancel();
      try {
        await task;
      } catch (caught) {
        return { caught, cancelled: task.cancelled() };
      }
      return null;
    });
    expect(isCancel(error?.caught)).toBe(true);
    expect(error?.cancelled).toBe(true);
  });

  it('cancel() throws CancelledError at an await of drain() while writing is paused; no waiter is left', async () => {
    const outcome = await onLoop(async (loop) => {
      const { protocol, writer } = connected(loop);
      protocol.pauseWriting();
      const task = loop.createTask(async () => {
        try {
          await writer.drain();
          return 'drained';
        } catch (error) {
          return isCancel(error) ? 'cancelled' : `other: ${String(error)}`;
        }
      });
      await sleep(0);
      task.cancel();
      const result = await task;
      await sleep(0);
      return { result, waiters: protocol._drainWaiters.size };
    });
    expect(outcome).toEqual({ result: 'cancelled', waiters: 0 });
  });

  it('a cancellation that came during a foreign Promise is thrown at the next stream read, which takes nothing', async () => {
    const outcome = await onLoop(async (loop) => {
      const reader = new StreamReader({ loop });
      reader.feedData(bytes('data'));
      let release!: () => void;
      const foreign = new Promise<void>((resolve) => (release = resolve));
      const task = loop.createTask(async () => {
        await foreign;
        try {
          await reader.readexactly(10);
          return 'not cancelled';
        } catch (error) {
          return isCancel(error) ? 'cancelled at the read' : `other: ${String(error)}`;
        }
      });
      await sleep(0);
      task.cancel();
      release();
      const result = await task;
      return { result, left: text(await reader.read(100)) };
    });
    expect(outcome).toEqual({ result: 'cancelled at the read', left: 'data' });
  });

  it('waitFor(reader.read(n)) in a task times out by cancelling the read itself', async () => {
    const outcome = await onLoop(async (loop) => {
      const reader = new StreamReader({ loop });
      let timedOut = false;
      try {
        await waitFor(reader.read(10), 0.001);
      } catch (error) {
        timedOut = error instanceof TimeoutError || (error as Error).name === 'TimeoutError';
      }
      // No read is left waiting: a new one may wait, and gets the bytes.
      const next = reader.read(10);
      await sleep(0);
      reader.feedData(bytes('later'));
      return { timedOut, next: text(await next) };
    });
    expect(outcome).toEqual({ timedOut: true, next: 'later' });
  });

  it('createTask(reader.read(n)) from a task follows the read: cancelling that task cancels the read', async () => {
    const outcome = await onLoop(async (loop) => {
      const reader = new StreamReader({ loop });
      const inner = loop.createTask(reader.read(10));
      await sleep(0);
      inner.cancel();
      let cancelled = false;
      try {
        await inner;
      } catch (error) {
        cancelled = isCancel(error);
      }
      const next = reader.read(10);
      await sleep(0);
      reader.feedData(bytes('x'));
      return { cancelled, next: text(await next) };
    });
    expect(outcome).toEqual({ cancelled: true, next: 'x' });
  });

  it("a read handed to createTask belongs to that task: cancelling the task that called read() does not cancel it", async () => {
    const outcome = await onLoop(async (loop) => {
      const reader = new StreamReader({ loop });
      let inner: Task<Buffer> | null = null;
      let release!: () => void;
      const foreign = new Promise<void>((resolve) => (release = resolve));
      const outer = loop.createTask(async () => {
        inner = loop.createTask(reader.read(10)) as Task<Buffer>;
        await foreign;
        await sleep(0);
        return 'not cancelled';
      });
      await sleep(0);
      outer.cancel();
      release();
      let outerOutcome = 'finished';
      try {
        await outer;
      } catch (error) {
        outerOutcome = isCancel(error) ? 'cancelled' : String(error);
      }
      const innerPending = !inner!.done();
      reader.feedData(bytes('still read'));
      return { outerOutcome, innerPending, inner: text(await inner!) };
    });
    expect(outcome).toEqual({ outerOutcome: 'cancelled', innerPending: true, inner: 'still read' });
  });

  it('a read made and never awaited by a cancelled task makes no unhandled rejection', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      await onLoop(async (loop) => {
        const reader = new StreamReader({ loop });
        const task = loop.createTask(async () => {
          void reader.read(10);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return 'finished';
        });
        await sleep(0);
        task.cancel();
        await task;
        // The read was cancelled with the task's cancellation, and the reader can read again.
        const next = reader.read(10);
        await sleep(0);
        reader.feedData(bytes('ok'));
        expect(text(await next)).toBe('ok');
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
  });

  it('a read left pending across other awaits (a future, sleep(0)) still gives its bytes, and those awaits theirs', async () => {
    const outcome = await onLoop(async (loop) => {
      const reader = new StreamReader({ loop });
      const future = loop.createFuture<string>();
      const pending = reader.read(10);
      loop.callSoon(() => future.setResult('future'));
      const seen = [await future, await sleep(0, 'slept')];
      reader.feedData(bytes('bytes'));
      seen.push(text(await pending), await sleep(0, 'again'));
      return seen;
    });
    expect(outcome).toEqual(['future', 'slept', 'bytes', 'again']);
  });

  it('currentTask() stays right across reads, drains and nested foreign Promises, between interleaved tasks', async () => {
    const outcome = await onLoop(async (loop) => {
      const mismatches: string[] = [];
      const readers = Array.from({ length: 4 }, () => connected(loop));
      async function nested(self: Task<unknown>, reader: StreamReader, writer: StreamWriter, depth: number): Promise<void> {
        await Promise.resolve();
        if (currentTask() !== self) mismatches.push(`after Promise.resolve at ${depth}`);
        await reader.readexactly(2);
        if (currentTask() !== self) mismatches.push(`after readexactly at ${depth}`);
        await new Promise((resolve) => setImmediate(resolve));
        if (currentTask() !== self) mismatches.push(`after setImmediate at ${depth}`);
        await writer.drain();
        if (currentTask() !== self) mismatches.push(`after drain at ${depth}`);
        if (depth > 0) await nested(self, reader, writer, depth - 1);
        if (currentTask() !== self) mismatches.push(`after nested at ${depth}`);
      }
      const tasks = readers.map(({ reader, writer }) => loop.createTask(async () => nested(currentTask()!, reader, writer, 3)));
      for (let round = 0; round < 4; round++) {
        await sleep(0);
        for (const { reader } of readers) reader.feedData(bytes('ab'));
      }
      for (const task of tasks) await task;
      return mismatches;
    });
    expect(outcome).toEqual([]);
  });

  it("context is isolated between tasks: a user's AsyncLocalStorage value follows its own task across reads", async () => {
    const storage = new AsyncLocalStorage<string>();
    const outcome = await onLoop(async (loop) => {
      const seen: string[] = [];
      const readers = ['a', 'b', 'c'].map(() => new StreamReader({ loop }));
      const tasks = ['a', 'b', 'c'].map((name, index) =>
        loop.createTask(() =>
          storage.run(name, async () => {
            for (let i = 0; i < 3; i++) {
              await readers[index]!.read(1);
              seen.push(`${name}:${storage.getStore()}`);
            }
          }),
        ),
      );
      for (let i = 0; i < 3; i++) {
        await sleep(0);
        for (const reader of readers) reader.feedData(bytes('x'));
      }
      for (const task of tasks) await task;
      return seen.sort();
    });
    expect(outcome).toEqual(['a:a', 'a:a', 'a:a', 'b:b', 'b:b', 'b:b', 'c:c', 'c:c', 'c:c']);
  });
});
