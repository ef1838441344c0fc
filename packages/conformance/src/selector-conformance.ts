/**
 * The selector conformance suite: the scenarios of CPython's
 * `Lib/test/test_selectors.py` (`BaseSelectorTestCase`,
 * `ScalableSelectorMixIn`) plus the guest-loop `watch()` contract, declared as
 * vitest blocks. Each backend calls `runSelectorConformance` from its
 * `test/conformance.test.ts`; what a backend cannot do is a feature flag, and
 * every skipped test says why in its name.
 */
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sys from '@evloop/sys';
import { DEAD_REGISTRATION_CHECK_INTERVAL, EVENT_PRIORITY, EVENT_READ, EVENT_WRITE, KeyError, NotImplementedError, OSError, RuntimeError, type BaseSelector, type FileObject, type SelectorKey } from '@evloop/interface';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** What a backend can and cannot do; every flag defaults to the common case. */
export interface SelectorFeatures {
  /**
   * Registering a regular file works and it is always ready (poll, select).
   * When false the kernel refuses it and `register` throws its `OSError`
   * (epoll: `EPERM`). Default false.
   */
  pollsRegularFiles?: boolean;
  /** The selector handles more fds than `FD_SETSIZE` (1024). Default true; false for select. */
  scalesBeyondFdSetsize?: boolean;
  /** Pipes can be registered (false for select on Windows, sockets only). Default true. */
  pollsPipes?: boolean;
  /** `fileno()` returns the kernel object's fd (epoll, kqueue); else -1. Default false. */
  hasKernelFd?: boolean;
  /** A POSIX signal interrupts a blocking wait, which must retry (EINTR). Default: not on Windows. */
  signals?: boolean;
  /**
   * The backend watches by fd number and checks file identity (fstat's
   * device and inode) to drop a registration whose fd was closed and reused
   * by another file without `unregister` (poll, select). Default false.
   */
  checksFileIdentity?: boolean;
}

export interface SelectorConformanceOptions {
  /** The backend name: shown in the describe block and checked against `selector.backendName`. */
  name: string;
  /** Makes a fresh, open selector. */
  create: () => BaseSelector;
  features?: SelectorFeatures;
  /**
   * URL of the backend's built entry (a module that exports `backend`), for
   * the checks that need a separate process (does `unwatch()` let Node exit?).
   * Those checks are skipped, saying so, when it is missing or not built.
   */
  entryUrl?: string | URL;
  /** How many socket pairs the many-fds test opens. Default 1000. */
  manyFdsPairs?: number;
  /**
   * Timing tolerances in milliseconds: how much earlier than its timeout a
   * wait may return (default 2; a platform whose timers fire up to a tick
   * early may need more), and how much later (default 3000).
   */
  timing?: { earlyMs?: number; lateMs?: number };
  /**
   * Where the tests' pipes and socket pairs come from, for a selector of
   * files that are not the kernel's (core-policy's `MemorySelector`):
   * default, real ones from `@evloop/sys`. `why` says why the
   * child-process checks cannot run (the files exist in this process only).
   */
  files?: { pipe(): [TestFile, TestFile]; socketPair(): [TestFile, TestFile]; why: string };
}

/** A pipe end or socket the suite can use instead of `@evloop/sys`'s: reads throw EAGAIN when empty and give an empty array at EOF. */
export interface TestFile {
  fileno(): number;
  read(size: number): Uint8Array;
  write(data: Uint8Array): number;
  close(): void;
}

function testFileEndpoint(file: TestFile): Endpoint {
  const fd = file.fileno();
  let closed = false;
  return {
    fd,
    fileobj: file,
    send: (data) => file.write(data),
    recv: (size) => file.read(size),
    close() {
      if (closed) return;
      closed = true;
      file.close();
    },
    get closed() {
      return closed;
    },
  };
}

// ---------------------------------------------------------------------------
// File descriptors for the tests.

/** One end of a pipe or a socket pair, the way the tests use it. */
interface Endpoint {
  readonly fd: number;
  /** What is registered: the `Socket` itself, or an object with `fileno()`. */
  readonly fileobj: FileObject;
  send(data: Uint8Array): number;
  /** Reads up to `size` bytes; an empty array at EOF; throws EAGAIN when nothing is there. */
  recv(size: number): Uint8Array;
  close(): void;
  readonly closed: boolean;
}

function fdEndpoint(fd: number): Endpoint {
  let closed = false;
  return {
    fd,
    fileobj: { fileno: () => (closed ? -1 : fd) },
    send: (data) => sys.write(fd, data),
    recv: (size) => sys.read(fd, size),
    close() {
      if (closed) return;
      closed = true;
      sys.close(fd);
    },
    get closed() {
      return closed;
    },
  };
}

function socketEndpoint(socket: sys.Socket): Endpoint {
  const fd = socket.fileno();
  socket.setBlocking(false);
  let closed = false;
  return {
    fd,
    fileobj: socket,
    send: (data) => socket.send(data),
    recv: (size) => socket.recv(size),
    close() {
      if (closed) return;
      closed = true;
      socket.close();
    },
    get closed() {
      return closed;
    },
  };
}

/** A non-blocking pipe: `[readEnd, writeEnd]`, registered by a `fileno()` object. */
function openPipe(): [Endpoint, Endpoint] {
  const [readFd, writeFd] = sys.pipe();
  return [fdEndpoint(readFd), fdEndpoint(writeFd)];
}

/** A connected pair of non-blocking Unix stream sockets, registered as `Socket`s. */
function openSocketPair(): [Endpoint, Endpoint] {
  const [a, b] = sys.socketpair();
  return [socketEndpoint(a), socketEndpoint(b)];
}

// ---------------------------------------------------------------------------
// Leak checks and small helpers.

function openFds(): string[] | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return readdirSync('/proc/self/fd');
  } catch {
    return undefined;
  }
}

function describeFds(fds: string[]): string {
  return fds
    .map((fd) => {
      try {
        return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
      } catch {
        return fd;
      }
    })
    .join(', ');
}

/** The soft RLIMIT_NOFILE, or undefined when it cannot be read. */
function softFdLimit(): number | undefined {
  try {
    if (process.platform === 'linux') {
      const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
      if (match) return match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
    }
    if (process.platform !== 'win32') {
      const text = execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim();
      return text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text);
    }
  } catch {
    // fall through
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `predicate` holds, polling Node's loop; rejects after `ms`. */
async function waitUntil(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

const MESSAGE = new TextEncoder().encode(' This is a test.');
const BYTE = new Uint8Array([120]);

/** Default wall-clock bounds: early by at most a clock tick, late by a lot (wine is ~3x slower). */
const DEFAULT_EARLY_MS = 2;
const DEFAULT_LATE_MS = 3000;

function eventsOf(result: Array<[SelectorKey, number]>, fd: number): number {
  let events = 0;
  for (const [key, ready] of result) if (key.fd === fd) events |= ready;
  return events;
}

function pairsOf(selector: BaseSelector, count: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) pairs.push([selector.readyBuffer[2 * i]!, selector.readyBuffer[2 * i + 1]!]);
  return pairs;
}

/** `it`, or `it.skip` with the reason in the test's name. */
function itUnless(skip: string | false, title: string, fn: () => unknown): void {
  if (skip) it.skip(`${title} (skipped: ${skip})`, fn);
  else it(title, fn);
}

// ---------------------------------------------------------------------------

/** Declares the selector conformance tests for one backend. */
export function runSelectorConformance(options: SelectorConformanceOptions): void {
  const features = {
    pollsRegularFiles: false,
    scalesBeyondFdSetsize: true,
    pollsPipes: true,
    hasKernelFd: false,
    signals: process.platform !== 'win32',
    ...options.features,
  };
  const noPipes = features.pollsPipes ? false : 'this backend cannot poll pipes';
  const EARLY_MS = options.timing?.earlyMs ?? DEFAULT_EARLY_MS;
  const LATE_MS = options.timing?.lateMs ?? DEFAULT_LATE_MS;

  describe(`selector conformance: ${options.name}`, () => {
    let cleanups: Array<() => void> = [];
    let fdsBefore: string[] | undefined;

    const defer = (cleanup: () => void): void => {
      cleanups.push(cleanup);
    };
    const open = (): BaseSelector => {
      const selector = options.create();
      defer(() => selector.close());
      return selector;
    };
    const files = options.files;
    const pipe = (): [Endpoint, Endpoint] => {
      const ends = files === undefined ? openPipe() : (files.pipe().map(testFileEndpoint) as [Endpoint, Endpoint]);
      for (const end of ends) defer(() => end.close());
      return ends;
    };
    const socketpair = (): [Endpoint, Endpoint] => {
      const ends = files === undefined ? openSocketPair() : (files.socketPair().map(testFileEndpoint) as [Endpoint, Endpoint]);
      for (const end of ends) defer(() => end.close());
      return ends;
    };

    beforeEach(() => {
      cleanups = [];
      fdsBefore = openFds();
    });

    afterEach(async () => {
      const errors: unknown[] = [];
      for (const cleanup of cleanups.reverse()) {
        try {
          cleanup();
        } catch (error) {
          errors.push(error);
        }
      }
      cleanups = [];
      if (errors.length > 0) throw errors[0];
      if (fdsBefore === undefined) return;
      const before = new Set(fdsBefore);
      let leaked = (openFds() ?? []).filter((fd) => !before.has(fd));
      if (leaked.length > 0) {
        // Give asynchronous closes (libuv handles) a turn of the loop.
        await sleep(50);
        leaked = (openFds() ?? []).filter((fd) => !before.has(fd));
      }
      expect(leaked.length === 0 ? '' : `leaked fds: ${describeFds(leaked)}`).toBe('');
    });

    describe('register, unregister, modify', () => {
      it('register returns a key with fileobj, fd, events and data', () => {
        const selector = open();
        const [reader] = socketpair();
        const key = selector.register(reader.fileobj, EVENT_READ, 'data');
        expect(key.fileobj).toBe(reader.fileobj);
        expect(key.fd).toBe(reader.fd);
        expect(key.events).toBe(EVENT_READ);
        expect(key.data).toBe('data');
        expect(selector.backendName).toBe(options.name);
      });

      it('register rejects an event mask of 0 or with unknown bits (RangeError)', () => {
        const selector = open();
        const [reader] = socketpair();
        expect(() => selector.register(reader.fd, 0)).toThrow(RangeError);
        expect(() => selector.register(reader.fd, 999999)).toThrow(RangeError);
        expect(() => selector.register(reader.fd, EVENT_READ | 8)).toThrow(RangeError);
        expect(() => selector.register(reader.fd, 1.5)).toThrow(RangeError);
        expect(selector.getMap().size).toBe(0);
      });

      it('register rejects a negative or non-integer fd (RangeError) and an object without fileno() (TypeError)', () => {
        const selector = open();
        expect(() => selector.register(-10, EVENT_READ)).toThrow(RangeError);
        expect(() => selector.register(1.5, EVENT_READ)).toThrow(RangeError);
        expect(() => selector.register({ fileno: () => -1 }, EVENT_READ)).toThrow(RangeError);
        expect(() => selector.register({} as unknown as FileObject, EVENT_READ)).toThrow(TypeError);
        expect(() => selector.register('3' as unknown as FileObject, EVENT_READ)).toThrow(TypeError);
        expect(() => selector.register(null as unknown as FileObject, EVENT_READ)).toThrow(TypeError);
        expect(selector.getMap().size).toBe(0);
      });

      it('register twice, by object or by fd number, throws KeyError', () => {
        const selector = open();
        const [reader] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        expect(() => selector.register(reader.fileobj, EVENT_READ)).toThrow(KeyError);
        expect(() => selector.register(reader.fd, EVENT_WRITE)).toThrow(KeyError);
        expect(KeyError.isInstance(catchError(() => selector.register(reader.fd, EVENT_READ)))).toBe(true);
      });

      it('unregister returns the key; an unknown or already unregistered file object throws KeyError', () => {
        const selector = open();
        const [reader] = socketpair();
        const key = selector.register(reader.fileobj, EVENT_READ);
        expect(selector.unregister(reader.fileobj)).toBe(key);
        expect(() => selector.unregister(999999)).toThrow(KeyError);
        expect(() => selector.unregister(reader.fileobj)).toThrow(KeyError);
        expect(selector.getMap().size).toBe(0);
      });

      it('unregister after the fd was closed succeeds (by fd number)', () => {
        const selector = open();
        const [a, b] = socketpair();
        selector.register(a.fd, EVENT_READ);
        selector.register(b.fd, EVENT_WRITE);
        a.close();
        b.close();
        selector.unregister(a.fd);
        selector.unregister(b.fd);
        expect(selector.getMap().size).toBe(0);
      });

      it('unregister after the file object was closed succeeds (found by identity)', () => {
        const selector = open();
        const [a, b] = socketpair();
        selector.register(a.fileobj, EVENT_READ);
        selector.register(b.fileobj, EVENT_WRITE);
        a.close();
        b.close();
        selector.unregister(a.fileobj);
        selector.unregister(b.fileobj);
        expect(selector.getMap().size).toBe(0);
      });

      itUnless(noPipes, 'an fd closed without unregister and reused by a new file can be unregistered, modified and registered again', () => {
        const selector = open();
        const [reader] = pipe();
        const fd = reader.fd;
        selector.register(fd, EVENT_READ, 'old');
        reader.close();
        const reused = reopenFd(fd, pipe);
        // modify with new events reaches the kernel for a file it has never seen
        const key = selector.modify(fd, EVENT_READ | EVENT_WRITE, 'new');
        expect(key.data).toBe('new');
        reused.writer.send(BYTE);
        expect(eventsOf(selector.select(0), fd)).toBe(reused.reader.fd === fd ? EVENT_READ : EVENT_WRITE);
        // unregister and register again
        selector.unregister(fd);
        selector.register(fd, EVENT_READ | EVENT_WRITE);
        expect(eventsOf(selector.select(0), fd)).not.toBe(0);
        selector.unregister(fd);
      });

      it('modify changes the events and returns the new key', () => {
        const selector = open();
        const [reader] = socketpair();
        const key = selector.register(reader.fileobj, EVENT_READ);
        const key2 = selector.modify(reader.fileobj, EVENT_WRITE);
        expect(key2.events).toBe(EVENT_WRITE);
        expect(key2).not.toBe(key);
        expect(selector.getKey(reader.fileobj)).toBe(key2);
        expect(eventsOf(selector.select(0), reader.fd)).toBe(EVENT_WRITE);
      });

      it('modify with the same events replaces data without a syscall', () => {
        const selector = open();
        const [reader] = socketpair();
        const first = {};
        const second = {};
        const key = selector.register(reader.fd, EVENT_READ, first);
        // Once the fd is closed any syscall on it would fail with EBADF, so
        // this succeeding shows modify() only touched the key.
        reader.close();
        const key2 = selector.modify(reader.fd, EVENT_READ, second);
        expect(key2.events).toBe(key.events);
        expect(key2.data).toBe(second);
        expect(selector.getKey(reader.fd)).toBe(key2);
        selector.unregister(reader.fd);
      });

      it('modify checks its arguments and throws KeyError for an unregistered file object', () => {
        const selector = open();
        const [reader] = socketpair();
        expect(() => selector.modify(999999, EVENT_READ)).toThrow(KeyError);
        expect(() => selector.modify(reader.fileobj, EVENT_READ)).toThrow(KeyError);
        selector.register(reader.fileobj, EVENT_READ);
        expect(() => selector.modify(reader.fileobj, 0)).toThrow(RangeError);
        expect(() => selector.modify(reader.fileobj, 8)).toThrow(RangeError);
        expect(selector.getKey(reader.fileobj).events).toBe(EVENT_READ);
      });

      it('a regular file ' + (features.pollsRegularFiles ? 'can be registered and is always ready' : 'is refused with the OSError the kernel gave'), () => {
        const selector = open();
        const directory = mkdtempSync(join(tmpdir(), 'evloop-selector-file-'));
        const fd = openSync(join(directory, 'file'), 'w+');
        defer(() => rmSync(directory, { recursive: true, force: true }));
        defer(() => closeSync(fd));
        if (features.pollsRegularFiles) {
          selector.register(fd, EVENT_READ | EVENT_WRITE);
          expect(eventsOf(selector.select(0), fd)).not.toBe(0);
          selector.unregister(fd);
        } else {
          const error = catchError(() => selector.register(fd, EVENT_READ));
          expect(OSError.isInstance(error)).toBe(true);
          expect(selector.getMap().has(fd)).toBe(false);
        }
      });
    });

    describe('getKey, getMap, close', () => {
      it('getKey returns the registered key and throws KeyError for an unknown file object', () => {
        const selector = open();
        const [reader] = socketpair();
        const key = selector.register(reader.fileobj, EVENT_READ, 'data');
        expect(selector.getKey(reader.fileobj)).toBe(key);
        expect(selector.getKey(reader.fd)).toBe(key);
        expect(() => selector.getKey(999999)).toThrow(KeyError);
      });

      it('getMap is a live read-only view keyed by fd', () => {
        const selector = open();
        const [reader] = socketpair();
        const map = selector.getMap();
        expect(map.size).toBe(0);
        expect([...map.keys()]).toEqual([]);
        const key = selector.register(reader.fileobj, EVENT_READ, 'data');
        expect(map.size).toBe(1);
        expect(map.has(reader.fd)).toBe(true);
        expect(map.get(reader.fd)).toBe(key);
        expect([...map.keys()]).toEqual([reader.fd]);
        expect([...map.values()]).toEqual([key]);
        expect(map.get(999999)).toBeUndefined();
        selector.unregister(reader.fileobj);
        expect(map.size).toBe(0);
      });

      it('after close every method throws RuntimeError, the old map is empty, and close again is fine', () => {
        const selector = open();
        const [a, b] = socketpair();
        const map = selector.getMap();
        selector.register(a.fileobj, EVENT_READ);
        selector.register(b.fileobj, EVENT_WRITE);
        expect(selector.closed).toBe(false);
        selector.close();
        expect(selector.closed).toBe(true);
        expect(map.size).toBe(0);
        for (const call of [
          () => selector.getKey(a.fileobj),
          () => selector.getMap(),
          () => selector.register(a.fileobj, EVENT_READ),
          () => selector.unregister(b.fileobj),
          () => selector.modify(b.fileobj, EVENT_READ),
          () => selector.select(0),
          () => selector.selectInto(0),
          () => selector.watch(() => {}),
        ]) {
          const error = catchError(call);
          expect(RuntimeError.isInstance(error), String(error)).toBe(true);
        }
        selector.close();
      });

      it(features.hasKernelFd ? 'fileno() returns the kernel object fd' : 'fileno() returns -1 without a kernel object', () => {
        const selector = open() as BaseSelector & { fileno?: () => number };
        if (typeof selector.fileno !== 'function') return;
        const fd = selector.fileno();
        expect(Number.isInteger(fd)).toBe(true);
        if (features.hasKernelFd) expect(fd).toBeGreaterThanOrEqual(0);
        else expect(fd).toBe(-1);
      });
    });

    describe('select', () => {
      it('reports a writable socket and not an idle reader', () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        const writerKey = selector.register(writer.fileobj, EVENT_WRITE);
        const result = selector.select();
        for (const [key, events] of result) {
          expect(events).not.toBe(0);
          expect(events & ~(EVENT_READ | EVENT_WRITE)).toBe(0);
          expect(events & ~key.events).toBe(0);
        }
        expect(result).toEqual([[writerKey, EVENT_WRITE]]);
      });

      it('reports read and write for one fd in the same call (gh-110038)', () => {
        const selector = open();
        const [a, b] = socketpair();
        b.send(new TextEncoder().encode('foo'));
        const key = selector.register(a.fileobj, EVENT_READ | EVENT_WRITE);
        const result = selector.select();
        expect(result.length).toBeLessThanOrEqual(2);
        let read = 0;
        let write = 0;
        for (const [resultKey, events] of result) {
          expect(resultKey).toBe(key);
          if (events & EVENT_READ) read++;
          if (events & EVENT_WRITE) write++;
        }
        expect([read, write]).toEqual([1, 1]);
      });

      it('select with no fds registered returns an empty list', () => {
        const selector = open();
        expect(selector.select(0)).toEqual([]);
        expect(selector.select(-1)).toEqual([]);
        expect(selector.selectInto(0)).toBe(0);
      });

      it('a zero or negative timeout polls without waiting', () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(writer.fileobj, EVENT_WRITE);
        let start = performance.now();
        expect(selector.select(0)).toHaveLength(1);
        expect(selector.select(-1)).toHaveLength(1);
        expect(performance.now() - start).toBeLessThan(500);
        selector.unregister(writer.fileobj);
        selector.register(reader.fileobj, EVENT_READ);
        start = performance.now();
        expect(selector.select(0)).toEqual([]);
        expect(selector.select(-1)).toEqual([]);
        expect(performance.now() - start).toBeLessThan(500);
      });

      it('a positive timeout waits at least that long and not much longer', () => {
        const selector = open();
        const [reader] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        for (const timeout of [0.3, 0.05]) {
          const start = performance.now();
          expect(selector.select(timeout)).toEqual([]);
          const elapsed = performance.now() - start;
          expect(elapsed).toBeGreaterThanOrEqual(timeout * 1000 - EARLY_MS);
          expect(elapsed).toBeLessThan(timeout * 1000 + LATE_MS);
        }
      });

      it('a timeout below one millisecond is rounded up, not down to a poll', () => {
        const selector = open();
        const [reader] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        const start = performance.now();
        expect(selector.select(0.0004)).toEqual([]);
        expect(performance.now() - start).toBeGreaterThanOrEqual(0.4);
      });

      it('returns before the timeout once an fd is ready', () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        writer.send(BYTE);
        const start = performance.now();
        expect(eventsOf(selector.select(10), reader.fd)).toBe(EVENT_READ);
        expect(performance.now() - start).toBeLessThan(LATE_MS);
      });

      it('is level-triggered: an fd stays ready while its data is unread', () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        writer.send(MESSAGE);
        expect(eventsOf(selector.select(1), reader.fd)).toBe(EVENT_READ);
        expect(eventsOf(selector.select(0), reader.fd)).toBe(EVENT_READ);
        expect(eventsOf(selector.select(0), reader.fd)).toBe(EVENT_READ);
        expect(reader.recv(1024)).toHaveLength(MESSAGE.length);
        expect(selector.select(0)).toEqual([]);
      });

      itUnless(noPipes, 'pipe: the read end is readable once written to, the write end writable', () => {
        const selector = open();
        const [reader, writer] = pipe();
        selector.register(reader.fileobj, EVENT_READ);
        selector.register(writer.fileobj, EVENT_WRITE);
        let result = selector.select(0);
        expect(eventsOf(result, reader.fd)).toBe(0);
        expect(eventsOf(result, writer.fd)).toBe(EVENT_WRITE);
        writer.send(MESSAGE);
        result = selector.select(1);
        expect(eventsOf(result, reader.fd)).toBe(EVENT_READ);
        expect(Buffer.from(reader.recv(1024)).toString()).toBe(Buffer.from(MESSAGE).toString());
        expect(eventsOf(selector.select(0), reader.fd)).toBe(0);
      });

      itUnless(noPipes, 'pipe: closing the write end makes the read end readable (EOF)', () => {
        const selector = open();
        const [reader, writer] = pipe();
        selector.register(reader.fileobj, EVENT_READ);
        expect(selector.select(0)).toEqual([]);
        writer.close();
        expect(eventsOf(selector.select(1), reader.fd)).toBe(EVENT_READ);
        expect(reader.recv(16)).toHaveLength(0);
      });

      itUnless(noPipes, 'pipe: closing the read end wakes a writer, who then sees the error', () => {
        const selector = open();
        const [reader, writer] = pipe();
        selector.register(writer.fileobj, EVENT_WRITE);
        reader.close();
        expect(eventsOf(selector.select(1), writer.fd)).toBe(EVENT_WRITE);
      });

      it('socket pair: a peer close makes the other end readable', () => {
        const selector = open();
        const [a, b] = socketpair();
        selector.register(a.fileobj, EVENT_READ);
        expect(selector.select(0)).toEqual([]);
        b.close();
        expect(eventsOf(selector.select(1), a.fd)).toBe(EVENT_READ);
      });

      it('readiness follows unregister and modify', () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        writer.send(BYTE);
        expect(eventsOf(selector.select(0), reader.fd)).toBe(EVENT_READ);
        selector.modify(reader.fileobj, EVENT_WRITE);
        expect(eventsOf(selector.select(0), reader.fd)).toBe(EVENT_WRITE);
        selector.unregister(reader.fileobj);
        expect(selector.select(0)).toEqual([]);
      });

      it('passes messages between twelve socket pairs (CPython test_selector)', async () => {
        const selector = open();
        const readerOf = new Map<number, Endpoint>();
        const writers = new Map<number, Endpoint>();
        for (let i = 0; i < 12; i++) {
          const [reader, writer] = socketpair();
          selector.register(reader.fd, EVENT_READ);
          selector.register(writer.fd, EVENT_WRITE);
          readerOf.set(writer.fd, reader);
          writers.set(writer.fd, writer);
        }
        const received: Uint8Array[] = [];
        while (writers.size > 0) {
          const readyWriters = selector
            .select()
            .filter(([key, events]) => events & EVENT_WRITE && writers.has(key.fd))
            .map(([key]) => key.fd);
          expect(readyWriters.length).toBeGreaterThan(0);
          const writerFd = readyWriters[Math.floor(Math.random() * readyWriters.length)]!;
          writers.get(writerFd)!.send(MESSAGE);
          let readyReaders: number[] = [];
          for (let attempt = 0; attempt < 10 && readyReaders.length === 0; attempt++) {
            readyReaders = selector
              .select(0)
              .filter(([, events]) => events & EVENT_READ)
              .map(([key]) => key.fd);
            if (readyReaders.length === 0) await sleep(100);
          }
          const reader = readerOf.get(writerFd)!;
          expect(readyReaders).toEqual([reader.fd]);
          received.push(reader.recv(MESSAGE.length));
          selector.unregister(writerFd);
          selector.unregister(reader.fd);
          writers.delete(writerFd);
        }
        expect(received.map((chunk) => Buffer.from(chunk).toString())).toEqual(Array.from({ length: 12 }, () => Buffer.from(MESSAGE).toString()));
      });

      const pairs = options.manyFdsPairs ?? 1000;
      const softLimit = softFdLimit();
      const manySkip = !features.scalesBeyondFdSetsize
        ? 'this backend is limited to FD_SETSIZE'
        : softLimit === undefined
          ? 'cannot read the soft RLIMIT_NOFILE'
          : softLimit < 2 * pairs + 256
            ? `the soft RLIMIT_NOFILE (${softLimit}) is below ${2 * pairs + 256}`
            : false;
      itUnless(manySkip, `handles ${pairs} socket pairs (${2 * pairs} fds) in one selector`, () => {
        const selector = open();
        const writerFds = new Set<number>();
        for (let i = 0; i < pairs; i++) {
          const [reader, writer] = socketpair();
          selector.register(reader.fd, EVENT_READ);
          selector.register(writer.fd, EVENT_WRITE);
          writerFds.add(writer.fd);
        }
        const result = selector.select();
        expect(result).toHaveLength(pairs);
        for (const [key, events] of result) {
          expect(writerFds.has(key.fd)).toBe(true);
          expect(events).toBe(EVENT_WRITE);
        }
        // selectInto reports the same through the ready buffer, no matter its size.
        let count = 0;
        const seen = new Set<number>();
        count = selector.selectInto(0);
        expect(count).toBeGreaterThan(0);
        for (const [fd] of pairsOf(selector, count)) seen.add(fd);
        for (const fd of seen) expect(writerFds.has(fd)).toBe(true);
      });

      const signalSkip = features.signals ? false : 'no POSIX signals on this platform';
      itUnless(signalSkip, 'a signal during a blocking wait is retried with the remaining time, never thrown (EINTR)', async () => {
        const selector = open();
        const [reader] = socketpair();
        selector.register(reader.fileobj, EVENT_READ);
        const onSignal = (): void => {};
        process.on('SIGUSR2', onSignal);
        defer(() => process.off('SIGUSR2', onSignal));
        const killer = spawn('sh', ['-c', `sleep 0.2; kill -USR2 ${process.pid}`], { stdio: 'ignore' });
        const exited = new Promise<void>((resolve) => killer.on('exit', () => resolve()));
        const start = performance.now();
        expect(selector.select(1.2)).toEqual([]);
        const elapsed = performance.now() - start;
        await exited;
        expect(elapsed).toBeGreaterThanOrEqual(1200 - EARLY_MS);
        expect(elapsed).toBeLessThan(1200 + LATE_MS);
      });
    });

    describe('selectInto', () => {
      it('writes (fd, events) pairs into readyBuffer and returns their count', () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        selector.register(writer.fd, EVENT_WRITE);
        expect(pairsOf(selector, selector.selectInto(0))).toEqual([[writer.fd, EVENT_WRITE]]);
        writer.send(BYTE);
        const pairs = pairsOf(selector, selector.selectInto(1));
        const byFd = new Map<number, number>();
        for (const [fd, events] of pairs) byFd.set(fd, (byFd.get(fd) ?? 0) | events);
        expect(byFd.get(reader.fd)! & EVENT_READ).toBe(EVENT_READ);
        expect(byFd.get(writer.fd)! & EVENT_WRITE).toBe(EVENT_WRITE);
        for (const [fd, events] of pairs) {
          expect(selector.getMap().has(fd)).toBe(true);
          expect(events).not.toBe(0);
          expect(events & ~(EVENT_READ | EVENT_WRITE)).toBe(0);
        }
        expect(selector.readyBuffer).toBeInstanceOf(Int32Array);
      });

      it('waits like select and reports nothing after unregister', () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        const start = performance.now();
        expect(selector.selectInto(0.05)).toBe(0);
        expect(performance.now() - start).toBeGreaterThanOrEqual(50 - EARLY_MS);
        writer.send(BYTE);
        selector.unregister(reader.fd);
        expect(selector.selectInto(0)).toBe(0);
      });
    });

    describe('dead registrations by fd number', () => {
      itUnless(
        features.checksFileIdentity ? false : 'only for backends that watch by fd number and check file identity',
        'an fd closed and reused by another file without unregister: the key is dropped within DEAD_REGISTRATION_CHECK_INTERVAL waits, and onDeadRegistration told',
        () => {
          const selector = open();
          const dropped: number[] = [];
          selector.onDeadRegistration = (key) => dropped.push(key.fd);
          const [oldRead, oldWrite] = sys.pipe();
          defer(() => sys.close(oldWrite));
          selector.register(oldRead, EVENT_READ);
          sys.close(oldRead);
          // POSIX hands out the lowest free number: the new pipe's read end takes the old one's.
          let fresh: [number, number] = sys.pipe();
          for (let attempt = 0; attempt < 10 && fresh[0] !== oldRead; attempt++) {
            const [r, w] = fresh;
            fresh = sys.pipe();
            sys.close(r);
            sys.close(w);
          }
          const [newRead, newWrite] = fresh;
          defer(() => sys.close(newRead));
          defer(() => sys.close(newWrite));
          expect(newRead).toBe(oldRead);
          sys.write(newWrite, Buffer.from('x'));
          for (let i = 0; i < 2 * DEAD_REGISTRATION_CHECK_INTERVAL && dropped.length === 0; i++) selector.selectInto(0);
          expect(dropped).toEqual([oldRead]);
          expect(selector.getMap().has(oldRead)).toBe(false);
          // The new file was never registered: it is not reported.
          expect(selector.selectInto(0)).toBe(0);
          // The number can be registered for the new file.
          selector.register(newRead, EVENT_READ);
          expect(eventsOf(selector.select(0), newRead)).toBe(EVENT_READ);
        },
      );
    });

    describe('priority readiness (EVENT_PRIORITY)', () => {
      /** A connected loopback TCP pair, non-blocking: [accepted, client]. */
      const tcpPair = (): [sys.Socket, sys.Socket] => {
        const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
        try {
          listener.bind(['127.0.0.1', 0]);
          listener.listen(1);
          const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
          defer(() => client.close());
          client.connect(listener.getsockname() as [string, number]);
          const [server] = listener.accept();
          defer(() => server.close());
          server.setBlocking(false);
          client.setBlocking(false);
          return [server, client];
        } finally {
          listener.close();
        }
      };

      it('TCP urgent data (MSG_OOB) is EVENT_PRIORITY, ordinary data EVENT_READ only; or NotImplementedError where the backend has none', () => {
        const selector = open();
        const [server, client] = tcpPair();
        if (selector.supportsPriority !== true) {
          expect(() => selector.register(server, EVENT_PRIORITY)).toThrow(NotImplementedError);
          expect(() => selector.register(server, EVENT_READ | EVENT_PRIORITY)).toThrow(NotImplementedError);
          expect(selector.getMap().size).toBe(0);
          return;
        }
        const key = selector.register(server, EVENT_READ | EVENT_PRIORITY);
        expect(key.events).toBe(EVENT_READ | EVENT_PRIORITY);
        expect(selector.select(0)).toEqual([]);
        client.send(Buffer.from('plain'));
        expect(eventsOf(selector.select(5), server.fileno())).toBe(EVENT_READ);
        expect(server.recv(100).toString()).toBe('plain');
        expect(selector.select(0)).toEqual([]);
        client.send(Buffer.from('!'), sys.MSG_OOB);
        expect(eventsOf(selector.select(5), server.fileno()) & EVENT_PRIORITY).toBe(EVENT_PRIORITY);
        expect(server.recv(1, sys.MSG_OOB).toString()).toBe('!');
        // Read: the condition is gone (level-triggered, as every event).
        expect(eventsOf(selector.select(0), server.fileno()) & EVENT_PRIORITY).toBe(0);
        // modify to priority only, and back.
        selector.modify(server, EVENT_PRIORITY);
        client.send(Buffer.from('more'));
        client.send(Buffer.from('?'), sys.MSG_OOB);
        expect(eventsOf(selector.select(5), server.fileno())).toBe(EVENT_PRIORITY);
        expect(server.recv(1, sys.MSG_OOB).toString()).toBe('?');
        selector.unregister(server);
      });

      it('masks with bits other than EVENT_READ | EVENT_WRITE | EVENT_PRIORITY are a RangeError', () => {
        const selector = open();
        const [reader] = socketpair();
        for (const events of [8, 16, EVENT_READ | 8]) expect(() => selector.register(reader.fd, events)).toThrow(RangeError);
      });
    });

    describe('watch (guest-loop wait)', () => {
      it('calls onReady asynchronously once an fd becomes readable, and onReady sees the events', async () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        let calls = 0;
        let seen = 0;
        selector.watch(() => {
          calls++;
          seen = eventsOf(selector.select(0), reader.fd);
          if (seen) reader.recv(1024);
        });
        await sleep(30);
        expect(calls).toBe(0);
        setTimeout(() => writer.send(BYTE), 20);
        await waitUntil(() => calls > 0, LATE_MS, 'onReady');
        expect(seen).toBe(EVENT_READ);
        selector.unwatch();
      });

      it('never calls onReady synchronously, even when an fd is already ready', async () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        writer.send(BYTE);
        let calls = 0;
        selector.watch(() => {
          calls++;
          selector.unwatch();
        });
        expect(calls).toBe(0);
        await waitUntil(() => calls > 0, LATE_MS, 'onReady');
        expect(calls).toBe(1);
      });

      it('does not call onReady while nothing is ready', async () => {
        const selector = open();
        const [reader] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        let calls = 0;
        selector.watch(() => calls++);
        await sleep(150);
        expect(calls).toBe(0);
        selector.unwatch();
      });

      it('keeps calling onReady while an fd stays ready (level-triggered) and stops once drained', async () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        writer.send(MESSAGE);
        let calls = 0;
        selector.watch(() => {
          calls++;
          if (calls === 3) reader.recv(1024);
        });
        await waitUntil(() => calls >= 3, LATE_MS, 'three onReady calls');
        await sleep(100);
        expect(calls).toBe(3);
        selector.unwatch();
      });

      it('runs Promise jobs queued by onReady before the next macrotask', async () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        const order: string[] = [];
        selector.watch(() => {
          selector.unwatch();
          setImmediate(() => order.push('immediate'));
          void Promise.resolve().then(() => order.push('promise'));
        });
        writer.send(BYTE);
        await waitUntil(() => order.length === 2, LATE_MS, 'the callbacks queued by onReady');
        expect(order).toEqual(['promise', 'immediate']);
      });

      it('watch again replaces the callback', async () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        const calls: string[] = [];
        selector.watch(() => calls.push('first'));
        selector.watch(() => {
          calls.push('second');
          selector.unwatch();
        });
        writer.send(BYTE);
        await waitUntil(() => calls.length > 0, LATE_MS, 'onReady');
        await sleep(50);
        expect(calls).toEqual(['second']);
      });

      it('unwatch stops the calls; watch after unwatch resumes them', async () => {
        const selector = open();
        const [reader, writer] = socketpair();
        selector.register(reader.fd, EVENT_READ);
        let calls = 0;
        selector.watch(() => calls++);
        selector.unwatch();
        writer.send(BYTE);
        await sleep(100);
        expect(calls).toBe(0);
        selector.watch(() => {
          calls++;
          selector.unwatch();
        });
        await waitUntil(() => calls > 0, LATE_MS, 'onReady after a second watch');
        expect(calls).toBe(1);
      });

      it('closing the selector while watched, or from inside onReady, is safe', async () => {
        const first = open();
        first.watch(() => {});
        first.close();
        const second = open();
        const [reader, writer] = socketpair();
        second.register(reader.fd, EVENT_READ);
        let calls = 0;
        second.watch(() => {
          calls++;
          second.close();
        });
        writer.send(BYTE);
        await waitUntil(() => calls > 0, LATE_MS, 'onReady');
        await sleep(50);
        expect(calls).toBe(1);
        expect(second.closed).toBe(true);
      });

      it('two watched selectors wake independently', async () => {
        const first = open();
        const second = open();
        const [reader1] = socketpair();
        const [reader2, writer2] = socketpair();
        first.register(reader1.fd, EVENT_READ);
        second.register(reader2.fd, EVENT_READ);
        const calls: string[] = [];
        first.watch(() => calls.push('first'));
        second.watch(() => {
          calls.push('second');
          second.unwatch();
        });
        writer2.send(BYTE);
        await waitUntil(() => calls.length > 0, LATE_MS, 'onReady of the second selector');
        await sleep(50);
        expect(calls).toEqual(['second']);
        first.unwatch();
      });

      it('sees an fd registered after watch started', async () => {
        const selector = open();
        const [reader, writer] = socketpair();
        let calls = 0;
        selector.watch(() => {
          calls++;
          selector.unwatch();
        });
        await sleep(20);
        selector.register(reader.fd, EVENT_READ);
        writer.send(BYTE);
        await waitUntil(() => calls > 0, LATE_MS, 'onReady for a late registration');
      });

      const entryPath = entryFile(options.entryUrl);
      const childSkip = options.files !== undefined ? options.files.why : entryPath === undefined ? 'no entryUrl given' : existsSync(entryPath) ? false : `the built entry ${entryPath.split(/[\\/]/).slice(-2).join('/')} is missing; build first`;
      itUnless(childSkip, 'in a child process: unwatch lets Node exit', async () => {
        const result = await runChild(options.entryUrl!, 'selector.watch(() => {}); setTimeout(() => selector.unwatch(), 50);', 10_000);
        expect(result).toEqual({ code: 0, timedOut: false, stderr: '' });
      });

      itUnless(childSkip, 'in a child process: close while watched lets Node exit', async () => {
        const result = await runChild(options.entryUrl!, 'selector.watch(() => {}); setTimeout(() => selector.close(), 50);', 10_000);
        expect(result).toEqual({ code: 0, timedOut: false, stderr: '' });
      });

      itUnless(childSkip, 'in a child process: a watched selector keeps Node alive', async () => {
        const result = await runChild(options.entryUrl!, 'selector.watch(() => {});', 1500);
        // The whole result, so a child that ended early shows its code and stderr.
        expect(result).toMatchObject({ timedOut: true });
      });

      itUnless(childSkip, 'in a child process: a watched selector stays alive (and keeps Node alive) after its last reference is dropped and GC runs', async () => {
        const body = 'selector.watch(() => {}); selector = null; for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }';
        const result = await runChild(options.entryUrl!, body, 2500, ['--expose-gc']);
        expect(result).toMatchObject({ timedOut: true, stderr: '' });
      });
    });
  });
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error to be thrown');
}

/**
 * After `fd` was closed, opens pipes until one end gets the same number
 * (the kernel hands out the lowest free fd), closing the extra ones.
 */
function reopenFd(fd: number, pipe: () => [Endpoint, Endpoint]): { reader: Endpoint; writer: Endpoint } {
  const extra: Endpoint[] = [];
  try {
    for (let attempt = 0; attempt < 64; attempt++) {
      const [reader, writer] = pipe();
      if (reader.fd === fd || writer.fd === fd) return { reader, writer };
      extra.push(reader, writer);
    }
  } finally {
    for (const end of extra) end.close();
  }
  throw new Error(`fd ${fd} was not handed out again`);
}

function entryFile(entryUrl: string | URL | undefined): string | undefined {
  if (entryUrl === undefined) return undefined;
  const url = new URL(entryUrl);
  return url.protocol === 'file:' ? fileURLToPath(url) : undefined;
}

/** Runs `body` with `selector` from the entry's backend in a fresh Node; reports how it ended. */
function runChild(
  entryUrl: string | URL,
  body: string,
  timeoutMs: number,
  nodeOptions: string[] = [],
): Promise<{ code: number | null; timedOut: boolean; stderr: string }> {
  const script = `const { backend } = await import(process.argv[1]); let selector = backend.createSelector(); ${body}`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeOptions, '--input-type=module', '-e', script, String(entryUrl)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? null : code, timedOut, stderr });
    });
  });
}
