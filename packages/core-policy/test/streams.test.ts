import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BaseProtocol, BaseTransport, ExceptionContext, Transport } from '@evloop/interface';
import {
  CancelledError,
  IncompleteReadError,
  LimitOverrunError,
  NotImplementedError,
  RuntimeError,
  SelectorEventLoop,
  StreamReader,
  StreamReaderProtocol,
  StreamWriter,
  sleep,
  type Task,
} from '@evloop/core-policy';
import { testSelector } from './helpers.js';

let loop: SelectorEventLoop;
let handled: ExceptionContext[];

beforeEach(() => {
  loop = new SelectorEventLoop(testSelector());
  handled = [];
  loop.setExceptionHandler((_loop, context) => handled.push(context));
});

afterEach(() => {
  loop.close();
  expect(handled).toEqual([]);
});

const bytes = (text: string) => Buffer.from(text, 'latin1');
const text = (data: Uint8Array) => Buffer.from(data).toString('latin1');

function readerWith(...chunks: string[]): StreamReader {
  const reader = new StreamReader({ loop });
  for (const chunk of chunks) reader.feedData(bytes(chunk));
  return reader;
}

/** Feed `chunks` one per loop iteration, then EOF if asked. */
function feedLater(reader: StreamReader, chunks: string[], eof = false): void {
  let index = 0;
  const next = () => {
    if (index < chunks.length) {
      reader.feedData(bytes(chunks[index++]!));
      loop.callSoon(next);
    } else if (eof) reader.feedEof();
  };
  loop.callSoon(next);
}

/** Every way to cut `message` into up to three pieces. */
function splits(message: string): string[][] {
  const result: string[][] = [[message]];
  for (let i = 1; i < message.length; i++) {
    result.push([message.slice(0, i), message.slice(i)]);
    for (let j = i + 1; j < message.length; j++) result.push([message.slice(0, i), message.slice(i, j), message.slice(j)]);
  }
  return result;
}

async function failure(work: PromiseLike<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** Fake transport recording flow-control and writer calls. */
class FakeTransport implements Transport {
  calls: string[] = [];
  written: Buffer[] = [];
  closing = false;
  reading = true;
  protocol: BaseProtocol | null = null;
  pausable = true;
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name === 'peername' ? ['127.0.0.1', 1] : defaultValue;
  }
  isClosing(): boolean {
    return this.closing;
  }
  close(): void {
    this.calls.push('close');
    this.closing = true;
  }
  setProtocol(protocol: BaseProtocol): void {
    this.protocol = protocol;
  }
  getProtocol(): BaseProtocol {
    return this.protocol!;
  }
  isReading(): boolean {
    return this.reading;
  }
  pauseReading(): void {
    if (!this.pausable) throw new NotImplementedError('no pausing');
    this.calls.push('pauseReading');
    this.reading = false;
  }
  resumeReading(): void {
    this.calls.push('resumeReading');
    this.reading = true;
  }
  setWriteBufferLimits(): void {}
  getWriteBufferSize(): number {
    return 0;
  }
  getWriteBufferLimits(): [number, number] {
    return [0, 0];
  }
  write(data: Uint8Array): void {
    this.written.push(Buffer.from(data));
  }
  writelines(list: Iterable<Uint8Array>): void {
    for (const data of list) this.write(data);
  }
  writeEof(): void {
    this.calls.push('writeEof');
  }
  canWriteEof(): boolean {
    return true;
  }
  abort(): void {
    this.calls.push('abort');
    this.closing = true;
  }
}

describe('StreamReader: construction and feeding', () => {
  it('rejects a limit <= 0', () => {
    expect(() => new StreamReader({ limit: 0, loop })).toThrow(RangeError);
    expect(() => new StreamReader({ limit: -1, loop })).toThrow(RangeError);
  });

  it('ignores empty data and keeps non-empty data', async () => {
    const reader = readerWith('');
    expect(reader.atEof()).toBe(false);
    reader.feedData(bytes('line1\nline2\n'));
    reader.feedEof();
    expect(text(await loop.runUntilComplete(reader.read()))).toBe('line1\nline2\n');
  });

  it('refuses feedData after feedEof, and what is not bytes', () => {
    const reader = readerWith('x');
    expect(() => reader.feedData('text' as unknown as Uint8Array)).toThrow(TypeError);
    reader.feedEof();
    expect(() => reader.feedData(bytes('more'))).toThrow(RuntimeError);
  });

  it('atEof only once EOF was fed and the buffer is empty', async () => {
    const reader = readerWith('some data\n');
    expect(reader.atEof()).toBe(false);
    reader.feedEof();
    expect(reader.atEof()).toBe(false);
    await loop.runUntilComplete(reader.readline());
    expect(reader.atEof()).toBe(true);
  });

  it('describes its state', () => {
    const reader = new StreamReader({ limit: 123, loop });
    reader.feedData(bytes('abc'));
    reader.feedEof();
    expect(reader.toString()).toBe('<StreamReader 3 bytes eof limit=123>');
  });
});

describe('StreamReader.read', () => {
  it('read(0) returns empty bytes at once', async () => {
    const reader = readerWith('data');
    expect((await loop.runUntilComplete(reader.read(0))).length).toBe(0);
  });

  it('read(n) waits for data and returns what arrived, at most n', async () => {
    const reader = new StreamReader({ loop });
    feedLater(reader, ['chunk']);
    expect(text(await loop.runUntilComplete(reader.read(30)))).toBe('chunk');
    reader.feedData(bytes('line1\nline2\n'));
    expect(text(await loop.runUntilComplete(reader.read(5)))).toBe('line1');
    expect(text(await loop.runUntilComplete(reader.read(100)))).toBe('\nline2\n');
  });

  it('read(n) at EOF returns empty bytes, also when EOF comes while waiting', async () => {
    const reader = new StreamReader({ loop });
    feedLater(reader, [], true);
    expect((await loop.runUntilComplete(reader.read(1024))).length).toBe(0);
    expect((await loop.runUntilComplete(reader.read(1024))).length).toBe(0);
    expect(reader.atEof()).toBe(true);
  });

  it('read() reads everything until EOF, beyond the limit', async () => {
    const reader = new StreamReader({ limit: 3, loop });
    feedLater(reader, ['chunk1\n', 'chunk2', '', 'x'.repeat(100)], true);
    expect(text(await loop.runUntilComplete(reader.read()))).toBe(`chunk1\nchunk2${'x'.repeat(100)}`);
    expect(reader.atEof()).toBe(true);
  });

  it('works inside generator coroutines with yield*', async () => {
    const reader = new StreamReader({ loop });
    feedLater(reader, ['ab', 'cd\n', 'rest'], true);
    const result = await loop.runUntilComplete(function* () {
      const first = yield* reader.readexactly(3);
      const line = yield* reader.readline();
      const rest = yield* reader.read();
      return [text(first), text(line), text(rest)];
    });
    expect(result).toEqual(['abc', 'd\n', 'rest']);
  });

  it('rejects a size that is not an integer', async () => {
    const reader = readerWith('data');
    expect(await loop.runUntilComplete(() => failure(reader.read(1.5)))).toBeInstanceOf(TypeError);
  });
});

describe('StreamReader.readline', () => {
  it('returns lines across every split of the input', async () => {
    const message = 'ab\ncd\n\nef';
    for (const pieces of splits(message)) {
      const reader = new StreamReader({ loop });
      feedLater(reader, pieces, true);
      const lines = await loop.runUntilComplete(async () => {
        const seen: string[] = [];
        for (;;) {
          const line = await reader.readline();
          if (line.length === 0) return seen;
          seen.push(text(line));
        }
      });
      expect(lines, JSON.stringify(pieces)).toEqual(['ab\n', 'cd\n', '\n', 'ef']);
    }
  });

  it('leaves the rest of the buffer for read(n)', async () => {
    const reader = readerWith('line1\nline2\nline3\n');
    await loop.runUntilComplete(reader.readline());
    expect(text(await loop.runUntilComplete(reader.read(7)))).toBe('line2\nl');
    expect(text(await loop.runUntilComplete(reader.read(7)))).toBe('ine3\n');
  });

  it('returns empty bytes at EOF', async () => {
    const reader = readerWith();
    reader.feedEof();
    expect((await loop.runUntilComplete(reader.readline())).length).toBe(0);
  });

  it('a too-long line throws RangeError with the LimitOverrunError as cause and is dropped up to its newline', async () => {
    const reader = new StreamReader({ limit: 3, loop });
    reader.feedData(bytes('li'));
    reader.feedData(bytes('ne1\nline2\n'));
    const error = (await loop.runUntilComplete(() => failure(reader.readline()))) as RangeError;
    expect(error).toBeInstanceOf(RangeError);
    expect(LimitOverrunError.isInstance(error.cause)).toBe(true);
    // 'line1\n' is dropped; the next line is over the limit too.
    expect(text((reader as unknown as { _buffer: { view(): Buffer } })._buffer.view())).toBe('line2\n');
  });

  it('a too-long line without newline clears the buffer; reading goes on after it', async () => {
    const reader = new StreamReader({ limit: 7, loop });
    feedLater(reader, ['1234567', '89', '0\n', 'ok\n'], true);
    const outcome = await loop.runUntilComplete(async () => {
      const error = await failure(reader.readline());
      const lines: string[] = [];
      for await (const line of reader) lines.push(text(line));
      return { error, lines };
    });
    expect(outcome.error).toBeInstanceOf(RangeError);
    // The overrun cleared '123456789'; '0\n' and 'ok\n' remain lines.
    expect(outcome.lines).toEqual(['0\n', 'ok\n']);
  });

  it('a too-long line fed in one callback is dropped whole, newline included', async () => {
    const reader = new StreamReader({ limit: 7, loop });
    loop.callSoon(() => {
      reader.feedData(bytes('chunk1'));
      reader.feedData(bytes('chunk2'));
      reader.feedData(bytes('chunk3\n'));
      reader.feedEof();
    });
    expect(await loop.runUntilComplete(() => failure(reader.readline()))).toBeInstanceOf(RangeError);
    expect(reader.atEof()).toBe(true);
  });

  it('a line of exactly limit bytes plus newline is accepted', async () => {
    const reader = new StreamReader({ limit: 7, loop });
    feedLater(reader, ['1234', '567\n'], true);
    expect(text(await loop.runUntilComplete(reader.readline()))).toBe('1234567\n');
  });

  it('throws the exception set on the reader', async () => {
    const reader = readerWith('line\n');
    reader.setException(new Error('boom'));
    expect(await loop.runUntilComplete(() => failure(reader.readline()))).toMatchObject({ message: 'boom' });
  });

  it('stays linear on many one-byte chunks', async () => {
    const size = 200_000;
    const reader = new StreamReader({ limit: size * 2, loop });
    const one = bytes('x');
    for (let i = 0; i < size; i++) reader.feedData(one);
    reader.feedData(bytes('\n'));
    for (let i = 0; i < 50_000; i++) reader.feedData(bytes('ab\n'));
    reader.feedEof();
    const started = performance.now();
    const count = await loop.runUntilComplete(async () => {
      let lines = 0;
      for await (const _line of reader) lines++;
      return lines;
    });
    expect(count).toBe(50_001);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('one byte at a time while waiting stays linear too', async () => {
    const size = 100_000;
    const reader = new StreamReader({ limit: size * 2, loop });
    const line = loop.createTask(() => reader.readline());
    await loop.runUntilComplete(sleep(0));
    const started = performance.now();
    const one = bytes('y');
    for (let i = 0; i < size; i++) reader.feedData(one);
    reader.feedData(bytes('\n'));
    expect((await loop.runUntilComplete(line)).length).toBe(size + 1);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('StreamReader.readuntil', () => {
  it('finds the separator across every split of the input', async () => {
    const message = 'lineAAA1AAAline2AA';
    for (const pieces of splits(message)) {
      const reader = new StreamReader({ loop });
      feedLater(reader, pieces, true);
      const outcome = await loop.runUntilComplete(async () => {
        const first = await reader.readuntil('AAA');
        const second = await reader.readuntil(bytes('AAA'));
        const error = await failure(reader.readuntil('AAA'));
        return { first: text(first), second: text(second), error };
      });
      expect(outcome.first, JSON.stringify(pieces)).toBe('lineAAA');
      expect(outcome.second).toBe('1AAA');
      expect(IncompleteReadError.isInstance(outcome.error)).toBe(true);
      const incomplete = outcome.error as IncompleteReadError;
      expect(text(incomplete.partial)).toBe('line2AA');
      expect(incomplete.expected).toBeNull();
      expect(reader.atEof()).toBe(true);
    }
  });

  it('defaults to a newline', async () => {
    const reader = readerWith('one\ntwo');
    expect(text(await loop.runUntilComplete(reader.readuntil()))).toBe('one\n');
  });

  it('takes a list of separators; the first to end wins, the shortest on a tie', async () => {
    const reader = readerWith('a\r\nb\nc;;d;');
    const take = (separators: Array<string | Uint8Array>) => loop.runUntilComplete(reader.readuntil(separators));
    expect(text(await take(['\n', '\r\n']))).toBe('a\r\n');
    expect(text(await take(['\r\n', '\n']))).toBe('b\n');
    expect(text(await take([';;', ';']))).toBe('c;');
    expect(text(await take([bytes(';'), bytes('d;')]))).toBe(';');
    expect(text(await take(['X', 'd;']))).toBe('d;');
  });

  it('finds a separator of a list split over chunks', async () => {
    for (const pieces of splits('ab\r\ncd')) {
      const reader = new StreamReader({ loop });
      feedLater(reader, pieces, true);
      expect(text(await loop.runUntilComplete(reader.readuntil(['\r\n', '\n\n']))), JSON.stringify(pieces)).toBe('ab\r\n');
    }
  });

  it('rejects empty separators and an empty list', async () => {
    const reader = readerWith('data');
    expect(await loop.runUntilComplete(() => failure(reader.readuntil('')))).toBeInstanceOf(RangeError);
    expect(await loop.runUntilComplete(() => failure(reader.readuntil([])))).toBeInstanceOf(RangeError);
    expect(await loop.runUntilComplete(() => failure(reader.readuntil(['a', ''])))).toBeInstanceOf(RangeError);
  });

  it('LimitOverrunError with consumed when the separator is past the limit; the buffer is kept', async () => {
    const reader = new StreamReader({ limit: 3, loop });
    reader.feedData(bytes('some dataAA'));
    const error = (await loop.runUntilComplete(() => failure(reader.readuntil('AAA')))) as LimitOverrunError;
    expect(LimitOverrunError.isInstance(error)).toBe(true);
    expect(error.consumed).toBe(9);
    expect(text(await loop.runUntilComplete(reader.read(100)))).toBe('some dataAA');

    reader.feedData(bytes('some dataAAA'));
    const found = (await loop.runUntilComplete(() => failure(reader.readuntil('AAA')))) as LimitOverrunError;
    expect(found.consumed).toBe(9);
    expect(found.message).toContain('Separator is found');
    expect(text(await loop.runUntilComplete(reader.readexactly(12)))).toBe('some dataAAA');
  });

  it('a separator found exactly at the limit is accepted', async () => {
    const reader = new StreamReader({ limit: 3, loop });
    reader.feedData(bytes('abcAAA'));
    expect(text(await loop.runUntilComplete(reader.readuntil('AAA')))).toBe('abcAAA');
  });
});

describe('StreamReader.readexactly', () => {
  it('n = 0 gives empty bytes; n < 0 is a RangeError', async () => {
    const reader = readerWith('data');
    expect((await loop.runUntilComplete(reader.readexactly(0))).length).toBe(0);
    expect(await loop.runUntilComplete(() => failure(reader.readexactly(-1)))).toBeInstanceOf(RangeError);
  });

  it('waits for exactly n bytes, across every split', async () => {
    for (const pieces of splits('0123456789')) {
      const reader = new StreamReader({ loop });
      feedLater(reader, pieces);
      const [first, second] = await loop.runUntilComplete(async () => [await reader.readexactly(4), await reader.readexactly(6)]);
      expect([text(first!), text(second!)], JSON.stringify(pieces)).toEqual(['0123', '456789']);
    }
  });

  it('is not bounded by the limit', async () => {
    const reader = new StreamReader({ limit: 3, loop });
    feedLater(reader, ['chunk', 'chunk']);
    expect(text(await loop.runUntilComplete(reader.readexactly(10)))).toBe('chunkchunk');
  });

  it('IncompleteReadError with the partial bytes at EOF', async () => {
    const reader = new StreamReader({ loop });
    feedLater(reader, ['chunk'], true);
    const error = (await loop.runUntilComplete(() => failure(reader.readexactly(10)))) as IncompleteReadError;
    expect(IncompleteReadError.isInstance(error)).toBe(true);
    expect(text(error.partial)).toBe('chunk');
    expect(error.expected).toBe(10);
    expect(error.message).toBe('5 bytes read on a total of 10 expected bytes');
    expect(reader.atEof()).toBe(true);
  });
});

describe('StreamReader: exceptions, cancellation, concurrency', () => {
  it('exception() reports what setException set; reads throw it, even read(0)', async () => {
    const reader = readerWith('data');
    expect(reader.exception()).toBeNull();
    const error = new Error('set');
    reader.setException(error);
    expect(reader.exception()).toBe(error);
    for (const read of [() => reader.read(), () => reader.read(0), () => reader.readexactly(2), () => reader.readuntil('a')]) {
      expect(await loop.runUntilComplete(() => failure(read()))).toBe(error);
    }
  });

  it('setException wakes a waiting read with it', async () => {
    const reader = new StreamReader({ loop });
    const error = new Error('late');
    loop.callSoon(() => reader.setException(error));
    expect(await loop.runUntilComplete(() => failure(reader.readline()))).toBe(error);
  });

  it('setException after the waiting read was cancelled does not fail', async () => {
    const reader = new StreamReader({ loop });
    const task = loop.createTask(() => reader.readline());
    await loop.runUntilComplete(sleep(0));
    task.cancel();
    reader.setException(new Error('nobody listens'));
    expect(CancelledError.isInstance(await loop.runUntilComplete(() => failure(task)))).toBe(true);
  });

  it('cancelling a pending read leaves the buffer intact', async () => {
    for (const read of [(r: StreamReader) => r.readexactly(10), (r: StreamReader) => r.readuntil('!'), (r: StreamReader) => r.readline()]) {
      const reader = new StreamReader({ loop });
      const task = loop.createTask(async () => read(reader));
      await loop.runUntilComplete(sleep(0));
      reader.feedData(bytes('12345'));
      task.cancel();
      expect(CancelledError.isInstance(await loop.runUntilComplete(() => failure(task)))).toBe(true);
      reader.feedData(bytes('6789!\n'));
      expect(text(await loop.runUntilComplete(reader.read(100)))).toBe('123456789!\n');
    }
  });

  it('a read cancelled after data came but before it woke takes nothing', async () => {
    const reader = new StreamReader({ loop });
    const task = loop.createTask(reader.readexactly(3));
    await loop.runUntilComplete(sleep(0));
    reader.feedData(bytes('abcdef'));
    task.cancel();
    expect(CancelledError.isInstance(await loop.runUntilComplete(() => failure(task)))).toBe(true);
    expect(text(await loop.runUntilComplete(reader.read(100)))).toBe('abcdef');
  });

  it('cancelling a generator task waiting on a read throws CancelledError at its yield*', async () => {
    const reader = new StreamReader({ loop });
    const seen: string[] = [];
    const task = loop.createTask(function* () {
      try {
        yield* reader.readexactly(4);
      } catch (error) {
        seen.push((error as Error).name);
        throw error;
      }
    });
    await loop.runUntilComplete(sleep(0));
    task.cancel();
    await loop.runUntilComplete(() => failure(task));
    expect(seen).toEqual(['CancelledError']);
    reader.feedData(bytes('abcd'));
    expect(text(await loop.runUntilComplete(reader.readexactly(4)))).toBe('abcd');
  });

  it('a second read that must wait while one waits is a RuntimeError', async () => {
    const reader = new StreamReader({ loop });
    const first = loop.createTask(() => reader.read(10));
    await loop.runUntilComplete(sleep(0));
    const error = await loop.runUntilComplete(() => failure(reader.readline()));
    expect(RuntimeError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('readline() called while another coroutine is already waiting');
    reader.feedData(bytes('ok'));
    expect(text(await loop.runUntilComplete(first))).toBe('ok');
  });

  it('async iteration yields lines until EOF', async () => {
    const reader = new StreamReader({ loop });
    feedLater(reader, ['line1\nli', 'ne2\n', 'tail'], true);
    const lines = await loop.runUntilComplete(async () => {
      const seen: string[] = [];
      for await (const line of reader) seen.push(text(line));
      return seen;
    });
    expect(lines).toEqual(['line1\n', 'line2\n', 'tail']);
  });

  it('the coroutines are lazy: nothing is read until awaited', async () => {
    const reader = readerWith('abc');
    const pending = reader.read(1);
    expect(text(await loop.runUntilComplete(reader.read(1)))).toBe('a');
    expect(text(await loop.runUntilComplete(pending))).toBe('b');
  });
});

describe('StreamReader flow control', () => {
  it('pauses the transport above twice the limit and resumes at the limit', async () => {
    const transport = new FakeTransport();
    const reader = new StreamReader({ limit: 4, loop });
    reader.setTransport(transport);
    expect(() => reader.setTransport(transport)).toThrow(RuntimeError);
    reader.feedData(bytes('12345678'));
    expect(transport.calls).toEqual([]);
    reader.feedData(bytes('9'));
    expect(transport.calls).toEqual(['pauseReading']);
    reader.feedData(bytes('0'));
    expect(transport.calls).toEqual(['pauseReading']);
    await loop.runUntilComplete(reader.read(5));
    expect(transport.calls).toEqual(['pauseReading']);
    await loop.runUntilComplete(reader.read(1));
    expect(transport.calls).toEqual(['pauseReading', 'resumeReading']);
  });

  it('a read that must wait resumes a paused transport (readexactly beyond twice the limit)', async () => {
    const transport = new FakeTransport();
    const reader = new StreamReader({ limit: 2, loop });
    reader.setTransport(transport);
    reader.feedData(bytes('12345'));
    expect(transport.reading).toBe(false);
    const task = loop.createTask(() => reader.readexactly(12));
    await loop.runUntilComplete(sleep(0));
    expect(transport.reading).toBe(true);
    // More data pauses it again, and the read, still short, resumes it on its next try.
    reader.feedData(bytes('6789'));
    expect(transport.reading).toBe(false);
    await loop.runUntilComplete(sleep(0));
    expect(transport.reading).toBe(true);
    reader.feedData(bytes('abc'));
    expect(text(await loop.runUntilComplete(task))).toBe('123456789abc');
  });

  it('a transport that cannot pause is forgotten and everything is buffered', async () => {
    const transport = new FakeTransport();
    transport.pausable = false;
    const reader = new StreamReader({ limit: 1, loop });
    reader.setTransport(transport);
    reader.feedData(bytes('abcdef'));
    reader.feedData(bytes('ghi'));
    reader.feedEof();
    expect(text(await loop.runUntilComplete(reader.read()))).toBe('abcdefghi');
    expect(transport.calls).toEqual([]);
  });
});

/** A transport whose received chunks are never written again, as the selector socket transport's slab views. */
class OwningFakeTransport extends FakeTransport {}
Object.defineProperty(OwningFakeTransport.prototype, Symbol.for('evloop.ownsReceivedData'), { value: true });

describe('StreamReader over a transport that owns its received chunks (no copy while a read waits)', () => {
  function connected(transport: FakeTransport = new OwningFakeTransport(), limit?: number): { reader: StreamReader; protocol: StreamReaderProtocol } {
    const reader = new StreamReader(limit === undefined ? { loop } : { loop, limit });
    const protocol = new StreamReaderProtocol(reader, null, { loop });
    protocol.connectionMade(transport);
    return { reader, protocol };
  }

  it('a waiting read(n) gets the chunk itself; without the mark, a copy', async () => {
    const { reader, protocol } = connected();
    const chunk = bytes('hello');
    const read = loop.createTask(() => reader.read(100));
    await loop.runUntilComplete(sleep(0));
    protocol.dataReceived(chunk);
    expect(await loop.runUntilComplete(read)).toBe(chunk);

    const plain = connected(new FakeTransport());
    const copied = bytes('hello');
    const plainRead = loop.createTask(() => plain.reader.read(100));
    await loop.runUntilComplete(sleep(0));
    plain.protocol.dataReceived(copied);
    const result = await loop.runUntilComplete(plainRead);
    expect(result).not.toBe(copied);
    expect(text(result)).toBe('hello');
  });

  it('partial reads: what a read leaves of the chunk is copied before the chunk can be reused', async () => {
    const { reader, protocol } = connected();
    const chunk = bytes('abcdefgh');
    const read = loop.createTask(() => reader.readexactly(3));
    await loop.runUntilComplete(sleep(0));
    protocol.dataReceived(chunk);
    expect(text(await loop.runUntilComplete(read))).toBe('abc');
    chunk.fill(0x21);
    expect(text(await loop.runUntilComplete(reader.read(2)))).toBe('de');
    expect(text(await loop.runUntilComplete(reader.readexactly(3)))).toBe('fgh');
  });

  it('a chunk that does not finish the read (readexactly across chunks) is kept intact', async () => {
    const { reader, protocol } = connected();
    const first = bytes('abc');
    const read = loop.createTask(() => reader.readexactly(6));
    await loop.runUntilComplete(sleep(0));
    protocol.dataReceived(first);
    await loop.runUntilComplete(sleep(0));
    first.fill(0x21);
    protocol.dataReceived(bytes('def'));
    expect(text(await loop.runUntilComplete(read))).toBe('abcdef');
  });

  it('limit overrun: the waiting readuntil fails and the buffer keeps the chunk bytes', async () => {
    const { reader, protocol } = connected(new OwningFakeTransport(), 4);
    const chunk = bytes('0123456789');
    const read = loop.createTask(() => reader.readuntil(bytes('\n')));
    await loop.runUntilComplete(sleep(0));
    protocol.dataReceived(chunk);
    await expect(loop.runUntilComplete(read)).rejects.toSatisfy((error) => LimitOverrunError.isInstance(error));
    chunk.fill(0x21);
    expect(text(await loop.runUntilComplete(reader.read(100)))).toBe('0123456789');
  });

  it('EOF while waiting: IncompleteReadError carries the bytes of the chunk', async () => {
    const { reader, protocol } = connected();
    const chunk = bytes('abc');
    const read = loop.createTask(() => reader.readexactly(10));
    await loop.runUntilComplete(sleep(0));
    protocol.dataReceived(chunk);
    protocol.eofReceived();
    let caught: unknown = null;
    try {
      await loop.runUntilComplete(read);
    } catch (error) {
      caught = error;
    }
    expect(IncompleteReadError.isInstance(caught)).toBe(true);
    expect(text((caught as IncompleteReadError).partial as Buffer)).toBe('abc');
    expect(reader.atEof()).toBe(true);
  });

  it('an exception set before the woken read runs fails it; the chunk bytes stay in the buffer, copied', async () => {
    const { reader, protocol } = connected();
    const chunk = bytes('abc');
    const read = loop.createTask(() => reader.read(10));
    await loop.runUntilComplete(sleep(0));
    protocol.dataReceived(chunk);
    const error = new Error('boom');
    reader.setException(error);
    await expect(loop.runUntilComplete(read)).rejects.toBe(error);
    chunk.fill(0x21);
    expect(reader.toString()).toContain('3 bytes');
    expect(text(reader._buffer.view())).toBe('abc');
  });
});

describe('StreamReaderProtocol and StreamWriter (fake transport)', () => {
  function connected(): { transport: FakeTransport; reader: StreamReader; protocol: StreamReaderProtocol; writer: StreamWriter } {
    const transport = new FakeTransport();
    const reader = new StreamReader({ loop });
    const protocol = new StreamReaderProtocol(reader, null, { loop });
    protocol.connectionMade(transport);
    const writer = new StreamWriter(transport, protocol, reader, loop);
    return { transport, reader, protocol, writer };
  }

  it('feeds data and EOF to the reader and keeps the connection half-open', async () => {
    const { reader, protocol } = connected();
    protocol.dataReceived(bytes('hello'));
    expect(protocol.eofReceived()).toBe(true);
    expect(text(await loop.runUntilComplete(reader.read()))).toBe('hello');
  });

  it('the writer passes calls through to the transport', () => {
    const { transport, writer } = connected();
    writer.write(bytes('a'));
    writer.writelines([bytes('b'), bytes('c')]);
    expect(writer.canWriteEof()).toBe(true);
    writer.writeEof();
    expect(writer.getExtraInfo('peername')).toEqual(['127.0.0.1', 1]);
    expect(writer.getExtraInfo('nothing')).toBeNull();
    expect(writer.getExtraInfo('nothing', 7)).toBe(7);
    expect(writer.transport).toBe(transport);
    expect(writer.isClosing()).toBe(false);
    writer.close();
    expect(writer.isClosing()).toBe(true);
    expect(Buffer.concat(transport.written).toString()).toBe('abc');
    expect(transport.calls).toEqual(['writeEof', 'close']);
  });

  it('drain returns at once unless paused; paused, it waits for resumeWriting (several drains at once)', async () => {
    const { protocol, writer } = connected();
    await loop.runUntilComplete(writer.drain());
    protocol.pauseWriting();
    const drains = [loop.createTask(writer.drain()), loop.createTask(writer.drain())];
    await loop.runUntilComplete(sleep(0));
    expect(drains.map((task) => task.done())).toEqual([false, false]);
    protocol.resumeWriting();
    await loop.runUntilComplete(() => Promise.all(drains));
    expect(protocol._drainWaiters.size).toBe(0);
  });

  it('a cancelled drain leaves no waiter behind', async () => {
    const { protocol, writer } = connected();
    protocol.pauseWriting();
    const drain = loop.createTask(writer.drain());
    await loop.runUntilComplete(sleep(0));
    drain.cancel();
    await loop.runUntilComplete(() => failure(drain));
    await loop.runUntilComplete(sleep(0));
    expect(protocol._drainWaiters.size).toBe(0);
  });

  it('drain fails with the connection error when the connection is lost while paused, and after', async () => {
    const { protocol, writer, transport } = connected();
    protocol.pauseWriting();
    const drain = loop.createTask(writer.drain());
    await loop.runUntilComplete(sleep(0));
    const lost = new Error('reset by peer');
    transport.closing = true;
    protocol.connectionLost(lost);
    expect(await loop.runUntilComplete(() => failure(drain))).toBe(lost);
    // Later drains see the reader's exception first.
    expect(await loop.runUntilComplete(() => failure(writer.drain()))).toBe(lost);
    expect(await loop.runUntilComplete(() => failure(writer.waitClosed()))).toBe(lost);
  });

  it('drain after a clean close raises ConnectionResetError', async () => {
    const { protocol, writer, transport } = connected();
    transport.close();
    loop.callSoon(() => protocol.connectionLost(null));
    const error = await loop.runUntilComplete(() => failure(writer.drain()));
    expect((error as Error).name).toBe('ConnectionResetError');
    await loop.runUntilComplete(writer.waitClosed());
  });

  it('waitClosed waits for connectionLost; cancelling it does not cancel the stream', async () => {
    const { protocol, writer } = connected();
    const waiting = loop.createTask(writer.waitClosed());
    await loop.runUntilComplete(sleep(0));
    waiting.cancel();
    await loop.runUntilComplete(() => failure(waiting));
    loop.callSoon(() => protocol.connectionLost(null));
    await loop.runUntilComplete(writer.waitClosed());
  });

  it('an error the connection was lost with is not reported when nobody waits for it', async () => {
    const { protocol } = connected();
    protocol.connectionLost(new Error('gone'));
    // Marked retrieved, so collecting it never reaches the exception handler.
    expect(protocol._closed._logTraceback).toBe(false);
  });

  describe('on a server, the client callback', () => {
    function serve(callback: (reader: StreamReader, writer: StreamWriter) => unknown): FakeTransport {
      const transport = new FakeTransport();
      const protocol = new StreamReaderProtocol(new StreamReader({ loop }), callback, { loop });
      protocol.connectionMade(transport);
      protocol.dataReceived(bytes('ping\n'));
      return transport;
    }

    it('a plain function is called at once with the reader and writer', () => {
      let got: unknown[] = [];
      serve((reader, writer) => {
        got = [reader, writer];
      });
      expect(got[0]).toBeInstanceOf(StreamReader);
      expect(got[1]).toBeInstanceOf(StreamWriter);
    });

    it('an async function runs as a task', async () => {
      const transport = serve(async (reader, writer) => {
        writer.write(await reader.readline());
        writer.close();
      });
      await loop.runUntilComplete(sleep(0.01));
      expect(Buffer.concat(transport.written).toString()).toBe('ping\n');
      expect(transport.calls).toEqual(['close']);
    });

    it('a generator function runs as a task', async () => {
      const transport = serve(function* (reader, writer) {
        const line = yield* reader.readline();
        writer.write(line);
      });
      await loop.runUntilComplete(sleep(0.01));
      expect(Buffer.concat(transport.written).toString()).toBe('ping\n');
    });

    it('a failing callback task goes to the exception handler and closes the transport', async () => {
      const error = new Error('handler failed');
      const transport = serve(async () => {
        throw error;
      });
      await loop.runUntilComplete(sleep(0.01));
      expect(transport.calls).toEqual(['close']);
      const reported = handled.splice(0);
      expect(reported).toHaveLength(1);
      expect(reported[0]!.message).toBe('Unhandled exception in the clientConnected callback of startServer');
      expect(reported[0]!.exception).toBe(error);
    });

    it('a cancelled callback task closes the transport without a report', async () => {
      let task: Task<unknown> | null = null;
      const transport = new FakeTransport();
      const protocol = new StreamReaderProtocol(new StreamReader({ loop }), async (reader) => {
        await reader.readline();
      }, { loop });
      protocol.connectionMade(transport);
      task = protocol._task;
      await loop.runUntilComplete(sleep(0));
      task!.cancel();
      await loop.runUntilComplete(sleep(0.01));
      expect(transport.calls).toEqual(['close']);
    });
  });

  it('a transport given to connectionMade is typed as a BaseTransport', () => {
    const transport: BaseTransport = new FakeTransport();
    const protocol = new StreamReaderProtocol(new StreamReader({ loop }), null, { loop });
    protocol.connectionMade(transport);
    expect(protocol._transport).toBe(transport);
  });
});
