import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMPLETION_STRIDE, EVENT_PRIORITY, EVENT_READ, EVENT_WRITE, KNOWN_BACKENDS, RuntimeError } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backend, UringProactor } from '../src/index.js';
import { loadNative, type UringNative } from '../src/load-native.js';

const availability = backend.available();
/** poll(2)'s POLLIN, for the binding's pollAdd. */
const POLLIN = 1;

/**
 * Why multishot receives (`recvMany`, over provided-buffer rings) cannot be
 * tested here, or null when they can: the tests that need them are skipped
 * with this reason in their name, never passed without running.
 */
const multishotMissing: string | null = (() => {
  if (!availability.ok) return `io_uring is not usable here: ${availability.reason}`;
  const proactor = new UringProactor();
  try {
    return proactor.recvMany === undefined ? 'no provided-buffer rings (multishot receive) on this kernel' : null;
  } finally {
    proactor.close();
  }
})();

/** A test of the multishot receive: run where it exists, else skipped with the reason. */
function itMultishot(title: string, body: () => unknown): void {
  if (multishotMissing === null) it(title, body);
  else it.skip(`${title} (skipped: ${multishotMissing})`, body);
}

describe('the uring backend descriptor', () => {
  it('is the proactor the registry names', () => {
    const known = KNOWN_BACKENDS.find((entry) => entry.name === 'uring')!;
    expect(backend.name).toBe('uring');
    expect(backend.kind).toBe('proactor');
    expect(backend.packageName).toBe(known.packageName);
    expect(backend.platforms).toEqual(['linux']);
    expect(backend.createSelector).toBeUndefined();
    expect(typeof backend.createProactor).toBe('function');
  });

  it('available() never throws and says ok or why not', () => {
    expect(() => backend.available()).not.toThrow();
    if (!availability.ok) expect(availability.reason).toMatch(/io_uring|Linux/);
  });
});

describe('available() when io_uring is blocked', () => {
  afterEach(() => {
    vi.doUnmock('../src/load-native.js');
    vi.resetModules();
  });

  async function availableWith(failure: { errno: number; syscall: string; message: string }) {
    vi.resetModules();
    vi.doMock('../src/load-native.js', () => ({ loadNative: () => ({ probeUsable: () => failure }) }));
    const module = await import('../src/index.js');
    return module.backend.available();
  }

  it.runIf(process.platform === 'linux')('EPERM (seccomp, kernel.io_uring_disabled) names the cause and epoll', async () => {
    const result = await availableWith({ errno: 1, syscall: 'io_uring_setup', message: 'io_uring_setup: Operation not permitted' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/not permitted.*use epoll/);
  });

  it.runIf(process.platform === 'linux')('ENOSYS names the kernel version needed', async () => {
    const result = await availableWith({ errno: 38, syscall: 'io_uring_setup', message: 'io_uring_setup: Function not implemented' });
    expect(!result.ok && result.reason).toMatch(/Linux 5\.6/);
  });
});

describe.runIf(availability.ok)('UringProactor (io_uring on this kernel)', () => {
  it('asks for DEFER_TASKRUN by default and reports what the kernel granted', () => {
    const proactor = new UringProactor();
    try {
      expect(typeof proactor.features.deferTaskrun).toBe('boolean');
      // Every kernel with DEFER_TASKRUN (6.1+) has TASKRUN_FLAG (5.19+), asked for with it.
      if (proactor.features.deferTaskrun) expect(proactor.features.taskrunFlag).toBe(true);
      expect(proactor.features.sqEntries).toBe(4096);
      expect(proactor.features.cqEntries).toBe(16384);
      expect(proactor.features.asyncCancel).toBe(true);
    } finally {
      proactor.close();
    }
    const plain = new UringProactor({ deferTaskrun: false, entries: 64 });
    try {
      expect(plain.features.deferTaskrun).toBe(false);
      expect(plain.features.sqEntries).toBe(64);
    } finally {
      plain.close();
    }
  });

  it('keeps DEFER_TASKRUN in libuv, and on a helper thread only where the kernel signals the eventfd at once for deferred work', () => {
    const native = loadNative() as UringNative;
    // Without DEFER_TASKRUN the writer runs the completion work before its
    // write returns, so the eventfd is readable at once on every kernel:
    // the check can see a prompt signal.
    expect(native.eventFdSignalsAtOnce(false)).toBe(true);
    const deferred = native.eventFdSignalsAtOnce(true);
    // In Node's libuv loop the idle wait is in the ring itself, which the
    // kernel wakes at once: DEFER_TASKRUN is kept wherever the kernel has it.
    const proactor = new UringProactor();
    // These two wait on the eventfd.
    const helper = new UringProactor({ helperThread: true });
    const eventFd = new UringProactor({ idleWaitInRing: false });
    try {
      expect(proactor.features).toMatchObject({ deferTaskrun: deferred !== null, deferTaskrunDeclined: false });
      for (const waiting of [helper, eventFd]) {
        if (deferred === null) {
          // No DEFER_TASKRUN on this kernel: nothing to decline.
          expect(waiting.features).toMatchObject({ deferTaskrun: false, deferTaskrunDeclined: false });
        } else if (deferred) {
          expect(waiting.features).toMatchObject({ deferTaskrun: true, deferTaskrunDeclined: false });
        } else {
          // A late signal would hold every idle wake-up back (a grace
          // period, 14-20 ms on 6.18): the ring runs without DEFER_TASKRUN.
          expect(waiting.features).toMatchObject({ deferTaskrun: false, deferTaskrunDeclined: true });
        }
      }
    } finally {
      proactor.close();
      helper.close();
      eventFd.close();
    }
    expect(() => native.eventFdSignalsAtOnce('yes' as unknown as boolean)).toThrow(TypeError);
    // Under Node, available() says how an idle loop waits, and what Node's
    // utilization figure makes of it (its notes for Bun and Deno are
    // checked in helper-thread.test.ts).
    expect(native.waitsInRing()).toBe(new UringProactor().features.idleWaitInRing);
    // The default policy passes it over for epoll where it does not run as
    // it was measured faster: without the wait in the ring (5.11+) or
    // without DEFER_TASKRUN (6.1+).
    const notes = expect.stringMatching(/waits in the ring itself.*added to libuv's idle time.*eventLoopUtilization\(\) reads as for libuv's own wait.*idleWaitInRing: false/);
    if (!native.waitsInRing()) expect(backend.available()).toEqual({ ok: true, passedOver: expect.stringMatching(/cannot hold the loop's idle wait in the ring \(Linux 5\.11\+\)/) });
    else if (native.eventFdSignalsAtOnce(true) === null) expect(backend.available()).toEqual({ ok: true, notes, passedOver: expect.stringMatching(/no IORING_SETUP_DEFER_TASKRUN \(Linux 6\.1\+\)/) });
    else expect(backend.available()).toEqual({ ok: true, notes });
  });

  it('checks its options', () => {
    expect(() => new UringProactor({ entries: 0 })).toThrow(RangeError);
    expect(() => new UringProactor({ entries: 1.5 })).toThrow(/options.entries/);
    expect(() => new UringProactor({ deferTaskrun: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => new UringProactor({ idleWaitInRing: 1 as unknown as boolean })).toThrow(/options\.idleWaitInRing must be a boolean, got number/);
    expect(() => new UringProactor(null as unknown as object)).toThrow(TypeError);
  });

  it('a small submission queue that fills is flushed, not failed', () => {
    const proactor = new UringProactor({ entries: 4 });
    const [a, b] = sys.socketpair();
    try {
      const tokens = Array.from({ length: 64 }, () => proactor.pollAdd(a, EVENT_WRITE));
      let seen = 0;
      for (let round = 0; round < 100 && seen < tokens.length; round++) seen += proactor.poll(0.05);
      expect(seen).toBe(64);
    } finally {
      proactor.close();
      a.close();
      b.close();
    }
  });

  itMultishot('multishot receives bigger than one copy slab in one poll come back whole, in order, per connection', () => {
    const proactor = new UringProactor();
    const pairs = Array.from({ length: 12 }, () => sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false }));
    try {
      const tokens = new Map<number, number>();
      pairs.forEach(([a], index) => tokens.set(proactor.recvMany!(a), index));
      // 12 connections x 3 messages of 10 KiB: 360 KiB in one poll, several
      // 64 KiB slabs, and a slab that runs out in the middle of a harvest.
      const sent = pairs.map((_, index) => Buffer.concat([0, 1, 2].map((n) => Buffer.alloc(10 * 1024, 65 + ((index * 3 + n) % 26)))));
      pairs.forEach(([, b], index) => {
        for (let offset = 0; offset < sent[index]!.length; offset += 10 * 1024) expect(b.send(sent[index]!.subarray(offset, offset + 10 * 1024))).toBe(10 * 1024);
      });
      const received = pairs.map(() => [] as Buffer[]);
      const total = () => received.reduce((sum, chunks) => sum + chunks.reduce((n, chunk) => n + chunk.length, 0), 0);
      for (let round = 0; round < 50 && total() < 12 * 30 * 1024; round++) {
        const count = proactor.poll(0.05);
        for (let i = 0; i < count; i++) {
          const token = proactor.completions[i * 3]!;
          expect(proactor.completions[i * 3 + 1]).toBeGreaterThan(0);
          // Kept as they are: a value stays valid after later polls (its memory is never reused).
          received[tokens.get(token)!]!.push(proactor.completionValue(i) as Buffer);
        }
      }
      received.forEach((chunks, index) => expect(Buffer.concat(chunks).equals(sent[index]!), `connection ${index}`).toBe(true));
    } finally {
      proactor.close();
      for (const [a, b] of pairs) {
        a.close();
        b.close();
      }
    }
  });

  itMultishot('when every provided buffer is taken a multishot receive ends with ENOBUFS; started again it goes on where it stopped, every connection whole and in order', () => {
    const ENOBUFS = 105;
    const proactor = new UringProactor();
    // 48 connections with their socket buffers full: more bytes than the
    // 4 MiB of provided buffers, all there when the receives start.
    const pairs = Array.from({ length: 48 }, () => sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false }));
    try {
      const sent = pairs.map(([, b], index) => {
        // Bytes that differ from their neighbours: a reordering or an overwrite shows.
        const data = Buffer.allocUnsafe(2 * 1024 * 1024);
        for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8) + index * 31) & 0xff;
        let offset = 0;
        while (offset < data.length) {
          try {
            offset += b.send(data.subarray(offset, offset + 16 * 1024));
          } catch {
            break; // full
          }
        }
        return data.subarray(0, offset);
      });
      const expected = sent.reduce((n, data) => n + data.length, 0);
      expect(expected).toBeGreaterThan(4 * 1024 * 1024);
      const tokens = new Map<number, number>();
      pairs.forEach(([a], index) => tokens.set(proactor.recvMany!(a), index));
      const received = pairs.map(() => [] as Buffer[]);
      let got = 0;
      let noBuffers = 0;
      for (let round = 0; round < 500 && got < expected; round++) {
        const count = proactor.poll(0.05);
        for (let i = 0; i < count; i++) {
          const token = proactor.completions[i * 3]!;
          const result = proactor.completions[i * 3 + 1]!;
          const index = tokens.get(token)!;
          expect(index).toBeDefined();
          if (result === -ENOBUFS) {
            expect(proactor.completions[i * 3 + 2]! & 2).toBe(0); // the multishot receive has ended
            noBuffers++;
            tokens.delete(token);
            tokens.set(proactor.recvMany!(pairs[index]![0]), index);
            continue;
          }
          expect(result).toBeGreaterThan(0);
          const chunk = proactor.completionValue(i) as Buffer;
          received[index]!.push(chunk);
          got += chunk.length;
        }
      }
      expect(noBuffers).toBeGreaterThan(0);
      received.forEach((chunks, index) => expect(Buffer.concat(chunks).equals(sent[index]!), `connection ${index}`).toBe(true));
    } finally {
      proactor.close();
      for (const [a, b] of pairs) {
        a.close();
        b.close();
      }
    }
  });

  it.runIf(availability.ok)('hasCompletions() right after a loopback connect and accept are started says true: what the kernel did during the submission is posted (DEFER_TASKRUN task work)', () => {
    // @evloop/testing's virtual clock asks this before jumping: a false here
    // let time jump over a loopback connection (every attempt of a retry
    // timed out at once).
    for (const deferTaskrun of [true, false]) {
      const proactor = new UringProactor({ deferTaskrun });
      const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
      const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
      try {
        listener.bind(['127.0.0.1', 0]);
        listener.listen(4);
        listener.setBlocking(false);
        client.setBlocking(false);
        const accepted = proactor.accept(listener);
        const connected = proactor.connect(client, listener.getsockname()!);
        expect(proactor.hasCompletions()).toBe(true);
        const tokens = new Set<number>();
        for (let round = 0; round < 10 && tokens.size < 2; round++) {
          const count = proactor.poll(0.5);
          for (let i = 0; i < count; i++) {
            tokens.add(proactor.completions[i * COMPLETION_STRIDE]!);
            const value = proactor.completionValue(i);
            // The accepted connection's fd.
            if (Array.isArray(value) && typeof value[0] === 'number') sys.close(value[0]);
          }
        }
        expect([...tokens].sort()).toEqual([accepted, connected].sort());
      } finally {
        proactor.close();
        listener.close();
        client.close();
      }
    }
  });

  it.runIf(availability.ok)('a priority poll (through an epoll instance of its own) completes on TCP urgent data, not on ordinary data; cancelled or left at close() it leaves no fd behind; a bad fd is an OSError at once', () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    const proactor = new UringProactor();
    const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
    const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
    let server: sys.Socket | null = null;
    try {
      listener.bind(['127.0.0.1', 0]);
      listener.listen(1);
      client.connect(listener.getsockname()!);
      server = listener.accept({ blocking: false })[0];
      // Ordinary data: a priority-only poll stays quiet, a reader-and-priority one says READ.
      client.send(Buffer.from('plain'));
      const priority = proactor.pollAdd(server, EVENT_PRIORITY);
      expect(proactor.poll(0.05)).toBe(0);
      const both = proactor.pollAdd(server, EVENT_READ | EVENT_PRIORITY);
      expect(proactor.poll(0.5)).toBe(1);
      expect([proactor.completions[0], proactor.completions[1]]).toEqual([both, EVENT_READ]);
      expect(server.recv(100).toString()).toBe('plain');
      // The urgent byte: only priority.
      client.send(Buffer.from('!'), sys.MSG_OOB);
      expect(proactor.poll(0.5)).toBe(1);
      expect([proactor.completions[0], proactor.completions[1]]).toEqual([priority, EVENT_PRIORITY]);
      expect(server.recv(1, sys.MSG_OOB).toString()).toBe('!');
      // Cancelled: ECANCELED, and its epoll instance is closed.
      const cancelled = proactor.pollAdd(server, EVENT_PRIORITY);
      proactor.cancel(cancelled);
      expect(proactor.poll(0.5)).toBe(1);
      expect([proactor.completions[0], proactor.completions[1]]).toEqual([cancelled, -125]); // ECANCELED
      // Nothing may watch a closed fd (a number far above any open one: the
      // lowest free number would go to the epoll instance itself).
      expect(() => proactor.pollAdd(1_000_000, EVENT_PRIORITY)).toThrow(expect.objectContaining({ errno: 9, code: 'EBADF', syscall: 'epoll_ctl' }));
      // Left in flight at close().
      proactor.pollAdd(server, EVENT_PRIORITY);
    } finally {
      proactor.close();
      server?.close();
      client.close();
      listener.close();
    }
    expect(openFds()).toBe(before);
  });

  it.runIf(availability.ok)('a wake-up nobody polls for does not wake the owner again and again (the eventfd is read by the second one)', async () => {
    const proactor = new UringProactor();
    const [a, b] = sys.socketpair();
    try {
      let wakes = 0;
      proactor.watch(() => wakes++);
      // Completes at once; the owner never polls, so its completion stays in the ring.
      proactor.pollAdd(a, EVENT_WRITE);
      proactor.hasCompletions();
      // Many turns of Node's loop: a spinning watch would count thousands.
      for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(wakes).toBeGreaterThanOrEqual(1);
      expect(wakes).toBeLessThanOrEqual(2);
      expect(proactor.poll(0)).toBe(1);
    } finally {
      proactor.close();
      a.close();
      b.close();
    }
  });

  it.runIf(availability.ok)('what was queued is submitted before libuv blocks, also in the turn a libuv watcher changed', () => {
    // In a process of its own, so that nothing else wakes libuv: in a
    // timer's callback, an operation is queued (not submitted) in the same
    // turn as a new libuv watcher (a listening socket). Until libuv's next
    // poll applies that change, uv_backend_timeout() answers 0, and the poll
    // then blocks for the real timeout: the submission must not wait for it.
    const source = `
      const net = require('node:net');
      const sys = require('@evloop/sys');
      const { UringProactor } = require(${JSON.stringify(fileURLToPath(new URL('../dist/index.cjs', import.meta.url)))});
      const proactor = new UringProactor({ helperThread: false });
      const [a, b] = sys.socketpair();
      const server = net.createServer();
      const end = (how) => { clearTimeout(fallback); console.log(how); server.close(); proactor.close(); a.close(); b.close(); };
      let fallback;
      proactor.watch(() => end('completion'));
      // Once the loop has settled: a timer's callback, then nothing due for 2 s.
      setTimeout(() => {
        fallback = setTimeout(() => end('timer'), 2000);
        proactor.pollAdd(a, ${EVENT_WRITE});
        server.listen(0);
      }, 20);
    `;
    const result = spawnSync(process.execPath, ['-e', source], { encoding: 'utf8', timeout: 15_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('completion');
    expect(result.status).toBe(0);
  });

  it.runIf(availability.ok).each([true, false])('an idle loop waits in the ring (idleWaitInRing: %s), and libuv\'s own timers, I/O, thread pool, signals and immediates still run meanwhile', (idleWaitInRing) => {
    // In a process of its own: between completions of the proactor (each
    // one a poll started while nothing is ready, made ready by a Node timer
    // a little later), libuv must still run every kind of work it has.
    const source = `
      const fs = require('node:fs');
      const net = require('node:net');
      const sys = require('@evloop/sys');
      const { UringProactor } = require(${JSON.stringify(fileURLToPath(new URL('../dist/index.cjs', import.meta.url)))});
      const proactor = new UringProactor({ helperThread: false, idleWaitInRing: ${idleWaitInRing} });
      const [a, b] = sys.socketpair();
      const events = [];
      let wakeUps = 0;
      let next = null;
      const fallback = setTimeout(() => finish('stalled after ' + events.join(',')), 10000);
      const finish = (last) => {
        events.push(last);
        clearTimeout(fallback);
        console.log(JSON.stringify({ events, wakeUps, idleWaitInRing: proactor.features.idleWaitInRing }));
        proactor.close();
        a.close();
        b.close();
      };
      proactor.watch(() => {
        wakeUps++;
        const count = proactor.poll(0);
        if (count === 0) return;
        // The byte that made it ready is read, so the next poll waits again.
        a.recv(16);
        events.push('completion');
        const step = next;
        next = null;
        if (step !== null) step();
      });
      /** A poll for input started now, made ready 5 ms later; then \`then\`. */
      const completion = (then) => {
        next = then;
        proactor.pollAdd(a, ${EVENT_READ});
        setTimeout(() => b.send(Buffer.from('x')), 5);
      };
      const steps = [
        (go) => setTimeout(() => { events.push('timer'); go(); }, 20),
        (go) => {
          const server = net.createServer((socket) => socket.on('data', () => { events.push('net'); socket.destroy(); server.close(); go(); }));
          server.listen(0, '127.0.0.1', () => {
            const client = net.connect(server.address().port, '127.0.0.1', () => client.end('hello'));
          });
        },
        (go) => fs.readFile('package.json', () => { events.push('fs'); go(); }),
        (go) => {
          process.once('SIGUSR2', () => { events.push('signal'); go(); });
          setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 5);
        },
        (go) => setTimeout(() => setImmediate(() => { events.push('immediate'); go(); }), 5),
      ];
      let index = 0;
      const run = () => {
        if (index === steps.length) return finish('done');
        const step = steps[index++];
        completion(() => step(run));
      };
      // Once the loop has settled.
      setTimeout(run, 20);
    `;
    const result = spawnSync(process.execPath, ['-e', source], { encoding: 'utf8', timeout: 30_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const outcome = JSON.parse(result.stdout.trim()) as { events: string[]; wakeUps: number; idleWaitInRing: boolean };
    expect(outcome.events).toEqual(['completion', 'timer', 'completion', 'net', 'completion', 'fs', 'completion', 'signal', 'completion', 'immediate', 'done']);
    // A wait that spun (libuv's events seen again and again, or completion
    // work of the ring's own poll of libuv's fd left unposted) calls onReady
    // millions of times.
    expect(outcome.wakeUps).toBeGreaterThanOrEqual(5);
    expect(outcome.wakeUps).toBeLessThan(50);
    expect(outcome.idleWaitInRing).toBe(idleWaitInRing && new UringProactor().features.extArg);
  });

  it.runIf(availability.ok)('two rings watched at once in one thread: a completion of either wakes its owner', () => {
    // In a process of its own. A ring that waited in itself would sleep in
    // io_uring_enter with its eventfd off, and the other ring's completion
    // could not end that wait: with two watched, both wait in libuv.
    const source = `
      const sys = require('@evloop/sys');
      const { UringProactor } = require(${JSON.stringify(fileURLToPath(new URL('../dist/index.cjs', import.meta.url)))});
      const first = new UringProactor({ helperThread: false });
      const second = new UringProactor({ helperThread: false });
      const [a, b] = sys.socketpair();
      const [c, d] = sys.socketpair();
      const events = [];
      let fallback;
      const end = (how) => {
        events.push(how);
        clearTimeout(fallback);
        console.log(events.join(','));
        first.close(); second.close(); a.close(); b.close(); c.close(); d.close();
      };
      first.watch(() => { if (first.poll(0) > 0) { events.push('first'); end('done'); } });
      second.watch(() => {
        if (second.poll(0) === 0) return;
        events.push('second');
        // Then the first one's turn, while the second stays watched.
        first.pollAdd(a, ${EVENT_READ});
        setTimeout(() => b.send(Buffer.from('x')), 20);
      });
      setTimeout(() => {
        fallback = setTimeout(() => end('timer'), 3000);
        second.pollAdd(c, ${EVENT_READ});
        setTimeout(() => d.send(Buffer.from('x')), 20);
      }, 20);
    `;
    const result = spawnSync(process.execPath, ['-e', source], { encoding: 'utf8', timeout: 15_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('second,first,done');
    expect(result.status).toBe(0);
  });

  it.runIf(availability.ok).each([true, false])('with idleWaitInRing: %s, an idle loop\'s completions come from the wait in the ring, else from the eventfd', async (idleWaitInRing) => {
    // The binding calls onReady(true) from the wait in the ring, onReady()
    // from libuv's watch of the eventfd.
    const native = loadNative() as UringNative;
    const ring = new native.Ring(64, true, undefined, idleWaitInRing);
    const [a, b] = sys.socketpair();
    const completions = new Int32Array(3 * 8);
    let inRing = 0;
    let fromEventFd = 0;
    try {
      let woke: (() => void) | null = null;
      ring.watch((flag) => {
        if (flag === true) inRing++;
        else fromEventFd++;
        if (flag !== true) ring.drain();
        if (ring.harvest(completions, 0) > 0) woke?.();
      });
      for (let round = 1; round <= 5; round++) {
        const done = new Promise<void>((resolve) => (woke = resolve));
        ring.pollAdd(round, a.fileno(), POLLIN);
        setTimeout(() => b.send(Buffer.from('x')), 5);
        await done;
        expect(completions[0]).toBe(round);
        a.recv(16);
      }
      if (ring.features().idleWaitInRing) {
        expect(inRing).toBeGreaterThanOrEqual(5);
        expect(fromEventFd).toBe(0);
      } else {
        expect(idleWaitInRing && ring.features().extArg).toBe(false);
        expect(inRing).toBe(0);
        expect(fromEventFd).toBeGreaterThanOrEqual(5);
      }
    } finally {
      ring.unwatch();
      ring.close();
      a.close();
      b.close();
    }
  });

  it.runIf(availability.ok)('the wait in the ring is idle time to Node: eventLoopUtilization() of an idle loop is near 0 (main thread, and a worker read from the main thread), and time spent in a completion is still busy', () => {
    // In a process of its own, so that nothing else runs on its loop. Each
    // window is 400 ms on a loop waiting for a receive that never completes;
    // libuv's idle count reads 1.000 when the wait is not added to it. Then
    // a completion whose handler spins 300 ms of a window must count as busy.
    const source = `
      const { Worker, isMainThread, parentPort } = require('node:worker_threads');
      const { performance } = require('node:perf_hooks');
      const sys = require('@evloop/sys');
      const path = ${JSON.stringify(fileURLToPath(new URL('../dist/index.cjs', import.meta.url)))};
      const { UringProactor } = require(path);
      const native = require(${JSON.stringify(fileURLToPath(new URL('../build/Release/proactor_uring.node', import.meta.url)))});
      const idleLoop = (then) => {
        const proactor = new UringProactor({ helperThread: false });
        const [a, b] = sys.socketpair();
        proactor.watch(() => proactor.poll(0));
        proactor.pollAdd(a, ${EVENT_READ});
        return { proactor, close: () => { proactor.close(); a.close(); b.close(); } };
      };
      if (!isMainThread) {
        const { proactor, close } = idleLoop();
        parentPort.once('message', () => { parentPort.postMessage({ counted: native.idleTimeCounted(), ring: proactor.features.idleWaitInRing }); close(); });
        parentPort.postMessage('ready');
      } else {
        const figures = {};
        const { proactor, close } = idleLoop();
        setTimeout(() => {
          const start = performance.eventLoopUtilization();
          setTimeout(() => {
            figures.idle = performance.eventLoopUtilization(start).utilization;
            figures.ring = proactor.features.idleWaitInRing;
            figures.counted = native.idleTimeCounted();
            close();
            busyWindow();
          }, 400);
        }, 50);
        const busyWindow = () => {
          const proactor = new UringProactor({ helperThread: false });
          const [a, b] = sys.socketpair();
          let start;
          proactor.watch(() => {
            if (proactor.poll(0) === 0) return;
            const until = Date.now() + 300;
            while (Date.now() < until);
          });
          setTimeout(() => {
            start = performance.eventLoopUtilization();
            proactor.pollAdd(a, ${EVENT_READ});
            setTimeout(() => b.send(Buffer.from('x')), 20);
            setTimeout(() => {
              figures.busy = performance.eventLoopUtilization(start).utilization;
              proactor.close(); a.close(); b.close();
              workerWindow();
            }, 400);
          }, 20);
        };
        const workerWindow = () => {
          // The same source, run as a worker (passed as this process's argument).
          const worker = new Worker(process.argv[1], { eval: true });
          worker.once('message', () => {
            setTimeout(() => {
              const start = worker.performance.eventLoopUtilization();
              setTimeout(() => {
                figures.worker = worker.performance.eventLoopUtilization(start).utilization;
                worker.postMessage('report');
                worker.once('message', (report) => {
                  figures.workerCounted = report.counted;
                  figures.workerRing = report.ring;
                  console.log(JSON.stringify(figures));
                });
              }, 400);
            }, 50);
          });
        };
      }
    `;
    const result = spawnSync(process.execPath, ['-e', source, source], { encoding: 'utf8', timeout: 20_000, cwd: fileURLToPath(new URL('..', import.meta.url)) });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const figures = JSON.parse(result.stdout.trim()) as { idle: number; ring: boolean; counted: boolean | null; busy: number; worker: number; workerRing: boolean; workerCounted: boolean | null };
    expect(figures.idle).toBeLessThan(0.5);
    expect(figures.worker).toBeLessThan(0.5);
    expect(figures.busy).toBeGreaterThan(0.2);
    // Where the loop waits in the ring (Linux 5.11+), libuv's count was
    // verified and added to, in both threads.
    expect({ counted: figures.counted, workerCounted: figures.workerCounted }).toEqual(figures.ring ? { counted: true, workerCounted: true } : { counted: null, workerCounted: null });
    expect(figures.workerRing).toBe(figures.ring);
  });

  it('waits in the ring in Node, and on the eventfd on a helper thread or when told to', () => {
    const proactor = new UringProactor();
    const helper = new UringProactor({ helperThread: true });
    const eventFd = new UringProactor({ idleWaitInRing: false });
    try {
      // EXT_ARG (5.11) bounds the wait; every kernel with DEFER_TASKRUN has it.
      expect(proactor.features.idleWaitInRing).toBe(proactor.features.extArg);
      expect(helper.features.idleWaitInRing).toBe(false);
      expect(eventFd.features.idleWaitInRing).toBe(false);
    } finally {
      proactor.close();
      helper.close();
      eventFd.close();
    }
  });

  describe('bulk connections: readiness receives', () => {
    const ECANCELED = 125;
    const MORE = 2;
    /** A connected loopback TCP pair, both ends non-blocking. */
    const tcpPair = (): [sys.Socket, sys.Socket] => {
      const listener = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
      try {
        listener.bind(['127.0.0.1', 0]);
        listener.listen(1);
        const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
        client.connect(listener.getsockname()!);
        const [server] = listener.accept();
        server.setBlocking(false);
        client.setBlocking(false);
        return [server, client];
      } finally {
        listener.close();
      }
    };
    /** Bytes that differ from their neighbours: a lost, doubled or reordered chunk shows. */
    const pattern = (length: number, seed: number): Buffer => {
      const data = Buffer.allocUnsafe(length);
      for (let i = 0; i < length; i++) data[i] = (i * 7 + (i >> 9) + seed * 13) & 0xff;
      return data;
    };
    /** Polls and collects the completions of `token`: bytes, and the end (result and flags) if one came. */
    class Reader {
      chunks: Buffer[] = [];
      bytes = 0;
      end: { result: number; flags: number } | null = null;
      constructor(
        readonly proactor: UringProactor,
        readonly token: number,
      ) {}
      pollOnce(timeout = 0.05): void {
        const count = this.proactor.poll(timeout);
        for (let i = 0; i < count; i++) {
          const token = this.proactor.completions[i * 3]!;
          const result = this.proactor.completions[i * 3 + 1]!;
          const flags = this.proactor.completions[i * 3 + 2]!;
          if (token !== this.token) continue;
          expect(this.end, 'nothing after the end').toBeNull();
          if (result > 0 && (flags & MORE) !== 0) {
            const chunk = this.proactor.completionValue(i) as Buffer;
            expect(chunk.length).toBe(result);
            this.chunks.push(chunk);
            this.bytes += result;
          } else {
            expect(flags & MORE).toBe(0);
            this.end = { result, flags };
          }
        }
      }
      /** Sends `data` through `peer` as the socket takes it, polling in between; then polls until it is all here. */
      transfer(peer: sys.Socket, data: Buffer, piece: number): void {
        const target = this.bytes + data.length;
        let offset = 0;
        for (let round = 0; round < 20_000 && offset < data.length; round++) {
          try {
            offset += peer.send(data.subarray(offset, offset + piece));
          } catch (error) {
            if ((error as { errno?: number }).errno !== 11) throw error;
            this.pollOnce(0);
          }
        }
        expect(offset).toBe(data.length);
        for (let round = 0; round < 200 && this.bytes < target && this.end === null; round++) this.pollOnce();
        expect(this.bytes).toBe(target);
        // A switch between receive kinds completes once the cancel of the old one is in.
        for (let round = 0; round < 5; round++) this.pollOnce(0.01);
      }
    }

    itMultishot('a bulk stream switches to readiness receives and back to the multishot receive, losing and reordering nothing, and ends at EOF', () => {
      const proactor = new UringProactor();
      const [a, b] = tcpPair();
      try {
        const reader = new Reader(proactor, proactor.recvMany!(a));
        const sent: Buffer[] = [];
        const bulk = (seed: number) => {
          const data = pattern(2 * 1024 * 1024, seed);
          sent.push(data);
          reader.transfer(b, data, 64 * 1024);
        };
        bulk(1);
        expect(proactor.receiveSwitches).toEqual({ toReadiness: 1, toMultishot: 0 });
        // Small messages one at a time: the receive goes back to the provided buffers.
        for (let n = 0; n < 12; n++) {
          const data = pattern(100, 100 + n);
          sent.push(data);
          reader.transfer(b, data, 100);
        }
        expect(proactor.receiveSwitches).toEqual({ toReadiness: 1, toMultishot: 1 });
        bulk(2);
        expect(proactor.receiveSwitches.toReadiness).toBe(2);
        expect(Buffer.concat(reader.chunks).equals(Buffer.concat(sent))).toBe(true);
        // EOF ends the receive; its poll's cancel then completes and nothing is left in flight.
        b.shutdown(sys.SHUT_WR);
        for (let round = 0; round < 100 && reader.end === null; round++) reader.pollOnce();
        expect(reader.end?.result).toBe(0);
        for (let round = 0; round < 100 && proactor.pending > 0; round++) reader.pollOnce();
        expect(proactor.pending).toBe(0);
      } finally {
        proactor.close();
        a.close();
        b.close();
      }
    });

    for (const bulkReadiness of [false, true]) {
      itMultishot(`${bulkReadiness ? 'readiness receives' : 'provided buffers'}: a slab is filled to its last 16 KiB, a receive that does not fit goes into a fresh one, and every view of the old one stays intact`, () => {
        const proactor = new UringProactor({ bulkReadiness });
        const [a, b] = tcpPair();
        try {
          const reader = new Reader(proactor, proactor.recvMany!(a));
          const sent: Buffer[] = [];
          // 30 KiB pieces, each received before the next is sent: the eighth
          // leaves 16 KiB of a 256 KiB slab, which the ninth does not fit.
          for (let n = 0; n < 12; n++) {
            const data = pattern(30 * 1024, n);
            sent.push(data);
            reader.transfer(b, data, data.length);
          }
          expect(proactor.receiveSwitches.toReadiness).toBe(bulkReadiness ? 1 : 0);
          const slabs = [...new Set(reader.chunks.map((chunk) => chunk.buffer))];
          expect(slabs.length).toBe(2);
          const onFirst = reader.chunks.filter((chunk) => chunk.buffer === slabs[0]);
          const held = onFirst.reduce((total, chunk) => total + chunk.length, 0);
          expect(held).toBeGreaterThan(slabs[0]!.byteLength - 16 * 1024 - 1);
          // In slab order, back to back; the second slab starts where the first one's bytes stop.
          for (let i = 1; i < onFirst.length; i++) expect(onFirst[i]!.byteOffset).toBe(onFirst[i - 1]!.byteOffset + onFirst[i - 1]!.length);
          expect(reader.chunks[onFirst.length]!.byteOffset).toBe(0);
          // Read at the end: no view was written over by a later receive.
          expect(Buffer.concat(reader.chunks).equals(Buffer.concat(sent))).toBe(true);
        } finally {
          proactor.close();
          a.close();
          b.close();
        }
      });
    }

    itMultishot('messages of 4 KiB one at a time switch to readiness receives; messages of 1 KiB stay on the multishot receive', () => {
      const proactor = new UringProactor();
      const [a, b] = tcpPair();
      try {
        const reader = new Reader(proactor, proactor.recvMany!(a));
        const sent: Buffer[] = [];
        const send = (length: number, seed: number) => {
          const data = pattern(length, seed);
          sent.push(data);
          reader.transfer(b, data, length);
        };
        // 1 KiB (a 16-message pipeline of 64 B reads about that much at once): the copy is cheap, no switch.
        for (let n = 0; n < 12; n++) send(1024, 20 + n);
        expect(proactor.receiveSwitches).toEqual({ toReadiness: 0, toMultishot: 0 });
        for (let n = 0; n < 4; n++) send(4096, 40 + n);
        expect(proactor.receiveSwitches).toEqual({ toReadiness: 1, toMultishot: 0 });
        // Still 1 KiB reads in readiness mode: no switch back (only reads under 1 KiB count as small).
        for (let n = 0; n < 12; n++) send(1024, 60 + n);
        expect(proactor.receiveSwitches).toEqual({ toReadiness: 1, toMultishot: 0 });
        for (let n = 0; n < 12; n++) send(64, 80 + n);
        expect(proactor.receiveSwitches).toEqual({ toReadiness: 1, toMultishot: 1 });
        expect(Buffer.concat(reader.chunks).equals(Buffer.concat(sent))).toBe(true);
      } finally {
        proactor.close();
        a.close();
        b.close();
      }
    });

    itMultishot('cancelled in readiness mode (a paused transport), it reads nothing more: bytes whose readiness is already in the ring stay in the socket, in order', () => {
      const proactor = new UringProactor();
      const [a, b] = tcpPair();
      try {
        const reader = new Reader(proactor, proactor.recvMany!(a));
        const first = pattern(1024 * 1024, 3);
        reader.transfer(b, first, 64 * 1024);
        expect(proactor.receiveSwitches.toReadiness).toBe(1);
        // Sent before the cancel, and its readiness already posted in the
        // ring (hasCompletions() lets the kernel post without harvesting):
        // once cancelled, no recv(2) may take it.
        const later = pattern(200 * 1024, 4);
        let offset = 0;
        while (offset < later.length) offset += b.send(later.subarray(offset));
        expect(proactor.hasCompletions()).toBe(true);
        expect(proactor.cancel(reader.token)).toBe(true);
        for (let round = 0; round < 100 && reader.end === null; round++) reader.pollOnce();
        expect(reader.end?.result).toBe(-ECANCELED);
        expect(proactor.pending).toBe(0);
        expect(Buffer.concat(reader.chunks).equals(first)).toBe(true);
        const rest: Buffer[] = [];
        let got = 0;
        for (let round = 0; round < 1000 && got < later.length; round++) {
          try {
            const chunk = a.recv(64 * 1024);
            rest.push(chunk);
            got += chunk.length;
          } catch {
            proactor.poll(0.01);
          }
        }
        expect(Buffer.concat(rest).equals(later)).toBe(true);
      } finally {
        proactor.close();
        a.close();
        b.close();
      }
    });

    itMultishot('a socket closed with its readiness poll in flight: the poll ends before anything reads, and a new socket on the same fd number is not read', () => {
      const proactor = new UringProactor();
      const [a, b] = tcpPair();
      let c: sys.Socket | null = null;
      let d: sys.Socket | null = null;
      try {
        const reader = new Reader(proactor, proactor.recvMany!(a));
        reader.transfer(b, pattern(1024 * 1024, 5), 64 * 1024);
        expect(proactor.receiveSwitches.toReadiness).toBe(1);
        // What a transport's close does: cancel what is in flight on the fd, then close it.
        const fd = a.fileno();
        expect(proactor.cancelFd(fd)).toBe(1);
        a.close();
        [c, d] = tcpPair();
        const reused = c.fileno() === fd || d.fileno() === fd;
        const data = pattern(64 * 1024, 6);
        d.send(data);
        c.send(data);
        for (let round = 0; round < 100 && reader.end === null; round++) reader.pollOnce();
        expect(reader.end?.result).toBe(-ECANCELED);
        expect(proactor.pending).toBe(0);
        // The peer of the closed socket sees its end once the kernel let go of the file.
        let eof = false;
        for (let round = 0; round < 200 && !eof; round++) {
          try {
            eof = b.recv(65536).length === 0;
          } catch {
            proactor.poll(0.01);
          }
        }
        expect(eof).toBe(true);
        // Whichever end got the old number still has every byte sent to it.
        if (reused) {
          const [mine] = c.fileno() === fd ? [c] : [d];
          let got = 0;
          for (let round = 0; round < 200 && got < data.length; round++) {
            try {
              got += mine.recv(65536).length;
            } catch {
              proactor.poll(0.01);
            }
          }
          expect(got).toBe(data.length);
        }
      } finally {
        proactor.close();
        b.close();
        c?.close();
        d?.close();
      }
    });

    itMultishot('close() with a readiness poll in flight waits for it and leaves nothing behind; off by option, bulk stays multishot', () => {
      const proactor = new UringProactor();
      const [a, b] = tcpPair();
      try {
        const reader = new Reader(proactor, proactor.recvMany!(a));
        reader.transfer(b, pattern(1024 * 1024, 7), 64 * 1024);
        expect(proactor.receiveSwitches.toReadiness).toBe(1);
        expect(proactor.pending).toBe(1);
        proactor.close();
        expect(proactor.closed).toBe(true);
      } finally {
        proactor.close();
        a.close();
        b.close();
      }
      expect(() => new UringProactor({ bulkReadiness: 1 as unknown as boolean })).toThrow(/options.bulkReadiness/);
      const plain = new UringProactor({ bulkReadiness: false });
      const [c, d] = tcpPair();
      try {
        const reader = new Reader(plain, plain.recvMany!(c));
        const data = pattern(1024 * 1024, 8);
        reader.transfer(d, data, 64 * 1024);
        expect(plain.receiveSwitches).toEqual({ toReadiness: 0, toMultishot: 0 });
        expect(Buffer.concat(reader.chunks).equals(data)).toBe(true);
      } finally {
        plain.close();
        c.close();
        d.close();
      }
    });
  });

  it('a closed proactor throws RuntimeError, even for fileno()', () => {
    const proactor = new UringProactor();
    proactor.close();
    expect(() => proactor.fileno()).toThrow(RuntimeError);
  });
});
