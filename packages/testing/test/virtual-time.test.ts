import { describe, expect, it } from 'vitest';
import type { BackendDescriptor } from '@evloop/interface';
import { TimeoutError, currentTask, getRunningLoop, sleep, startServer, timeout, type BaseEventLoop } from '@evloop/core-policy';
import { backend as epoll } from '@evloop/selector-epoll';
import { backend as poll } from '@evloop/selector-poll';
import { backend as uring } from '@evloop/proactor-uring';
import { backend as select } from '@evloop/selector-select';
import * as sys from '@evloop/sys';
import { withLoop, type LoopHarness } from '../../conformance/src/harness.js';
import { VirtualClock, createTestLoop, type TestLoopOptions } from '../src/index.js';

// The proactor loop (io_uring) too: its I/O is operations in flight, not watched fds.
const backends: BackendDescriptor[] = [epoll, poll, select, uring].filter((descriptor) => descriptor.available().ok);

for (const descriptor of backends) {
  describe(`virtual time on ${descriptor.name}`, () => {
    /** A test on the evloop harness (loop closed, no fd/handle leak, no stray exception) with a virtual-time loop. */
    const test = (title: string, body: (harness: LoopHarness & { clock: VirtualClock }) => Promise<void>, options: TestLoopOptions = {}) =>
      it(title, () => {
        let clock!: VirtualClock;
        return withLoop(
          () => {
            const made = createTestLoop({ backend: descriptor, ...options });
            clock = made.clock!;
            return made.loop;
          },
          (harness) => body(Object.assign(harness, { clock })),
        );
      });

    test('a 30-second timeout happens at virtual 30 s, at once', async ({ loop, clock }) => {
      const outcome = await loop.runUntilComplete(async () => {
        try {
          await timeout(30, async () => sleep(3600));
        } catch (error) {
          return TimeoutError.isInstance(error) ? `timed out at ${loop.time()}` : String(error);
        }
        return 'no timeout';
      });
      expect(outcome).toBe('timed out at 30');
      expect(clock.jumps).toBe(1);
    });

    test('timers fire in order, each at its exact virtual time', async ({ loop }) => {
      const fired: Array<[string, number]> = [];
      for (const [label, delay] of [['five', 5], ['one', 1], ['three', 3], ['one again', 1]] as const) {
        loop.callLater(delay, () => fired.push([label, loop.time()]));
      }
      loop.callLater(10, () => loop.stop());
      await loop.runForever();
      expect(fired).toEqual([['one', 1], ['one again', 1], ['three', 3], ['five', 5]]);
      expect(loop.time()).toBe(10);
    });

    test('generator and async tasks blocked on one another still let time jump', async ({ loop }) => {
      const result = await loop.runUntilComplete(function* () {
        const other = getRunningLoop().createTask(async () => {
          await sleep(100);
          return getRunningLoop().time();
        });
        yield* sleep(50);
        const seenAt = getRunningLoop().time();
        const otherAt: number = yield* other;
        return [seenAt, otherAt, currentTask() !== null];
      });
      expect(result).toEqual([50, 100, true]);
    });

    test('real loopback I/O works: data sent after a virtual delay arrives, and a listening server does not hold time back', async ({ loop }) => {
      const server = await loop.runUntilComplete(startServer(() => {}, '127.0.0.1', 0));
      const [left, right] = sys.socketpair();
      left.setBlocking(false);
      right.setBlocking(false);
      try {
        const received = await loop.runUntilComplete(async () => {
          const sender = loop.createTask(async () => {
            await sleep(5);
            await loop.sockSendall(right, Buffer.from('after five seconds'));
          });
          const data = await timeout(10, async () => loop.sockRecv(left, 100));
          await sender;
          return [data.toString(), loop.time()];
        });
        expect(received).toEqual(['after five seconds', 5]);
        // The server's listening socket is watched, yet an idle sleep still jumps.
        await loop.runUntilComplete(sleep(1000));
        expect(loop.time()).toBe(1005);
      } finally {
        left.close();
        right.close();
        server.close();
        await loop.runUntilComplete(server.waitClosed());
      }
    });

    test('bytes already in the kernel are handled before time jumps', async ({ loop }) => {
      const [left, right] = sys.socketpair();
      left.setBlocking(false);
      right.setBlocking(false);
      try {
        const events: string[] = [];
        loop.addReader(left, () => {
          events.push(`read ${left.recv(100).toString()} at ${loop.time()}`);
          loop.removeReader(left);
        });
        // Written from outside the loop, before it runs: the reader must run before the 60 s timer.
        right.send(Buffer.from('x'));
        loop.callLater(60, () => {
          events.push(`timer at ${loop.time()}`);
          loop.stop();
        });
        await loop.runForever();
        expect(events).toEqual(['read x at 0', 'timer at 60']);
      } finally {
        left.close();
        right.close();
      }
    });

    test("io: 'hold' waits in real time while an fd is watched, and jumps again once none is", async ({ loop, clock }) => {
      const [left, right] = sys.socketpair();
      try {
        loop.addReader(left, () => {});
        await loop.runUntilComplete(sleep(0.02));
        expect(clock.jumps).toBe(0);
        expect(loop.time()).toBeGreaterThanOrEqual(0.02);
        loop.removeReader(left);
        const before = loop.time();
        await loop.runUntilComplete(sleep(500));
        expect(loop.time()).toBe(before + 500);
        expect(clock.jumps).toBe(1);
      } finally {
        left.close();
        right.close();
      }
    }, { io: 'hold' });

    test('with autojump off, time moves only by advance()', async ({ loop, clock }) => {
      const order: string[] = [];
      loop.callLater(10, () => order.push(`timer at ${loop.time()}`));
      loop.callSoon(() => {
        order.push('advancing');
        clock.advance(4);
        loop.callSoon(() => {
          order.push(`at ${loop.time()}`);
          clock.advance(6);
        });
      });
      loop.callLater(10, () => loop.stop());
      await loop.runForever();
      expect(order).toEqual(['advancing', 'at 4', 'timer at 10']);
      expect(clock.jumps).toBe(0);
      clock.autojump = true;
      expect(clock.autojump).toBe(true);
    }, { autojump: false, start: 0 });

    test('start and autojumpThreshold: the jump waits for real idleness, then lands on the timer', async ({ loop, clock }) => {
      expect(loop.time()).toBe(1000);
      await loop.runUntilComplete(sleep(60));
      expect(loop.time()).toBe(1060);
      expect(clock.jumps).toBe(1);
    }, { start: 1000, autojumpThreshold: 0.01 });

    test('a seed shuffles callbacks ready in the same iteration, and the same seed replays the order', async () => {
      const orderWith = async (seed: number | null): Promise<number[]> => {
        const { loop } = createTestLoop({ backend: descriptor, seed });
        try {
          const order: number[] = [];
          for (let i = 0; i < 20; i++) loop.callSoon(() => order.push(i));
          await loop.runUntilComplete(sleep(0));
          return order;
        } finally {
          loop.close();
        }
      };
      const fifo = Array.from({ length: 20 }, (_, i) => i);
      expect(await orderWith(null)).toEqual(fifo);
      const shuffled = await orderWith(7);
      expect(shuffled).not.toEqual(fifo);
      expect([...shuffled].sort((a, b) => a - b)).toEqual(fifo);
      expect(await orderWith(7)).toEqual(shuffled);
      expect(await orderWith(8)).not.toEqual(shuffled);
    });
  });
}

describe('arguments', () => {
  it('bad options are typed errors naming the argument', () => {
    expect(() => new VirtualClock({ start: '1' as never })).toThrow(/start must be a number/);
    expect(() => new VirtualClock({ start: Number.NaN })).toThrow(RangeError);
    expect(() => new VirtualClock({ autojumpThreshold: -1 })).toThrow(/autojumpThreshold must not be negative/);
    expect(() => new VirtualClock({ io: 'sometimes' as never })).toThrow(RangeError);
    expect(() => new VirtualClock({ autojump: 'yes' as never })).toThrow(TypeError);
    expect(() => new VirtualClock(null as never)).toThrow(TypeError);
    expect(() => new VirtualClock().advance(-1)).toThrow(RangeError);
    expect(() => new VirtualClock().install({} as BaseEventLoop)).toThrow(TypeError);
    expect(() => createTestLoop({ seed: 1.5 })).toThrow(/seed must be an integer/);
    expect(() => createTestLoop({ backend: 'nonesuch' })).toThrow(RangeError);
    expect(() => createTestLoop({ virtualTime: 'no' as never })).toThrow(TypeError);
  });

  it('a clock serves one loop', () => {
    const clock = new VirtualClock();
    const first = createTestLoop({ backend: poll, virtualTime: false });
    const second = createTestLoop({ backend: poll, virtualTime: false });
    try {
      clock.install(first.loop);
      expect(first.loop.getClock()).toBe(clock);
      expect(() => clock.install(second.loop)).toThrow(RangeError);
      expect(second.clock).toBe(null);
    } finally {
      first.loop.close();
      second.loop.close();
    }
  });
});
