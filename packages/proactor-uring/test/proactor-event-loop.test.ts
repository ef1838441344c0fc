import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { RuntimeError, type BackendDescriptor } from '@evloop/interface';
import { DefaultEventLoopPolicy, ProactorEventLoop, SelectorEventLoop, loopForBackend, setLogger, sleep } from '@evloop/core-policy';
import { DEAD_REGISTRATION_CHECK_INTERVAL } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { describe, expect, it } from 'vitest';
import { backend, UringProactor } from '../src/index.js';

const availability = backend.available();

/** Run `body` on a fresh proactor loop over io_uring, closing it after. */
async function onLoop(body: (loop: ProactorEventLoop) => Promise<void>, options: ConstructorParameters<typeof UringProactor>[0] = {}): Promise<void> {
  const loop = new ProactorEventLoop(new UringProactor(options), { backend });
  try {
    await loop.runUntilComplete(() => body(loop));
  } finally {
    loop.close();
  }
}

describe.runIf(availability.ok)('ProactorEventLoop on io_uring', () => {
  it('is what the backend descriptor makes, and says which family runs', () => {
    const loop = loopForBackend(backend);
    try {
      expect(loop).toBeInstanceOf(ProactorEventLoop);
      expect(loop.backend).toBe(backend);
      expect(loop.backend!.kind).toBe('proactor');
      expect((loop as ProactorEventLoop).proactor.backendName).toBe('uring');
    } finally {
      loop.close();
    }
    const policy = new DefaultEventLoopPolicy({ backend: 'uring' });
    const fromPolicy = policy.newEventLoop();
    try {
      expect(fromPolicy).toBeInstanceOf(ProactorEventLoop);
      expect(fromPolicy.backend!.name).toBe('uring');
    } finally {
      fromPolicy.close();
    }
  });

  it('EVLOOP_BACKEND=uring builds a ProactorEventLoop in a fresh process', () => {
    const entry = fileURLToPath(new URL('../../core-policy/dist/index.cjs', import.meta.url));
    const script = `const { newEventLoop } = require(${JSON.stringify(entry)}); const loop = newEventLoop(); console.log(loop.constructor.name, loop.backend.name, loop.backend.kind); loop.close();`;
    const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, EVLOOP_BACKEND: 'uring' }, encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('ProactorEventLoop uring proactor');
  });

  it('refuses what is not a proactor, with a TypeError that says what to use', () => {
    const selectorBackend = { name: 'epoll', kind: 'selector', createSelector: () => null } as unknown as BackendDescriptor;
    expect(() => new ProactorEventLoop(undefined, { backend: selectorBackend })).toThrow(/SelectorEventLoop/);
    expect(() => new ProactorEventLoop({} as never)).toThrow(TypeError);
    expect(() => new SelectorEventLoop(undefined, { backend })).toThrow(/loopForBackend/);
  });

  it('addReader/addWriter work, level-triggered, through readiness polls; removeReader stops them', async () => {
    await onLoop(async (loop) => {
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      try {
        let reads = 0;
        let writes = 0;
        loop.addWriter(a, () => {
          writes++;
          loop.removeWriter(a);
        });
        a.send(Buffer.from('x'));
        // Level-triggered: the unread byte makes the reader fire every iteration until it reads.
        const readTwice = loop.createFuture<void>();
        loop.addReader(b, () => {
          reads++;
          if (reads === 2) {
            expect(b.recv(10).toString()).toBe('x');
            readTwice.setResult(undefined);
          }
        });
        await readTwice;
        await sleep(0.02);
        expect(reads).toBe(2);
        expect(writes).toBe(1);
        expect(loop.removeReader(b)).toBe(true);
        expect(loop.removeReader(b)).toBe(false);
        expect(loop.removeWriter(a)).toBe(false);
        a.send(Buffer.from('y'));
        await sleep(0.02);
        expect(reads).toBe(2);
        expect(loop.proactor.pending).toBe(0);
      } finally {
        a.close();
        b.close();
      }
    });
  });

  it('a watched fd closed and its number reused by another file: the registration is dropped within the check interval, with a debug warning naming the fd (no spin, no wrong file for long)', async () => {
    const warnings: string[] = [];
    const previous = setLogger({ error: () => {}, warning: (message) => warnings.push(message), info: () => {}, debug: () => {} });
    const sockets: sys.Socket[] = [];
    try {
      await onLoop(async (loop) => {
        loop.setDebug(true);
        const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
        sockets.push(b);
        const fd = a.fileno();
        b.send(Buffer.from('never read'));
        let calls = 0;
        loop.addReader(fd, () => calls++);
        await sleep(0);
        await sleep(0);
        expect(calls).toBeGreaterThan(0);
        // Close it behind the loop's back and let another socket take the
        // number, readable too: the poll started again after the last report
        // now lands on the new file, which is never what was registered.
        a.close();
        let c: sys.Socket | undefined;
        for (let attempt = 0; attempt < 8 && c === undefined; attempt++) {
          const pair = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
          sockets.push(...pair);
          if (pair[0].fileno() === fd) c = pair[0];
          else if (pair[1].fileno() === fd) c = pair[1];
        }
        expect(c, 'no new socket reused the closed fd number').toBeDefined();
        (c === sockets.at(-2) ? sockets.at(-1)! : sockets.at(-2)!).send(Buffer.from('other file'));
        // Iterations, not time, bound it: within the check interval (and a
        // few iterations of slack) the reader stops for good.
        for (let i = 0; i < DEAD_REGISTRATION_CHECK_INTERVAL + 8; i++) await sleep(0);
        const settled = calls;
        for (let i = 0; i < 20; i++) await sleep(0);
        expect(calls).toBe(settled);
        expect(warnings.filter((message) => message.includes(`fd ${fd} `))).toHaveLength(1);
        expect(loop.removeReader(fd)).toBe(false);
        expect(loop.proactor.pending).toBe(0);
      });
    } finally {
      setLogger(previous);
      for (const sock of sockets) sock.close();
    }
  });

  it('addReader on a closed fd is an OSError (EBADF), as a selector loop raises it', async () => {
    await onLoop(async (loop) => {
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      const fd = a.fileno();
      a.close();
      b.close();
      expect(() => loop.addReader(fd, () => {})).toThrow(expect.objectContaining({ code: 'EBADF', errno: 9 }));
      expect(loop.removeReader(fd)).toBe(false);
    });
  });

  it('cancelling a sock* future cancels its operation; the proactor lets go of it', async () => {
    await onLoop(async (loop) => {
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      try {
        const pending = loop.sockRecv(a, 10);
        await sleep(0.01);
        expect(loop.proactor.pending).toBe(1);
        pending.cancel();
        await sleep(0.01);
        expect(loop.proactor.pending).toBe(0);
        b.send(Buffer.from('after'));
        expect((await loop.sockRecv(a, 10)).toString()).toBe('after');
      } finally {
        a.close();
        b.close();
      }
    });
  });

  // The soak's hang (apps/soak): a callback that runs from the wait in the
  // ring enters the ring itself (here `hasCompletions()`; a transport's close
  // does through `cancelFd`), and an operation completes inside that entry,
  // after the loop's poll. Its completion must reach the loop without any
  // other event; before the fix the wait took it for one the loop had been
  // told about and declined, and left it in the ring until something else
  // woke the loop. A Node timer, not the loop's (which would poll), looks.
  it.each([
    ['waiting in the ring', {}],
    ['waiting on the eventfd', { idleWaitInRing: false }],
    ['waiting on a helper thread', { helperThread: true }],
  ] as const)('a completion posted while a callback had entered the ring is taken without another event (%s)', async (_wait, options) => {
    await onLoop(async (loop) => {
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      const [c, d] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      try {
        for (let round = 0; round < 2; round++) {
          // The loop is idle, waiting (in the ring, on the eventfd or on a helper thread), when the byte comes.
          const wake = setTimeout(() => d.send(Buffer.from('x')), 30);
          expect((await loop.sockRecv(c, 1)).toString()).toBe('x');
          clearTimeout(wake);
          const sending = loop.sockSendall(a, Buffer.alloc(100, round));
          (loop.proactor as UringProactor).hasCompletions();
          // One look only, as in the next test: a second look's timer would
          // wake the loop. The send took microseconds; a second is against
          // the hang only.
          const taken = await new Promise<boolean>((resolve) => setTimeout(() => resolve(sending.done()), 1000));
          expect(taken).toBe(true);
          await sending;
          expect(b.recv(200)).toEqual(Buffer.alloc(100, round));
        }
      } finally {
        for (const sock of [a, b, c, d]) sock.close();
      }
    }, options);
  });

  // The same wait's other hole: a callback run from it starts a libuv fd
  // watch (here a Node server's listen). uv_backend_timeout() then says 0
  // until libuv's poll applies the change, and that poll blocks for the
  // real timeout: the wait returned on the 0 with the eventfd off, and the
  // receive the callback started was not even submitted until libuv woke
  // for something else (here the Node timer that looks).
  it('a callback from the wait in the ring that starts a libuv fd watch does not leave the loop asleep', async () => {
    await onLoop(async (loop) => {
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      const servers: net.Server[] = [];
      try {
        for (let round = 0; round < 3; round++) {
          const wake = setTimeout(() => b.send(Buffer.from('x')), 30);
          expect((await loop.sockRecv(a, 1)).toString()).toBe('x');
          clearTimeout(wake);
          const server = net.createServer();
          servers.push(server);
          server.listen(0);
          const receiving = loop.sockRecv(a, 1);
          b.send(Buffer.from('y'));
          // One look only: any libuv event (a second look's timer too) would
          // wake the loop and hide the hang. The byte is there already, so
          // the receive completes as soon as it is submitted; a second is
          // against the hang only.
          const taken = await new Promise<boolean>((resolve) => setTimeout(() => resolve(receiving.done()), 1000));
          expect(taken).toBe(true);
          expect((await receiving).toString()).toBe('y');
        }
      } finally {
        for (const server of servers) server.close();
        a.close();
        b.close();
      }
    });
  });

  it('a bulk stream over multishot receives, paused and resumed, then small messages: every view handed out keeps its bytes, in order; closed with a receive in flight', async () => {
    await onLoop(async (loop) => {
      const multishot = loop.proactor.recvMany !== undefined;
      const [a, b] = sys.socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0, { blocking: false });
      try {
        type Modes = { _multishot: boolean };
        const chunks: Buffer[] = [];
        let received = 0;
        let target = 0;
        let reached: ((value: void) => void) | null = null;
        const [transport] = await loop.connectAcceptedSocket(
          () => ({
            dataReceived(data: Buffer) {
              // Kept as views, never copied: a region read into again would show here.
              chunks.push(data);
              received += data.length;
              if (received >= target && reached !== null) {
                const done = reached;
                reached = null;
                done();
              }
            },
          }),
          a,
        );
        const modes = transport as unknown as Modes;
        const until = (bytes: number) => {
          target = bytes;
          return new Promise<void>((resolve) => {
            if (received >= bytes) resolve();
            else reached = resolve;
          });
        };
        const sent: Buffer[] = [];
        // 3 MiB in 64 KiB writes (each multishot completion fills a provided buffer), paused and resumed in the middle.
        const bulk = Buffer.alloc(3 * 1024 * 1024);
        for (let i = 0; i < bulk.length; i++) bulk[i] = (i * 7 + (i >> 12)) & 0xff;
        sent.push(bulk);
        const writing = (async () => {
          for (let offset = 0; offset < bulk.length; offset += 64 * 1024) await loop.sockSendall(b, bulk.subarray(offset, offset + 64 * 1024));
        })();
        await until(1024 * 1024);
        // By now the bulk stream is read on readiness (recv(2) into the slab): the pause stops that too.
        if (multishot) expect((loop.proactor as UringProactor).receiveSwitches.toReadiness).toBeGreaterThan(0);
        transport.pauseReading();
        const atPause = received;
        await sleep(0.02);
        // Nothing is delivered while paused: what arrives before the cancel lands waits for resume.
        expect(received).toBe(atPause);
        transport.resumeReading();
        await until(bulk.length);
        await writing;
        // Small messages, one at a time.
        for (let n = 0; n < 8; n++) {
          const small = Buffer.alloc(100, 97 + n);
          sent.push(small);
          const before = received;
          b.send(small);
          await until(before + small.length);
        }
        await sleep(0.01);
        expect(modes._multishot).toBe(multishot);
        expect(Buffer.concat(chunks).equals(Buffer.concat(sent))).toBe(true);
        // Another megabyte, then closed with the receive still in flight: nothing is reused or crashes.
        const again = Buffer.alloc(1024 * 1024, 0x5a);
        const total = received + again.length;
        await loop.sockSendall(b, again);
        await until(total);
        expect(loop.proactor.pending).toBeGreaterThan(0);
        sent.push(again);
        expect(Buffer.concat(chunks).equals(Buffer.concat(sent))).toBe(true);
        transport.close();
        // The cancel's completion comes back within a few iterations (bounded: up to a second).
        for (let wait = 0; wait < 100 && loop.proactor.pending > 0; wait++) await sleep(0.01);
        expect(loop.proactor.pending).toBe(0);
      } finally {
        a.close();
        b.close();
      }
    });
  });

  it('a closed loop is a RuntimeError for fd watching and sock* methods', () => {
    const loop = new ProactorEventLoop(new UringProactor());
    loop.close();
    expect(() => loop.addReader(0, () => {})).toThrow(RuntimeError);
    expect(loop.removeReader(0)).toBe(false);
    expect(() => loop.sockRecv({} as never, 1)).toThrow(RuntimeError);
  });
});
