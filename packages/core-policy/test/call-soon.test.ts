// callSoon with no arguments queues the bare callback; the handle it returns
// finds its callback by its sequence number when cancelled (SoonHandle).
// These pin what asyncio's call_soon gives: FIFO order across every kind of
// entry, cancel() taking out exactly that call (not another call of the same
// function), cancel() after the run changing nothing, and a callback that
// throws reaching the exception handler with a handle in its context.
import { describe, expect, it } from 'vitest';
import type { ExceptionContext } from '@evloop/interface';
import { Handle, SelectorEventLoop, setLogger } from '@evloop/core-policy';
import { SoonHandle } from '../src/loop/handles.js';
import { Queue } from '../src/loop/ready-queue.js';
import { testSelector } from './helpers.js';

/** Run `main` on a fresh loop, then let it iterate until `main`'s callbacks are done. */
async function onLoop(main: (loop: SelectorEventLoop) => Promise<void> | void, debug = false): Promise<void> {
  const loop = new SelectorEventLoop(testSelector());
  loop.setDebug(debug);
  try {
    await loop.runUntilComplete(async () => {
      await main(loop);
    });
  } finally {
    loop.close();
  }
}

/** Wait until every callback queued so far (and what they queue once) has run. */
function drained(loop: SelectorEventLoop): Promise<void> {
  const done = loop.createFuture<void>();
  loop.callSoon(() => loop.callSoon(() => done.setResult(undefined)));
  return done as unknown as Promise<void>;
}

describe('callSoon without arguments', () => {
  it('returns a Handle that is not cancelled, and runs in FIFO order with handles that carry arguments and with timers', () =>
    onLoop(async (loop) => {
      const order: string[] = [];
      const log = (name: string) => () => order.push(name);
      const first = loop.callSoon(log('a'));
      loop.callSoon((name: string) => order.push(name), 'b');
      loop.callSoon(log('c'));
      loop.callLater(0, log('timer'));
      loop.callSoon((x: string, y: string) => order.push(x + y), 'd', 'e');
      loop.callSoon(log('f'));
      expect(first).toBeInstanceOf(Handle);
      expect(first).toBeInstanceOf(SoonHandle);
      expect(first.cancelled()).toBe(false);
      expect(first.toString()).toBe('<Handle <anonymous>()>');
      await drained(loop);
      expect(order.slice(0, 5)).toEqual(['a', 'b', 'c', 'de', 'f']);
      expect(order).toContain('timer');
      expect(first.cancelled()).toBe(false);
    }));

  it('cancel() takes out exactly its own call of a function queued several times, and the others keep their places', () =>
    onLoop(async (loop) => {
      const order: string[] = [];
      let calls = 0;
      const f = () => order.push(`f${++calls}`);
      const g = (name: string) => () => order.push(name);
      const h1 = loop.callSoon(f);
      loop.callSoon(g('g1'));
      const h2 = loop.callSoon(f);
      loop.callSoon(g('g2'));
      const h3 = loop.callSoon(f);
      h2.cancel();
      expect(h2.cancelled()).toBe(true);
      expect(h1.cancelled()).toBe(false);
      await drained(loop);
      // h1's call runs first and h3's last: h2's place, between g1 and g2, is empty.
      expect(order).toEqual(['f1', 'g1', 'g2', 'f2']);
      expect(h3.cancelled()).toBe(false);
    }));

  it('cancel() of the first of them leaves the later ones', () =>
    onLoop(async (loop) => {
      const order: string[] = [];
      const f = () => order.push('f');
      const h1 = loop.callSoon(f);
      loop.callSoon(() => order.push('g'));
      loop.callSoon(f);
      h1.cancel();
      h1.cancel();
      await drained(loop);
      expect(order).toEqual(['g', 'f']);
    }));

  it('cancel() after its callback ran marks it cancelled and takes out no later call of the same function', () =>
    onLoop(async (loop) => {
      let calls = 0;
      const f = () => calls++;
      const h1 = loop.callSoon(f);
      await drained(loop);
      expect(calls).toBe(1);
      const h2 = loop.callSoon(f);
      h1.cancel();
      expect(h1.cancelled()).toBe(true);
      expect(h2.cancelled()).toBe(false);
      await drained(loop);
      expect(calls).toBe(2);
    }));

  it('cancel() from a callback of the same iteration takes out a call queued behind it', () =>
    onLoop(async (loop) => {
      const ran: number[] = [];
      const handles: Handle[] = [];
      loop.callSoon(() => {
        handles[1]!.cancel();
        handles[3]!.cancel();
      });
      for (let i = 0; i < 5; i++) handles.push(loop.callSoon(() => ran.push(i)));
      await drained(loop);
      expect(ran).toEqual([0, 2, 4]);
    }));

  it('cancel() keeps working across the queue growing and wrapping around', () =>
    onLoop(async (loop) => {
      // More than the queue's first capacity (1,024), queued while earlier ones are being taken off.
      let calls = 0;
      const f = () => calls++;
      for (let round = 0; round < 3; round++) {
        const handles = Array.from({ length: 3000 }, () => loop.callSoon(f));
        for (let i = 0; i < handles.length; i += 3) handles[i]!.cancel();
        await drained(loop);
      }
      expect(calls).toBe(3 * 2000);
    }));

  it('a callback that throws reaches the exception handler with a handle naming it, and the next ones still run', () =>
    onLoop(async (loop) => {
      const contexts: ExceptionContext[] = [];
      loop.setExceptionHandler((_loop, context) => contexts.push(context));
      const order: string[] = [];
      loop.callSoon(function thrower() {
        throw new Error('boom');
      });
      loop.callSoon(() => order.push('after'));
      await drained(loop);
      expect(order).toEqual(['after']);
      expect(contexts).toHaveLength(1);
      expect(contexts[0]!.message).toBe('Exception in callback thrower()');
      expect((contexts[0]!.exception as Error).message).toBe('boom');
      expect(contexts[0]!.handle).toBeInstanceOf(Handle);
      expect(String(contexts[0]!.handle)).toBe('<Handle thrower()>');
    }));

  it('with the ready queue shuffled (setReadyShuffle), cancel() still takes out exactly its own call', () =>
    onLoop(async (loop) => {
      let seed = 7;
      loop.setReadyShuffle(() => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed / 2147483648;
      });
      for (let round = 0; round < 20; round++) {
        const ran = new Set<number>();
        let fCalls = 0;
        const f = () => fCalls++;
        const handles: Handle[] = [];
        const fHandles: Handle[] = [];
        // Whichever runs first in the shuffled iteration cancels the odd ones, run or not.
        let cancelled = false;
        const cancelOdd = () => {
          if (cancelled) return;
          cancelled = true;
          for (let i = 1; i < handles.length; i += 2) handles[i]!.cancel();
          for (let i = 1; i < fHandles.length; i += 2) fHandles[i]!.cancel();
        };
        const ranBefore = new Set<number>();
        for (let i = 0; i < 20; i++) {
          handles.push(
            loop.callSoon(() => {
              if (!cancelled) ranBefore.add(i);
              ran.add(i);
              cancelOdd();
            }),
          );
          fHandles.push(loop.callSoon(f));
        }
        await drained(loop);
        // Every even call ran; an odd one ran only if it ran before the cancelling.
        for (let i = 0; i < 20; i++) expect(ran.has(i), `call ${i}`).toBe(i % 2 === 0 || ranBefore.has(i));
        expect(fCalls).toBeGreaterThanOrEqual(10);
        expect(fCalls).toBeLessThanOrEqual(20);
      }
      loop.setReadyShuffle(null);
    }));

  it('with the ready queue shuffled, the calls of one function that were not cancelled all run', () =>
    onLoop(async (loop) => {
      loop.setReadyShuffle(() => 0.5);
      let calls = 0;
      const f = () => calls++;
      const handles = Array.from({ length: 10 }, () => loop.callSoon(f));
      // Cancelled before the shuffle: exactly 7 of 10 run.
      handles[0]!.cancel();
      handles[4]!.cancel();
      handles[9]!.cancel();
      await drained(loop);
      expect(calls).toBe(7);
    }));

  it('in debug mode returns a plain Handle with where it was made; callbacks queued before debug mode was on still run and are named', () => {
    const warnings: string[] = [];
    const previous = setLogger({ error: () => {}, warning: (message) => warnings.push(message), info: () => {}, debug: () => {} });
    return onLoop(async (loop) => {
      let calls = 0;
      loop.callSoon(function queuedBefore() {
        const end = performance.now() + 80;
        while (performance.now() < end) {
          // slower than slowCallbackDuration
        }
        calls++;
      });
      loop.setDebug(true);
      loop.slowCallbackDuration = 0.05;
      const debugHandle = loop.callSoon(() => calls++);
      expect(debugHandle).not.toBeInstanceOf(SoonHandle);
      expect(debugHandle).toBeInstanceOf(Handle);
      await drained(loop);
      expect(calls).toBe(2);
      expect(warnings.some((line) => line.startsWith('Executing <Handle queuedBefore()> took'))).toBe(true);
      loop.setDebug(false);
    }).finally(() => setLogger(previous));
  });

  it('cancel() after the loop closed does nothing', async () => {
    const loop = new SelectorEventLoop(testSelector());
    const handle = loop.callSoon(() => {});
    loop.close();
    handle.cancel();
    expect(handle.cancelled()).toBe(true);
  });
});

describe('the ready queue', () => {
  it('numbers its items as they are pushed and counts what left the front, through growth and clear()', () => {
    const queue = new Queue<number>(16);
    for (let i = 0; i < 40; i++) {
      queue.push(i);
      if (i % 3 === 0) queue.shift();
    }
    expect(queue.shifted).toBe(14);
    expect(queue.length).toBe(26);
    // The item numbered n is at(n - shifted).
    expect(queue.at(0)).toBe(14);
    expect(queue.at(25)).toBe(39);
    queue.set(1, -1);
    expect([...queue].slice(0, 3)).toEqual([14, -1, 16]);
    queue.clear();
    expect(queue.shifted).toBe(40);
    expect(queue.length).toBe(0);
  });
});
