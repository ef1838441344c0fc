// The timer heap must give timers in (when, insertion order) exactly, as
// asyncio's heap does, whichever way they were scheduled: by delay (runs of
// one delay), by deadline, with ties, with a clock that goes back, and after
// a purge rebuilt it. Checked against a plain sort of the same timers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerHandle } from '../src/loop/handles.js';
import { TimerHeap } from '../src/loop/timer-heap.js';
import type { BaseEventLoop } from '../src/base/base-event-loop.js';
import { SelectorEventLoop } from '@evloop/core-policy';
import { testSelector } from './helpers.js';

const loop = { _debug: false, getDebug: () => false } as unknown as BaseEventLoop;

type Op = { kind: 'after'; clock: number; delay: number } | { kind: 'at'; when: number } | { kind: 'pop' } | { kind: 'purge' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('after' as const), clock: fc.integer({ min: -3, max: 10 }), delay: fc.constantFrom(0, 0.001, 0.002, 0.01, 1, 0.0015) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('at' as const), when: fc.constantFrom(0, 0.5, 1, 1.001, 2, 10.01) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const) }) },
);

function byKey(a: TimerHandle, b: TimerHandle): number {
  return a._when - b._when || a._sequence - b._sequence;
}

describe('TimerHeap', () => {
  it('pops in (when, insertion order) whatever the mix of delays, deadlines, ties, clock steps back and purges', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new TimerHeap();
        const reference: TimerHandle[] = [];
        let now = 0;
        let sequence = 0;
        for (const step of ops) {
          if (step.kind === 'after') {
            now += step.clock / 1000; // mostly forward, sometimes back
            const timer = new TimerHandle(now + step.delay, sequence++, () => {}, null, loop);
            heap.pushAfter(timer, step.delay);
            reference.push(timer);
          } else if (step.kind === 'at') {
            const timer = new TimerHandle(step.when, sequence++, () => {}, null, loop);
            heap.push(timer);
            reference.push(timer);
          } else if (step.kind === 'pop') {
            reference.sort(byKey);
            expect(heap.peek()).toBe(reference[0]);
            expect(heap.pop()).toBe(reference.shift());
          } else {
            const all = heap.items;
            expect(new Set(all)).toEqual(new Set(reference));
            heap.replace(all.filter((timer) => timer._sequence % 3 !== 0));
            for (let i = reference.length - 1; i >= 0; i--) if (reference[i]!._sequence % 3 === 0) reference.splice(i, 1);
          }
          expect(heap.length).toBe(reference.length);
        }
        reference.sort(byKey);
        const rest: TimerHandle[] = [];
        while (heap.length > 0) rest.push(heap.pop()!);
        expect(rest).toEqual(reference);
        expect(heap.pop()).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('a long run of one delay stays in order while it is consumed and refilled', () => {
    const heap = new TimerHeap();
    let sequence = 0;
    let expected = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3000; i++) heap.pushAfter(new TimerHandle(sequence * 1e-6 + 1, sequence++, () => {}, null, loop), 1);
      for (let i = 0; i < 2500; i++) expect(heap.pop()!._sequence).toBe(expected++);
    }
    while (heap.length > 0) expect(heap.pop()!._sequence).toBe(expected++);
    expect(expected).toBe(sequence);
  });
});

describe('timers on a loop', () => {
  it('timers due at the same time run in the order they were scheduled, whether by callLater (one delay or several) or callAt', async () => {
    const loop = new SelectorEventLoop(testSelector());
    // A virtual clock that stands still while timers are scheduled, so
    // several delays and deadlines land on exactly the same instants.
    let now = 0;
    loop.setClock({
      time: () => now,
      sleepUntil: (when, wake) => {
        const immediate = setImmediate(() => {
          now = when;
          wake();
        });
        return () => clearImmediate(immediate);
      },
    });
    const fired: string[] = [];
    try {
      for (let i = 0; i < 2000; i++) {
        const name = `t${i}`;
        const kind = i % 4;
        if (kind === 0) loop.callLater(0.001, () => fired.push(name));
        else if (kind === 1) loop.callAt(0.001, () => fired.push(name));
        else if (kind === 2) loop.callLater(0.002, () => fired.push(name));
        else loop.callAt(0.002, () => fired.push(name));
      }
      loop.callAt(0.003, () => loop.stop());
      await loop.runForever();
    } finally {
      loop.close();
    }
    const expected = [
      ...Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 4 < 2),
      ...Array.from({ length: 2000 }, (_, i) => i).filter((i) => i % 4 >= 2),
    ].map((i) => `t${i}`);
    expect(fired).toEqual(expected);
  });
});
