import { KeyError, NotImplementedError, OSError, RuntimeError, toOSError } from './errors.js';

/** The file object is ready for reading (or has been closed by the peer). */
export const EVENT_READ = 1 as const;
/** The file object is ready for writing. */
export const EVENT_WRITE = 2 as const;
/**
 * Urgent data is waiting (TCP out-of-band data, read with `MSG_OOB`) or an
 * exceptional condition holds (a GPIO edge in sysfs, a PTY packet-mode
 * change): epoll's `EPOLLPRI`, poll's `POLLPRI`, select's `exceptfds`. Not in
 * asyncio. A selector that cannot watch for it (`supportsPriority` false)
 * refuses it with `NotImplementedError`.
 */
export const EVENT_PRIORITY = 4 as const;

/** A plain fd, or anything with a `fileno()` method (a `Socket`, a pipe end). */
export type FileObject = number | { fileno(): number };

/** What a selector keeps for each registered file object (Python's `SelectorKey`). */
export interface SelectorKey<T = unknown> {
  readonly fileobj: FileObject;
  readonly fd: number;
  /** A mask of `EVENT_READ`, `EVENT_WRITE` and `EVENT_PRIORITY`, never 0. */
  readonly events: number;
  readonly data: T;
}

/**
 * Python's `selectors.BaseSelector`, level-triggered.
 *
 * Behaviour every backend must have:
 * - `register` throws `RangeError` for an event mask that is 0 or has bits other
 *   than `EVENT_READ | EVENT_WRITE | EVENT_PRIORITY` (`NotImplementedError` for
 *   `EVENT_PRIORITY` where `supportsPriority` is false), `RangeError` for a negative or non-integer
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
  /** Whether `EVENT_PRIORITY` can be registered (missing: no). */
  readonly supportsPriority?: boolean;
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

  /**
   * Called when the selector finds that the file behind a registration is
   * gone: its fd was closed (or closed and reused by another file) without
   * `unregister`, while the kernel kept reporting it (epoll keeps a
   * registration alive for as long as a `dup()` of the fd is open). The key
   * has been dropped from the map and the kernel set rebuilt without it, so
   * nothing spins; the loop sets this to warn in debug mode. Optional: a
   * selector that cannot detect this leaves it undefined.
   */
  onDeadRegistration?: ((key: SelectorKey) => void) | null;
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
  /** POSIX: `"st_dev:st_ino"` of the file behind `fd` (fstat); throws EBADF for a closed fd. */
  identity?(fd: number): string;
}

const VALID_EVENTS = EVENT_READ | EVENT_WRITE | EVENT_PRIORITY;
const MIN_PAIRS = 64;
const MAX_PAIRS = 8192;
/**
 * Every this many `selectInto` calls that find events, each fd they report is
 * checked (a `modify` with its own events: one cheap syscall on epoll) to
 * find registrations whose file is gone. A dead registration that keeps
 * firing is found within this many iterations; a busy loop pays one check
 * per ready fd per this many iterations.
 */
export const DEAD_REGISTRATION_CHECK_INTERVAL = 128;
/** Stale-registration suspects kept before the kernel set is rebuilt anyway. */
const MAX_STALE_SUSPECTS = 1024;

/** Options of {@link NativeSelector}'s constructor. */
export interface NativeSelectorOptions {
  /**
   * Open a fresh binding. Backends whose kernel object keeps registrations
   * by open file rather than by fd number (epoll) pass it, so a registration
   * whose fd was closed while a duplicate keeps the file open can be dropped
   * by rebuilding the kernel set: `epoll_ctl(DEL)` cannot reach it any more.
   */
  reopen?: () => NativeSelectorBinding;
  /** The native code maps `EVENT_PRIORITY` (EPOLLPRI, POLLPRI, exceptfds); without it, it is a NotImplementedError. */
  priority?: boolean;
  /**
   * The backend watches by fd number (poll, select): remember each
   * registration's file identity (`binding.identity`, fstat's device and
   * inode) and, when the periodic dead-registration check finds the number
   * names another file now (closed and reused without `unregister`), drop it.
   */
  checksIdentity?: boolean;
}

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
  onDeadRegistration: ((key: SelectorKey) => void) | null = null;
  #binding: NativeSelectorBinding;
  readonly #reopen: (() => NativeSelectorBinding) | undefined;
  readonly #map = new Map<number, SelectorKey<T>>();
  #ready = new Int32Array(MIN_PAIRS * 2);
  #closed = false;
  #onReady: (() => void) | null = null;
  #callsWithEvents = 0;
  /**
   * Fds whose removal from the kernel failed (closed, or closed and reused,
   * before `unregister`): if a duplicate keeps the old file open, the kernel
   * still reports it under that number. Only kept with `reopen`.
   */
  readonly #staleSuspects = new Set<number>();
  /** File identities at register time, with `checksIdentity` (null: not checked). */
  readonly #identities: Map<number, string> | null;

  protected constructor(binding: NativeSelectorBinding, options: NativeSelectorOptions = {}) {
    this.#binding = binding;
    this.#reopen = options.reopen;
    this.#identities = options.checksIdentity === true && typeof binding.identity === 'function' ? new Map() : null;
    this.supportsPriority = options.priority === true;
  }

  /** Whether `EVENT_PRIORITY` can be watched on this backend. */
  readonly supportsPriority: boolean;

  #checkEvents(events: number): void {
    checkEvents(events);
    if ((events & EVENT_PRIORITY) !== 0 && !this.supportsPriority) {
      throw new NotImplementedError(`the ${this.backendName} selector cannot watch for priority (out-of-band) data (EVENT_PRIORITY)`);
    }
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
    this.#checkEvents(events);
    const fd = fileobjToFd(fileobj);
    if (this.#map.has(fd)) {
      throw new KeyError(`${describeFileobj(fileobj)} (fd ${fd}) is already registered`);
    }
    // A stale registration of an old file under this number would report
    // its events as the new file's: drop it first.
    if (this.#staleSuspects.has(fd)) this.#rebuild();
    callNative(() => this.#binding.add(fd, events));
    const key: SelectorKey<T> = Object.freeze({ fileobj, fd, events, data: data as T });
    this.#map.set(fd, key);
    this.#rememberIdentity(fd);
    this.#growReadyBuffer();
    return key;
  }

  unregister(fileobj: FileObject): SelectorKey<T> {
    this.#checkOpen();
    const key = this.#lookup(fileobj);
    this.#map.delete(key.fd);
    this.#identities?.delete(key.fd);
    try {
      this.#binding.remove(key.fd);
    } catch (error) {
      // The fd may have been closed since it was registered; the kernel has
      // already dropped it then (as CPython's selectors ignore this OSError),
      // unless a duplicate keeps the file open: remember the number.
      const typed = toOSError(error);
      if (!OSError.isInstance(typed)) throw typed;
      this.#suspect(key.fd);
      // With nothing left registered the loop stops calling selectInto, where
      // a stale registration would be found; an empty set costs nothing to
      // rebuild, so do it now.
      if (this.#map.size === 0) this.#rebuild();
    }
    return key;
  }

  modify(fileobj: FileObject, events: number, data?: T): SelectorKey<T> {
    this.#checkOpen();
    this.#checkEvents(events);
    const key = this.#lookup(fileobj);
    if (events !== key.events) {
      try {
        this.#binding.modify(key.fd, events);
      } catch (error) {
        const typed = toOSError(error);
        // The fd was closed and its number reused: register the new file
        // afresh instead of failing (CPython raises FileNotFoundError here),
        // in a rebuilt kernel set when the old file may still be registered.
        if (OSError.isInstance(typed) && (typed.code === 'ENOENT' || typed.code === 'EBADF')) {
          this.#map.delete(key.fd);
          if (this.#reopen !== undefined) this.#rebuild();
          try {
            callNative(() => this.#binding.add(key.fd, events));
          } catch (addError) {
            this.#map.set(key.fd, key);
            throw addError;
          }
          this.#rememberIdentity(key.fd);
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
    let count = callNative(() => this.#binding.wait(this.#ready, timeoutToMs(timeout)));
    if (count === 0) return 0;
    if (this.#staleSuspects.size > 0 && this.#reportsStale(count)) {
      // The kernel reported a file we no longer know: its registration
      // outlived its fd. Rebuild without it and look again, without waiting.
      this.#rebuild();
      count = callNative(() => this.#binding.wait(this.#ready, 0));
    }
    if (++this.#callsWithEvents % DEAD_REGISTRATION_CHECK_INTERVAL === 0) count = this.#dropDeadRegistrations(count);
    return count;
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
    this.#onReady = onReady;
  }

  unwatch(): void {
    if (this.#closed) return;
    this.#onReady = null;
    this.#binding.unwatch();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#map.clear();
    this.#staleSuspects.clear();
    this.#identities?.clear();
    this.#onReady = null;
    this.#binding.close();
  }

  #rememberIdentity(fd: number): void {
    if (this.#identities === null) return;
    try {
      this.#identities.set(fd, this.#binding.identity!(fd));
    } catch {
      this.#identities.delete(fd);
    }
  }

  /** Whether `key`'s fd still names the file it was registered with (true when not tracked). */
  #sameFile(key: SelectorKey<T>): boolean {
    const expected = this.#identities?.get(key.fd);
    if (expected === undefined) return true;
    try {
      return this.#binding.identity!(key.fd) === expected;
    } catch {
      return false;
    }
  }

  #suspect(fd: number): void {
    if (this.#reopen === undefined) return;
    this.#staleSuspects.add(fd);
    if (this.#staleSuspects.size > MAX_STALE_SUSPECTS) this.#rebuild();
  }

  /** Whether the last wait reported an fd that was unregistered after its removal failed. */
  #reportsStale(count: number): boolean {
    const buffer = this.#ready;
    for (let i = 0; i < count; i++) {
      const fd = buffer[2 * i]!;
      if (this.#staleSuspects.has(fd) && !this.#map.has(fd)) return true;
    }
    return false;
  }

  /**
   * Check each registered fd among the `count` reported pairs with a
   * `modify` to its own events: EBADF (closed) or ENOENT (the number now
   * names another file) means the registration belongs to a file that is
   * gone. Those keys are dropped, the kernel set rebuilt, their pairs removed
   * from the buffer, and `onDeadRegistration` told. Returns the new count.
   */
  #dropDeadRegistrations(count: number): number {
    const buffer = this.#ready;
    let dead: Array<SelectorKey<T>> | null = null;
    for (let i = 0; i < count; i++) {
      const key = this.#map.get(buffer[2 * i]!);
      if (key === undefined) continue;
      if (!this.#sameFile(key)) {
        // Watched by number (poll, select): the number names another file now.
        if (!(dead ??= []).includes(key)) dead.push(key);
        continue;
      }
      try {
        this.#binding.modify(key.fd, key.events);
      } catch (error) {
        const typed = toOSError(error);
        if (!OSError.isInstance(typed) || (typed.code !== 'EBADF' && typed.code !== 'ENOENT')) continue;
        (dead ??= []).push(key);
      }
    }
    if (dead === null) return count;
    for (const key of dead) {
      this.#map.delete(key.fd);
      this.#identities?.delete(key.fd);
      if (this.#reopen === undefined) {
        try {
          // By number: this drops the old registration (the new file was never registered).
          this.#binding.remove(key.fd);
        } catch {
          // closed since: nothing is registered under it any more
        }
      }
    }
    if (this.#reopen !== undefined) this.#rebuild();
    let kept = 0;
    for (let i = 0; i < count; i++) {
      if (!this.#map.has(buffer[2 * i]!)) continue;
      buffer[2 * kept] = buffer[2 * i]!;
      buffer[2 * kept + 1] = buffer[2 * i + 1]!;
      kept++;
    }
    const listener = this.onDeadRegistration;
    if (typeof listener === 'function') {
      for (const key of dead) listener(key);
    }
    return kept;
  }

  /**
   * A fresh kernel set holding only the registrations in the map: the one
   * way to drop a registration the kernel keeps for a file whose fd is
   * closed. Keys whose fd is gone too are dropped on the way. The guest-loop
   * watch moves to the new set.
   */
  #rebuild(): void {
    this.#staleSuspects.clear();
    if (this.#reopen === undefined) return;
    const fresh = callNative(() => this.#reopen!());
    const dead: Array<SelectorKey<T>> = [];
    try {
      for (const key of this.#map.values()) {
        try {
          fresh.add(key.fd, key.events);
        } catch (error) {
          const typed = toOSError(error);
          if (!OSError.isInstance(typed) || (typed.code !== 'EBADF' && typed.code !== 'ENOENT')) throw typed;
          dead.push(key);
        }
      }
      if (this.#onReady !== null) callNative(() => fresh.watch(this.#onReady!));
    } catch (error) {
      fresh.close();
      throw error;
    }
    const old = this.#binding;
    this.#binding = fresh;
    if (this.#onReady !== null) old.unwatch();
    old.close();
    for (const key of dead) this.#map.delete(key.fd);
    const listener = this.onDeadRegistration;
    if (typeof listener === 'function') {
      for (const key of dead) listener(key);
    }
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
    throw new RangeError(`Invalid events: ${String(events)} (expected a mask of EVENT_READ, EVENT_WRITE and EVENT_PRIORITY)`);
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
