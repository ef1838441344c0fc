import { KeyError, OSError, RuntimeError, toOSError } from './errors.js';

/** The file object is ready for reading (or has been closed by the peer). */
export const EVENT_READ = 1 as const;
/** The file object is ready for writing. */
export const EVENT_WRITE = 2 as const;

/** A plain fd, or anything with a `fileno()` method (a `Socket`, a pipe end). */
export type FileObject = number | { fileno(): number };

/** What a selector keeps for each registered file object (Python's `SelectorKey`). */
export interface SelectorKey<T = unknown> {
  readonly fileobj: FileObject;
  readonly fd: number;
  /** A mask of `EVENT_READ` and `EVENT_WRITE`, never 0. */
  readonly events: number;
  readonly data: T;
}

/**
 * Python's `selectors.BaseSelector`, level-triggered.
 *
 * Behaviour every backend must have:
 * - `register` throws `RangeError` for an event mask that is 0 or has bits other
 *   than `EVENT_READ | EVENT_WRITE`, `RangeError` for a negative or non-integer
 *   fd, `TypeError` for an object without `fileno()`, and `KeyError` for a file
 *   object already registered. A file the kernel cannot poll (a regular file
 *   on epoll) throws the `OSError` the kernel gave (`EPERM`).
 * - `unregister` and `getKey` throw `KeyError` for an unknown file object;
 *   `unregister` of an fd that was closed since it was registered succeeds.
 * - `modify` with the same events only replaces `data` without a syscall.
 * - `select(timeout)`: `null`/`undefined` blocks, `<= 0` polls, otherwise
 *   waits up to `timeout` seconds (rounded up to whole milliseconds). Returns
 *   `[key, readyEvents]` pairs with `readyEvents` a subset of `key.events`. An
 *   interrupted wait (EINTR) is retried with the remaining time, never thrown.
 * - After `close()`, every method but `close` throws `RuntimeError`.
 */
export interface BaseSelector<T = unknown> {
  /** The backend name (`'epoll'`, `'poll'`, ...). */
  readonly backendName: string;
  register(fileobj: FileObject, events: number, data?: T): SelectorKey<T>;
  unregister(fileobj: FileObject): SelectorKey<T>;
  modify(fileobj: FileObject, events: number, data?: T): SelectorKey<T>;
  select(timeout?: number | null): Array<[SelectorKey<T>, number]>;
  getKey(fileobj: FileObject): SelectorKey<T>;
  getMap(): ReadonlyMap<number, SelectorKey<T>>;
  close(): void;
  readonly closed: boolean;
  /** The kernel object's fd (epoll, kqueue), or -1 for backends without one (poll, select). */
  fileno(): number;

  /**
   * The loop's fast path: wait like `select`, but write ready `(fd, events)`
   * pairs into `readyBuffer` and return how many pairs were written. No object
   * is made per event. A pair may name an fd that is no longer registered, or
   * events outside the key's mask (epoll reports a closed fd whose duplicate
   * is still open): consumers look the fd up and mask the events.
   */
  selectInto(timeout?: number | null): number;
  /** Pairs written by the last `selectInto`: `[fd0, events0, fd1, events1, ...]`. */
  readonly readyBuffer: Int32Array;

  /**
   * Guest-loop wait. After `watch(onReady)`, `onReady` is called from Node's
   * event loop (never synchronously, never from another thread) whenever a
   * `selectInto(0)` would find events. While watched the selector keeps the
   * process alive; `unwatch()` releases it. Calling `watch` again replaces the
   * callback. A backend without a pollable kernel object waits on a helper
   * thread that is woken when the fd set changes; such a backend polls again
   * only after `onReady` returns, and may call `onReady` once, finding
   * nothing, when a watched fd is closed at that moment. `unwatch()` on a
   * closed selector does nothing (closing already released the wait).
   */
  watch(onReady: () => void): void;
  unwatch(): void;
}

/**
 * What a backend's native addon exposes for one selector instance. Errors are
 * thrown as objects with a numeric `errno` and a `syscall` name; the wrapper
 * turns them into typed `OSError`s. Event masks use `EVENT_READ`/`EVENT_WRITE`.
 */
export interface NativeSelectorBinding {
  add(fd: number, events: number): void;
  modify(fd: number, events: number): void;
  remove(fd: number): void;
  /**
   * Wait up to `timeoutMs` (-1 forever, 0 poll) and write ready
   * `(fd, events)` pairs into `out`; returns the number of pairs. Retries
   * EINTR with the remaining time.
   */
  wait(out: Int32Array, timeoutMs: number): number;
  watch(onReady: () => void): void;
  unwatch(): void;
  close(): void;
  /** The kernel object's fd (the epoll or kqueue fd), or -1 when there is none. */
  fileno(): number;
}

const VALID_EVENTS = EVENT_READ | EVENT_WRITE;
const MIN_PAIRS = 64;
const MAX_PAIRS = 8192;

/** Turn a file object into its fd with Python's checks. */
export function fileobjToFd(fileobj: FileObject): number {
  let fd: unknown;
  if (typeof fileobj === 'number') {
    fd = fileobj;
  } else if (fileobj !== null && typeof fileobj === 'object' && typeof (fileobj as { fileno?: unknown }).fileno === 'function') {
    fd = (fileobj as { fileno(): number }).fileno();
  } else {
    throw new TypeError(`fileobj must be an fd or an object with fileno(), got ${describe(fileobj)}`);
  }
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new RangeError(`Invalid file descriptor: ${String(fd)}`);
  }
  return fd;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return typeof value;
}

interface MutableKey<T> {
  fileobj: FileObject;
  fd: number;
  events: number;
  data: T;
}

/**
 * The shared TypeScript half of every native selector: the key map, argument
 * checks and errors live here once, so each backend's native code only does
 * its syscalls. Pure TypeScript; it never calls the kernel itself.
 */
export abstract class NativeSelector<T = unknown> implements BaseSelector<T> {
  abstract readonly backendName: string;
  readonly #binding: NativeSelectorBinding;
  readonly #map = new Map<number, SelectorKey<T>>();
  #ready = new Int32Array(MIN_PAIRS * 2);
  #closed = false;

  protected constructor(binding: NativeSelectorBinding) {
    this.#binding = binding;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get readyBuffer(): Int32Array {
    return this.#ready;
  }

  /** The kernel object's fd, or -1 for backends that have none. */
  fileno(): number {
    this.#checkOpen();
    return this.#binding.fileno();
  }

  register(fileobj: FileObject, events: number, data?: T): SelectorKey<T> {
    this.#checkOpen();
    checkEvents(events);
    const fd = fileobjToFd(fileobj);
    if (this.#map.has(fd)) {
      throw new KeyError(`${describeFileobj(fileobj)} (fd ${fd}) is already registered`);
    }
    callNative(() => this.#binding.add(fd, events));
    const key: SelectorKey<T> = Object.freeze({ fileobj, fd, events, data: data as T });
    this.#map.set(fd, key);
    this.#growReadyBuffer();
    return key;
  }

  unregister(fileobj: FileObject): SelectorKey<T> {
    this.#checkOpen();
    const key = this.#lookup(fileobj);
    this.#map.delete(key.fd);
    try {
      this.#binding.remove(key.fd);
    } catch (error) {
      // The fd may have been closed since it was registered; the kernel has
      // already dropped it then (as CPython's selectors ignore this OSError).
      const typed = toOSError(error);
      if (!OSError.isInstance(typed)) throw typed;
    }
    return key;
  }

  modify(fileobj: FileObject, events: number, data?: T): SelectorKey<T> {
    this.#checkOpen();
    checkEvents(events);
    const key = this.#lookup(fileobj);
    if (events !== key.events) {
      try {
        this.#binding.modify(key.fd, events);
      } catch (error) {
        const typed = toOSError(error);
        // The fd was closed and its number reused: register the new file
        // afresh instead of failing (CPython raises FileNotFoundError here).
        if (OSError.isInstance(typed) && (typed.code === 'ENOENT' || typed.code === 'EBADF')) {
          callNative(() => this.#binding.add(key.fd, events));
        } else {
          throw typed;
        }
      }
    }
    const next: SelectorKey<T> = Object.freeze({ fileobj, fd: key.fd, events, data: data as T });
    this.#map.set(key.fd, next);
    return next;
  }

  selectInto(timeout?: number | null): number {
    this.#checkOpen();
    return callNative(() => this.#binding.wait(this.#ready, timeoutToMs(timeout)));
  }

  select(timeout?: number | null): Array<[SelectorKey<T>, number]> {
    const count = this.selectInto(timeout);
    const ready: Array<[SelectorKey<T>, number]> = [];
    const buffer = this.#ready;
    for (let i = 0; i < count; i++) {
      const key = this.#map.get(buffer[2 * i]!);
      if (key === undefined) continue;
      const events = buffer[2 * i + 1]! & key.events;
      if (events !== 0) ready.push([key, events]);
    }
    return ready;
  }

  getKey(fileobj: FileObject): SelectorKey<T> {
    this.#checkOpen();
    return this.#lookup(fileobj);
  }

  getMap(): ReadonlyMap<number, SelectorKey<T>> {
    this.#checkOpen();
    return this.#map;
  }

  watch(onReady: () => void): void {
    this.#checkOpen();
    if (typeof onReady !== 'function') throw new TypeError('onReady must be a function');
    callNative(() => this.#binding.watch(onReady));
  }

  unwatch(): void {
    if (this.#closed) return;
    this.#binding.unwatch();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#map.clear();
    this.#binding.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new RuntimeError(`${this.backendName} selector is closed`);
  }

  #lookup(fileobj: FileObject): SelectorKey<T> {
    let fd: number | undefined;
    try {
      fd = fileobjToFd(fileobj);
    } catch (error) {
      // A closed object's fileno() may throw: find it by identity, as Python does.
      for (const key of this.#map.values()) {
        if (key.fileobj === fileobj) return key;
      }
      throw error;
    }
    const key = this.#map.get(fd);
    if (key === undefined) throw new KeyError(`${describeFileobj(fileobj)} (fd ${fd}) is not registered`);
    return key;
  }

  #growReadyBuffer(): void {
    const wanted = Math.min(MAX_PAIRS, Math.max(MIN_PAIRS, this.#map.size));
    if (wanted * 2 > this.#ready.length) {
      let pairs = this.#ready.length / 2;
      while (pairs < wanted) pairs *= 2;
      this.#ready = new Int32Array(Math.min(MAX_PAIRS, pairs) * 2);
    }
  }
}

function describeFileobj(fileobj: FileObject): string {
  return typeof fileobj === 'number' ? 'fd' : 'file object';
}

function checkEvents(events: number): void {
  if (typeof events !== 'number' || !Number.isInteger(events) || events === 0 || (events & ~VALID_EVENTS) !== 0) {
    throw new RangeError(`Invalid events: ${String(events)} (expected EVENT_READ, EVENT_WRITE or both)`);
  }
}

/** Python's timeout rules, in milliseconds for the native wait: -1 forever, else rounded up. */
export function timeoutToMs(timeout: number | null | undefined): number {
  if (timeout === null || timeout === undefined) return -1;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) throw new TypeError(`timeout must be a number or null, got ${typeof timeout}`);
  if (timeout <= 0) return 0;
  if (timeout === Number.POSITIVE_INFINITY) return -1;
  const ms = Math.ceil(timeout * 1e3);
  return ms > 0x7fffffff ? 0x7fffffff : ms;
}

function callNative<R>(fn: () => R): R {
  try {
    return fn();
  } catch (error) {
    throw toOSError(error);
  }
}
