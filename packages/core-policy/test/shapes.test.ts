// V8 keeps the shape (map) of an object only while some object has it, and
// for two full collections after. evloop keeps one object of each of its
// hot classes alive for good (src/loop/shapes.ts). Each must have the shape
// that objects made later get, whatever kinds of callback, argument and
// loop those carry: otherwise a full collection with none of them alive
// drops the shape, and with it the optimized timer path.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SelectorEventLoop } from '@evloop/core-policy';
import { ArgsHandle, Handle, OneArgHandle, SoonHandle, TimerHandle, handleFor } from '../src/loop/handles.js';
import { Queue } from '../src/loop/ready-queue.js';
import { _keptShapes } from '../src/loop/shapes.js';
import { Run, TimerHeap } from '../src/loop/timer-heap.js';
import { testSelector } from './helpers.js';

/** V8's own shape comparison and gc(), turned on at run time; null where they cannot be. */
function v8Natives(): { sameShape: (a: object, b: object) => boolean; gc: () => void } | null {
  try {
    setFlagsFromString('--allow-natives-syntax');
    setFlagsFromString('--expose-gc');
    const sameShape = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
    const gc = runInNewContext('gc') as () => void;
    sameShape({}, {});
    return { sameShape, gc };
  } catch {
    return null;
  }
}

const natives = v8Natives();

/**
 * The object kept for the class named `name`. Looked up by name, without
 * reading any of its properties: a read would move it off a shape V8 has
 * replaced and hide that it was left behind.
 */
function kept(name: string): object {
  const found = _keptShapes().get(name);
  expect(found, name).toBeDefined();
  return found!;
}

/** Runs timers and handles of every kind on a loop of their own, then closes it. */
async function everyKindOnce(): Promise<void> {
  const loop = new SelectorEventLoop(testSelector());
  try {
    await loop.runUntilComplete(async () => {
      let left = 0;
      const done = loop.createFuture<void>();
      const count = () => {
        if (--left === 0) done.setResult(undefined);
      };
      const arrow = () => count();
      function plain(): void {
        count();
      }
      const bound = plain.bind(null);
      const withArgs = (_a: unknown, _b?: unknown) => count();
      for (const delay of [0, 0.001, 0.0015, 1e-4]) {
        left += 7;
        loop.callLater(delay, arrow);
        loop.callLater(delay, plain);
        loop.callLater(delay, bound);
        loop.callLater(delay, withArgs, 1);
        loop.callLater(delay, withArgs, 'a', { b: 2 });
        loop.callAt(loop.time() + delay, arrow);
        loop.callSoon(withArgs, [1], 2);
      }
      left += 3;
      loop.callSoon(arrow);
      loop.callSoon(plain);
      loop.callSoon(withArgs, 1);
      await done;
    });
  } finally {
    loop.close();
  }
}

// The comparison comes first: it must see the kept objects before any test reads them.
describe('kept shapes', () => {
  it.skipIf(natives === null)(
    `timers and handles made after full collections with none alive have the kept shapes${natives === null ? ' (skipped: this runtime cannot turn on V8 natives syntax)' : ''}`,
    async () => {
      const { sameShape, gc } = natives!;
      await everyKindOnce();
      // Nothing of the loop above is alive; three full collections outlast V8's retention of unused shapes.
      for (let i = 0; i < 3; i++) gc();
      const loop = new SelectorEventLoop(testSelector());
      try {
        const plain = function plain(..._args: unknown[]): void {};
        const timers = [loop.callLater(0.01, () => {}), loop.callLater(0.25, plain), loop.callLater(0.01, plain, 1, 2), loop.callAt(loop.time() + 1, () => {})];
        // Compared first, before anything below reads a kept object.
        const shapes = {
          timer: timers.map((timer) => sameShape(kept('TimerHandle'), timer)),
          handle: sameShape(kept('Handle'), handleFor(plain, [], loop)),
          soon: sameShape(kept('SoonHandle'), loop.callSoon(plain)),
          oneArg: sameShape(kept('OneArgHandle'), loop.callSoon(plain, { one: 1 })),
          args: sameShape(kept('ArgsHandle'), loop.callSoon(plain, 1, 'two')),
          // A run as the heap makes one (TimerHeap.pushAfter).
          run: (() => {
            const run = new Run(0.037);
            run.items.push(timers[0]);
            run.when = timers[0]!._when;
            run.sequence = timers[0]!._sequence;
            return sameShape(kept('Run'), run);
          })(),
          heap: sameShape(kept('TimerHeap'), new TimerHeap()),
          queue: sameShape(kept('Queue'), new Queue<unknown>()),
        };
        expect(shapes).toEqual({ timer: [true, true, true, true], handle: true, soon: true, oneArg: true, args: true, run: true, heap: true, queue: true });
        for (const timer of timers) timer.cancel();
      } finally {
        loop.close();
      }
    },
  );

  it('keeps handles of every kind, a timer-heap run, a timer heap and a ready queue', () => {
    const classes = { Handle, SoonHandle, OneArgHandle, ArgsHandle, TimerHandle, Run, TimerHeap, Queue } as Record<string, new (...args: never[]) => object>;
    for (const [name, kind] of Object.entries(classes)) {
      expect(kept(name) instanceof kind, name).toBe(true);
    }
    // The same objects every time: made once, when the modules load.
    expect(_keptShapes().get('TimerHandle')).toBe(_keptShapes().get('TimerHandle'));
  });
});
