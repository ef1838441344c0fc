import { NativeSelector, RuntimeError, type NativeSelectorBinding } from '@evloop/interface';

/**
 * In-memory pipes and socket pairs, and a selector over them, in pure
 * TypeScript: no kernel, no native addon. A loop on a `MemorySelector` runs
 * timers, tasks and futures as on any backend, and its readers and writers
 * watch memory files, which behave as non-blocking pipes and Unix stream
 * socket pairs do (level-triggered readiness, EAGAIN, EOF, EPIPE, the lowest
 * free number reused). serialport's mock binding is the model: for tests of
 * the loop and of protocols that need no real I/O.
 *
 * Memory fd numbers start at 2^30, so they never name a real fd of a
 * process; a `MemorySelector` refuses a real fd (EBADF), and real syscalls
 * know nothing of memory fds.
 */

/** The first memory fd number. */
export const MEMORY_FD_BASE = 0x40000000;
/** How many bytes a memory pipe or socket direction holds before a writer gets EAGAIN. */
export const MEMORY_CAPACITY = 65536;

const EVENT_READ = 1;
const EVENT_WRITE = 2;

interface Channel {
  chunks: Buffer[];
  size: number;
  readerOpen: boolean;
  writerOpen: boolean;
}

interface End {
  readFrom: Channel | undefined;
  writeTo: Channel | undefined;
}

const ends = new Map<number, End>();
const watchers = new Set<MemoryBinding>();

function errnoError(errno: number, code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { errno, code, syscall });
}

function allocate(end: End): number {
  let fd = MEMORY_FD_BASE;
  while (ends.has(fd)) fd++;
  ends.set(fd, end);
  return fd;
}

function endOf(fd: number, syscall: string): End {
  const end = ends.get(fd);
  if (end === undefined) throw errnoError(9, 'EBADF', syscall);
  return end;
}

function channel(): Channel {
  return { chunks: [], size: 0, readerOpen: true, writerOpen: true };
}

function changed(): void {
  for (const binding of watchers) binding.schedule();
}

function readinessOf(end: End): number {
  let events = 0;
  const input = end.readFrom;
  if (input !== undefined && (input.size > 0 || !input.writerOpen)) events |= EVENT_READ;
  const output = end.writeTo;
  if (output !== undefined && (output.size < MEMORY_CAPACITY || !output.readerOpen)) events |= EVENT_WRITE;
  return events;
}

/** One end of a memory pipe or socket pair. */
export class MemoryFile {
  #fd: number;

  /** @internal Made by `memoryPipe()` and `memorySocketPair()`. */
  constructor(fd: number) {
    this.#fd = fd;
  }

  /** The memory fd number, or -1 once closed. */
  fileno(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd === -1;
  }

  /**
   * Reads up to `size` bytes: what is buffered, an empty Buffer at EOF (the
   * writer closed), or a thrown EAGAIN `{ errno, code, syscall }` when
   * nothing is there yet.
   */
  read(size: number): Buffer {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${String(size)}`);
    const input = endOf(this.#fd, 'read').readFrom;
    if (input === undefined) throw errnoError(9, 'EBADF', 'read');
    if (input.size === 0) {
      if (!input.writerOpen) return Buffer.alloc(0);
      throw errnoError(11, 'EAGAIN', 'read');
    }
    const parts: Buffer[] = [];
    let wanted = size;
    while (wanted > 0 && input.chunks.length > 0) {
      const chunk = input.chunks[0]!;
      if (chunk.length <= wanted) {
        parts.push(chunk);
        input.chunks.shift();
        wanted -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, wanted));
        input.chunks[0] = chunk.subarray(wanted);
        wanted = 0;
      }
    }
    const data = Buffer.concat(parts);
    input.size -= data.length;
    changed();
    return data;
  }

  /**
   * Writes what fits (the count is returned); EAGAIN when the buffer is
   * full, EPIPE when the reader has closed.
   */
  write(data: Uint8Array): number {
    if (!(data instanceof Uint8Array)) throw new TypeError(`data must be a Uint8Array, got ${data === null ? 'null' : typeof data}`);
    const output = endOf(this.#fd, 'write').writeTo;
    if (output === undefined) throw errnoError(9, 'EBADF', 'write');
    if (!output.readerOpen) throw errnoError(32, 'EPIPE', 'write');
    const room = MEMORY_CAPACITY - output.size;
    if (room === 0) throw errnoError(11, 'EAGAIN', 'write');
    if (data.length === 0) return 0;
    const taken = Buffer.from(data.subarray(0, Math.min(room, data.length)));
    output.chunks.push(taken);
    output.size += taken.length;
    changed();
    return taken.length;
  }

  /** Closes this end: its reader sees EOF, its writer EPIPE. Closing again does nothing. */
  close(): void {
    const fd = this.#fd;
    if (fd === -1) return;
    this.#fd = -1;
    const end = ends.get(fd)!;
    ends.delete(fd);
    if (end.readFrom !== undefined) {
      end.readFrom.readerOpen = false;
      end.readFrom.chunks = [];
      end.readFrom.size = 0;
    }
    if (end.writeTo !== undefined) end.writeTo.writerOpen = false;
    // As a kqueue or poll set: a closed fd's registrations go with it.
    for (const binding of MemoryBinding.all) binding.forget(fd);
    changed();
  }
}

/** A memory pipe: `[readEnd, writeEnd]`. */
export function memoryPipe(): [MemoryFile, MemoryFile] {
  const shared = channel();
  const reader = allocate({ readFrom: shared, writeTo: undefined });
  const writer = allocate({ readFrom: undefined, writeTo: shared });
  return [new MemoryFile(reader), new MemoryFile(writer)];
}

/** A connected pair of memory stream sockets: what one writes the other reads. */
export function memorySocketPair(): [MemoryFile, MemoryFile] {
  const forward = channel();
  const backward = channel();
  const a = allocate({ readFrom: backward, writeTo: forward });
  const b = allocate({ readFrom: forward, writeTo: backward });
  return [new MemoryFile(a), new MemoryFile(b)];
}

/** The `NativeSelectorBinding` of a `MemorySelector`: registrations and readiness in memory. */
class MemoryBinding implements NativeSelectorBinding {
  static readonly all = new Set<MemoryBinding>();
  readonly #registered = new Map<number, number>();
  #onReady: (() => void) | null = null;
  #scheduled: NodeJS.Immediate | null = null;
  /** Keeps Node alive while watched, as every selector's watch does. */
  #keepAlive: NodeJS.Timeout | null = null;
  readonly #sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor() {
    MemoryBinding.all.add(this);
  }

  add(fd: number, events: number): void {
    endOf(fd, 'add');
    this.#registered.set(fd, events);
    this.schedule();
  }

  modify(fd: number, events: number): void {
    if (!this.#registered.has(fd)) throw errnoError(ends.has(fd) ? 2 : 9, ends.has(fd) ? 'ENOENT' : 'EBADF', 'modify');
    this.#registered.set(fd, events);
    this.schedule();
  }

  remove(fd: number): void {
    this.#registered.delete(fd);
  }

  forget(fd: number): void {
    this.#registered.delete(fd);
  }

  wait(out: Int32Array, timeoutMs: number): number {
    let count = this.#collect(out);
    if (count > 0 || timeoutMs === 0) return count;
    if (timeoutMs < 0) {
      // Nothing in this thread could make a memory file ready while it blocks.
      throw new RuntimeError('a MemorySelector cannot wait forever with nothing ready: only this thread can make a memory file ready');
    }
    Atomics.wait(this.#sleeper, 0, 0, timeoutMs);
    count = this.#collect(out);
    return count;
  }

  watch(onReady: () => void): void {
    this.#onReady = onReady;
    watchers.add(this);
    this.#keepAlive ??= setInterval(() => {}, 0x7fffffff);
    this.schedule();
  }

  unwatch(): void {
    this.#onReady = null;
    watchers.delete(this);
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  close(): void {
    this.unwatch();
    this.#registered.clear();
    MemoryBinding.all.delete(this);
  }

  fileno(): number {
    return -1;
  }

  /** Look again on a later macrotask (never synchronously), if watched. */
  schedule(): void {
    if (this.#onReady === null || this.#scheduled !== null) return;
    this.#scheduled = setImmediate(() => {
      this.#scheduled = null;
      const onReady = this.#onReady;
      if (onReady === null || !this.#anyReady()) return;
      onReady();
      // Level-triggered: still ready after the callback means call again.
      this.schedule();
    });
  }

  #anyReady(): boolean {
    for (const [fd, events] of this.#registered) {
      const end = ends.get(fd);
      if (end !== undefined && (readinessOf(end) & events) !== 0) return true;
    }
    return false;
  }

  #collect(out: Int32Array): number {
    let count = 0;
    for (const [fd, events] of this.#registered) {
      if (2 * count + 1 >= out.length) break;
      const end = ends.get(fd);
      if (end === undefined) continue;
      const ready = readinessOf(end) & events;
      if (ready === 0) continue;
      out[2 * count] = fd;
      out[2 * count + 1] = ready;
      count++;
    }
    return count;
  }
}

/**
 * A selector over memory files (`memoryPipe()`, `memorySocketPair()`), in
 * pure TypeScript, with every check and error of the native selectors (it
 * shares their `NativeSelector` half). `select(timeout)` with nothing ready
 * sleeps the thread for the timeout, as a real wait would; waiting forever
 * with nothing ready is a `RuntimeError`, since nothing could end it. While
 * watched it keeps Node alive, as every selector does.
 */
export class MemorySelector<T = unknown> extends NativeSelector<T> {
  readonly backendName = 'memory';

  constructor() {
    super(new MemoryBinding());
  }
}
