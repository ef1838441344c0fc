import {
  IncompleteReadError,
  LimitOverrunError,
  NotImplementedError,
  RuntimeError,
  type ReadTransport,
} from '@evloop/interface';
import type { BaseEventLoop } from '../base/base-event-loop.js';
import type { Coroutine } from '../futures/coroutine.js';
import { startAwaitable } from '../futures/task.js';
import type { Future } from '../futures/future.js';
import { getEventLoop } from '../loop/running-loop.js';
import { StreamBuffer } from './stream-buffer.js';

/** asyncio's default line and buffer limit: 64 KiB. */
export const DEFAULT_LIMIT = 64 * 1024;

/** What `readuntil` accepts: bytes, a string (UTF-8), or a list of them (the shortest-ending match wins). */
export type Separator = Uint8Array | string;

export interface StreamReaderOptions {
  /** Longest line (or `readuntil` chunk) accepted; reading is paused above twice this. Default 64 KiB. */
  limit?: number;
  loop?: BaseEventLoop;
}

/** An attempt either finishes (returns the value or throws) or asks to wait for more data. */
const WAIT: unique symbol = Symbol('wait for data');
type Attempt<T> = () => T | typeof WAIT;

interface PendingRead {
  readonly future: Future<unknown>;
  /** Try again; true once the future is settled. */
  step(): boolean;
  /** A retry is scheduled (one per loop turn, however much data came). */
  scheduled: boolean;
}

const EMPTY = Buffer.alloc(0);
const NEWLINE = Buffer.from('\n');

/**
 * asyncio's `StreamReader`: a buffer that a protocol feeds (`feedData`,
 * `feedEof`, `setException`) and coroutines read from.
 *
 * Each read method returns a `Coroutine` (awaitable, `yield*`-able,
 * cancellable) that starts when awaited; called inside an async-function
 * task, the read starts at once and is a native Promise the task can still
 * cancel (`startAwaitable`). Bytes are taken from the buffer
 * only when a read completes, so cancelling a pending read leaves the buffer
 * as it was. Only one read may wait for data at a time, as in asyncio.
 *
 * Flow control: when a transport is set and more than twice `limit` bytes
 * are buffered with no read waiting, the transport's reading is paused; it
 * resumes once reads bring the buffer down to `limit`.
 */
export class StreamReader implements AsyncIterable<Buffer> {
  /** @internal */ readonly _limit: number;
  /** @internal */ readonly _loop: BaseEventLoop;
  /** @internal */ readonly _buffer = new StreamBuffer();
  /** @internal */ _eof = false;
  /** @internal */ _waiter: PendingRead | null = null;
  /** @internal */ _exception: unknown = null;
  /** @internal */ _transport: ReadTransport | null = null;
  /** @internal */ _paused = false;

  constructor(options: StreamReaderOptions = {}) {
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (typeof limit !== 'number' || Number.isNaN(limit)) throw new TypeError(`limit must be a number, got ${typeof limit}`);
    if (limit <= 0) throw new RangeError('Limit cannot be <= 0');
    this._limit = limit;
    this._loop = options.loop ?? (getEventLoop() as BaseEventLoop);
  }

  /** The line and chunk limit this reader was made with. */
  get limit(): number {
    return this._limit;
  }

  /** The exception set by `setException`, or null. */
  exception(): unknown {
    return this._exception;
  }

  /** Make every later read fail with `error`; a pending read fails now. The buffer is kept. */
  setException(error: unknown): void {
    this._exception = error;
    const waiter = this._waiter;
    this._waiter = null;
    if (waiter !== null && !waiter.future.done()) waiter.future.setException(error);
  }

  /** The transport whose reading this reader pauses and resumes. Set once. */
  /** @internal The loop this reader's futures belong to. */
  _getLoop(): BaseEventLoop {
    return this._loop;
  }

  /** @internal The stream went on over a new transport (TLS after `startTls`). */
  _replaceTransport(transport: ReadTransport): void {
    this._transport = transport;
  }

  setTransport(transport: ReadTransport): void {
    if (this._transport !== null) throw new RuntimeError('Transport already set');
    this._transport = transport;
  }

  feedEof(): void {
    this._eof = true;
    this._wakeWaiter();
  }

  /** True once `feedEof` was called and every byte was read. */
  atEof(): boolean {
    return this._eof && this._buffer.length === 0;
  }

  feedData(data: Uint8Array): void {
    if (this._eof) throw new RuntimeError('feedData after feedEof');
    if (!(data instanceof Uint8Array)) throw new TypeError(`data must be a Uint8Array, got ${describe(data)}`);
    this._feed(data, false);
  }

  /**
   * @internal `feedData` of a chunk nobody writes to again (from a transport
   * marked `OWNS_RECEIVED_DATA`): when a read is waiting on an empty buffer,
   * the buffer borrows the chunk and the read gets it without a copy; what
   * the read leaves is copied in by the retry (`_retryWaiterSafely`).
   */
  _feedOwned(data: Buffer): void {
    if (this._eof) throw new RuntimeError('feedData after feedEof');
    const waiter = this._waiter;
    const lend =
      waiter !== null && !waiter.scheduled && this._buffer.length === 0 && !waiter.future.done() && !waiter.future.getLoop().isClosed();
    this._feed(data, lend);
  }

  /** @internal */
  _feed(data: Uint8Array, lend: boolean): void {
    if (data.length === 0) return;
    if (lend) this._buffer.lend(data as Buffer);
    else this._buffer.append(data);
    this._wakeWaiter();
    if (this._transport !== null && !this._paused && this._buffer.length > 2 * this._limit) {
      try {
        this._transport.pauseReading();
        this._paused = true;
      } catch (error) {
        // A transport that cannot pause: buffer everything from now on.
        if (!NotImplementedError.isInstance(error)) throw error;
        this._transport = null;
      }
    }
  }

  /**
   * Read up to `n` bytes: as soon as any byte is buffered, what is there (at
   * most `n`). `n < 0` (the default) reads to EOF. At EOF, an empty buffer.
   */
  read(n = -1): Coroutine<Buffer> {
    // The common case (`read(65536)` in a loop) without the closures of the general path.
    if (typeof n === 'number' && n > 0 && Number.isInteger(n)) return startAwaitable<Buffer>('read', (loop) => this._readSome(loop, n));
    return this._operation('read', () => {
      checkInteger(n, 'n');
      if (this._exception !== null) throw this._exception;
      if (n === 0) return () => EMPTY;
      if (n < 0) {
        // Take the buffer in turns until EOF, so the transport is resumed
        // and more than the limit can arrive.
        const blocks: Buffer[] = [];
        return () => {
          while (this._buffer.length > 0) {
            blocks.push(this._buffer.take(this._buffer.length));
            this._maybeResumeTransport();
          }
          if (!this._eof) return WAIT;
          return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
        };
      }
      return () => {
        if (this._buffer.length === 0 && !this._eof) return WAIT;
        const data = this._buffer.take(n);
        this._maybeResumeTransport();
        return data;
      };
    });
  }

  /**
   * Read exactly `n` bytes. At EOF before that, `IncompleteReadError` with
   * the bytes read (and the buffer emptied). Not bounded by `limit`.
   */
  readexactly(n: number): Coroutine<Buffer> {
    return this._operation('readexactly', () => {
      checkInteger(n, 'n');
      if (n < 0) throw new RangeError('readexactly size can not be less than zero');
      if (this._exception !== null) throw this._exception;
      if (n === 0) return () => EMPTY;
      return () => {
        if (this._buffer.length < n) {
          if (!this._eof) return WAIT;
          const partial = this._buffer.take(this._buffer.length);
          throw new IncompleteReadError(partial, n);
        }
        const data = this._buffer.take(n);
        this._maybeResumeTransport();
        return data;
      };
    });
  }

  /**
   * Read up to and including `separator` (or the first-ending of a list of
   * separators). At EOF without it, `IncompleteReadError` with what was
   * buffered (the buffer is emptied). When more than `limit` bytes come
   * before it, `LimitOverrunError` and the buffer is kept.
   */
  readuntil(separator: Separator | readonly Separator[] = NEWLINE): Coroutine<Buffer> {
    return this._operation('readuntil', () => {
      const separators = normalizeSeparators(separator);
      if (this._exception !== null) throw this._exception;
      return this._untilAttempt(separators);
    });
  }

  /**
   * Read one line, with its `\n`. At EOF, the unterminated rest (empty when
   * nothing is left). A line longer than `limit` throws a `RangeError`
   * (asyncio's ValueError, with the `LimitOverrunError` as `cause`) and is
   * dropped from the buffer (up to its `\n` if buffered, else the buffer).
   */
  readline(): Coroutine<Buffer> {
    return this._operation('readline', () => {
      if (this._exception !== null) throw this._exception;
      const attempt = this._untilAttempt([NEWLINE]);
      return () => {
        try {
          return attempt();
        } catch (error) {
          if (IncompleteReadError.isInstance(error)) return error.partial as Buffer;
          if (LimitOverrunError.isInstance(error)) {
            if (this._buffer.startsWith(NEWLINE, error.consumed)) this._buffer.discard(error.consumed + NEWLINE.length);
            else this._buffer.clear();
            this._maybeResumeTransport();
            throw new RangeError(error.message, { cause: error });
          }
          throw error;
        }
      };
    });
  }

  /** `for await (const line of reader)`: each line until EOF. */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return {
      next: () =>
        this.readline().then((line) => (line.length === 0 ? { done: true, value: undefined } : { done: false, value: line })),
    };
  }

  toString(): string {
    const info = ['StreamReader'];
    if (this._buffer.length > 0) info.push(`${this._buffer.length} bytes`);
    if (this._eof) info.push('eof');
    if (this._limit !== DEFAULT_LIMIT) info.push(`limit=${this._limit}`);
    if (this._hasWaiter()) info.push(`waiter=${this._waiter!.future.toString()}`);
    if (this._exception !== null) info.push(`exception=${String(this._exception)}`);
    if (this._transport !== null) info.push('transport');
    if (this._paused) info.push('paused');
    return `<${info.join(' ')}>`;
  }

  /** @internal The search behind `readuntil` and `readline`; `offset` survives waits, so the scan stays linear. */
  _untilAttempt(separators: Buffer[]): Attempt<Buffer> {
    const shortest = separators[0]!.length;
    const longest = separators[separators.length - 1]!.length;
    let offset = 0;
    return () => {
      const buffer = this._buffer;
      const length = buffer.length;
      if (length - offset >= shortest) {
        let matchStart = -1;
        let matchEnd = -1;
        for (const separator of separators) {
          const at = buffer.indexOf(separator, offset);
          if (at === -1) continue;
          const end = at + separator.length;
          if (matchEnd === -1 || end < matchEnd) {
            matchStart = at;
            matchEnd = end;
          }
        }
        if (matchEnd !== -1) {
          if (matchStart > this._limit) throw new LimitOverrunError('Separator is found, but chunk is longer than limit', matchStart);
          const chunk = buffer.take(matchEnd);
          this._maybeResumeTransport();
          return chunk;
        }
        // A separator may still end in bytes to come, starting at most
        // (longest - 1) bytes before the end.
        offset = Math.max(0, length + 1 - longest);
        if (offset > this._limit) throw new LimitOverrunError('Separator is not found, and chunk exceed the limit', offset);
      }
      if (this._eof) throw new IncompleteReadError(buffer.take(length), null);
      return WAIT;
    };
  }

  /**
   * @internal A read as a lazy coroutine: `prepare` runs when it starts
   * (validation, the exception check) and returns the attempt, which runs
   * at once and then whenever data, EOF or an exception arrives.
   */
  _operation<T>(name: string, prepare: () => Attempt<T>): Coroutine<T> {
    return startAwaitable<T>(name, (loop) => {
      const future = loop.createFuture<T>();
      let attempt: Attempt<T>;
      try {
        attempt = prepare();
      } catch (error) {
        future.setException(error);
        return future;
      }
      const step = (): boolean => {
        let outcome: T | typeof WAIT;
        try {
          outcome = attempt();
        } catch (error) {
          future.setException(error);
          return true;
        }
        if (outcome === WAIT) return false;
        future.setResult(outcome);
        return true;
      };
      if (step()) return future;
      if (this._hasWaiter()) {
        future.setException(new RuntimeError(`${name}() called while another coroutine is already waiting for incoming data`));
        return future;
      }
      // Waiting while paused would never end: the data that would wake this
      // read is the data the transport is holding back.
      this._resumeIfPaused();
      this._waiter = { future: future as Future<unknown>, step, scheduled: false };
      return future;
    });
  }

  /**
   * @internal `read(n)` for n > 0, as `_operation` does it: what is buffered
   * (at most `n`) at once, else wait for data (one waiter object, no closures).
   */
  _readSome(loop: BaseEventLoop, n: number): Future<Buffer> {
    const future = loop.createFuture<Buffer>();
    if (this._exception !== null) {
      future.setException(this._exception);
      return future;
    }
    const read = new SomeBytesRead(this, future, n);
    if (read.step()) return future;
    if (this._hasWaiter()) {
      future.setException(new RuntimeError('read() called while another coroutine is already waiting for incoming data'));
      return future;
    }
    this._resumeIfPaused();
    this._waiter = read;
    return future;
  }

  /** @internal */
  _hasWaiter(): boolean {
    return this._waiter !== null && !this._waiter.future.done();
  }

  /**
   * @internal Give the waiting read (if any) another try once the callbacks
   * of this loop iteration have run (a microtask: the loop starts its next
   * iteration from a later one): data fed by any callback of the iteration
   * is seen at once, and a read cancelled before then takes nothing. The
   * read's future then wakes its awaiter in the next iteration, as asyncio's
   * waiter wakes its coroutine; a `callSoon` here would cost a whole loop
   * iteration more per read.
   */
  _wakeWaiter(): void {
    const waiter = this._waiter;
    if (waiter === null || waiter.scheduled) return;
    if (waiter.future.done()) {
      this._waiter = null;
      return;
    }
    if (waiter.future.getLoop().isClosed()) return;
    waiter.scheduled = true;
    queueMicrotask(() => this._retryWaiterSafely(waiter));
  }

  /** @internal The microtask of `_wakeWaiter`: nothing it does may throw into Node's microtask queue. */
  _retryWaiterSafely(waiter: PendingRead): void {
    const loop = waiter.future.getLoop();
    try {
      if (loop.isClosed()) {
        waiter.scheduled = false;
        return;
      }
      this._retryWaiter(waiter);
    } catch (error) {
      loop.callExceptionHandler({ message: 'StreamReader: waking the waiting read failed', exception: error });
    } finally {
      // What the read did not take of a lent chunk is copied now.
      this._buffer.adopt();
    }
  }

  /** @internal */
  _retryWaiter(waiter: PendingRead): void {
    waiter.scheduled = false;
    if (this._waiter !== waiter) return;
    if (waiter.future.done() || waiter.step()) {
      this._waiter = null;
      return;
    }
    // Still waiting: as asyncio's _wait_for_data, never wait on a paused transport.
    this._resumeIfPaused();
  }

  /** @internal */
  _maybeResumeTransport(): void {
    if (this._paused && this._buffer.length <= this._limit) this._resumeIfPaused();
  }

  /** @internal */
  _resumeIfPaused(): void {
    if (!this._paused) return;
    this._paused = false;
    this._transport!.resumeReading();
  }
}

/** The waiter of `read(n)`: settles with up to `n` buffered bytes, or an empty buffer at EOF. */
class SomeBytesRead implements PendingRead {
  scheduled = false;
  readonly #reader: StreamReader;
  readonly future: Future<Buffer>;
  readonly #n: number;

  constructor(reader: StreamReader, future: Future<Buffer>, n: number) {
    this.#reader = reader;
    this.future = future;
    this.#n = n;
  }

  step(): boolean {
    const reader = this.#reader;
    if (reader._buffer.length === 0 && !reader._eof) return false;
    let data: Buffer;
    try {
      data = reader._buffer.take(this.#n);
      reader._maybeResumeTransport();
    } catch (error) {
      this.future.setException(error);
      return true;
    }
    this.future.setResult(data);
    return true;
  }
}

function normalizeSeparators(separator: Separator | readonly Separator[]): Buffer[] {
  const list = Array.isArray(separator) ? (separator as readonly Separator[]) : [separator as Separator];
  if (list.length === 0) throw new RangeError('Separator should contain at least one element');
  const buffers = list.map((entry) => {
    if (typeof entry === 'string') return Buffer.from(entry, 'utf8');
    if (entry instanceof Uint8Array) return Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength);
    throw new TypeError(`separator must be a Uint8Array or a string, got ${describe(entry)}`);
  });
  // Shortest first: on a tie of end positions, the shortest separator wins.
  buffers.sort((a, b) => a.length - b.length);
  if (buffers[0]!.length === 0) throw new RangeError('Separator should be at least one-byte string');
  return buffers;
}

function checkInteger(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
