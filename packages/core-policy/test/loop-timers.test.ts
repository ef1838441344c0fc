// Timers on a running loop with the real clock: the order asyncio gives
// (deadline, then scheduling order), how the loop arms its one Node timer
// (re-armed only when the earliest deadline moves earlier, never left armed
// for later than the first timer), and that it does not spin. No assertion
// here depends on how fast the machine is: iterations are counted and the
// armed deadline is read, not measured.
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { RuntimeError, SelectorEventLoop, type BaseEventLoop } from '@evloop/core-policy';
import { testSelector, withLoop } from './helpers.js';

const newLoop = () => new SelectorEventLoop(testSelector());

/** Count iterations (and those that ran no callback) while the loop runs. */
function countIterations(loop: BaseEventLoop): { iterations: number; empty: number } {
  const counts = { iterations: 0, empty: 0 };
  loop.setIterationObserver((stats) => {
    counts.iterations++;
    if (stats.callbacks === 0) counts.empty++;
  });
  return counts;
}

/** Resolve after `ms` on Node's own timers (outside the loop). */
const nodeSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('timers on a running loop (real clock)', () => {
  it('fire in (deadline, scheduling order) across many delays and ties, never before their deadline, with loop.time() never going back', () =>
    withLoop(newLoop, async ({ loop }) => {
      // 20 delays (several timers share each, so they form runs of one
      // delay), plus callAt timers on the deadlines of some of them: ties.
      const timers: { when: number; order: number }[] = [];
      const fired: { order: number; time: number }[] = [];
      let order = 0;
      const base = loop.time();
      for (let i = 0; i < 400; i++) {
        const delay = ((i * 7) % 20) / 1000;
        const mine = order++;
        const timer = loop.callLater(delay, () => fired.push({ order: mine, time: loop.time() }));
        timers.push({ when: timer.when(), order: mine });
        if (i % 10 === 0) {
          const tied = order++;
          loop.callAt(timer.when(), () => fired.push({ order: tied, time: loop.time() }));
          timers.push({ when: timer.when(), order: tied });
        }
      }
      const last = Math.max(...timers.map((timer) => timer.when));
      loop.callAt(last, () => loop.stop());
      await loop.runForever();
      expect(fired).toHaveLength(timers.length);
      const expected = [...timers].sort((a, b) => a.when - b.when || a.order - b.order).map((timer) => timer.order);
      expect(fired.map((entry) => entry.order)).toEqual(expected);
      const byOrder = new Map(timers.map((timer) => [timer.order, timer.when]));
      let previous = base;
      for (const entry of fired) {
        expect(entry.time).toBeGreaterThanOrEqual(byOrder.get(entry.order)!);
        expect(entry.time).toBeGreaterThanOrEqual(previous);
        previous = entry.time;
      }
    }));

  it('a timer scheduled (from outside the loop) for before the armed wake-up re-arms the Node timer for it', () =>
    withLoop(newLoop, async ({ loop }) => {
      const fired: string[] = [];
      loop.callLater(30, () => fired.push('far'));
      const running = loop.runForever();
      await nodeSleep(5);
      // The loop is idle with its Node timer armed about 30 s ahead.
      expect(loop._nodeTimer).not.toBeNull();
      expect(loop._nodeTimerDue).toBeGreaterThan(performance.now() + 20_000);
      const before = performance.now();
      loop.callLater(0.02, () => {
        fired.push('near');
        loop.stop();
      });
      // Armed for the new timer: at most its delay, rounded up to a whole ms, from now.
      expect(loop._nodeTimerDue).toBeLessThanOrEqual(performance.now() + 21);
      expect(loop._nodeTimerDue).toBeGreaterThanOrEqual(before + 20);
      await running;
      expect(fired).toEqual(['near']);
    }));

  it('a timer scheduled for after the armed wake-up leaves the Node timer as it is', () =>
    withLoop(newLoop, async ({ loop }) => {
      loop.callLater(0.05, () => loop.stop());
      const running = loop.runForever();
      await nodeSleep(1);
      const armed = loop._nodeTimer;
      const due = loop._nodeTimerDue;
      expect(armed).not.toBeNull();
      loop.callLater(10, () => {});
      expect(loop._nodeTimer).toBe(armed);
      expect(loop._nodeTimerDue).toBe(due);
      await running;
    }));

  it('cancelling the earliest timer: the later one still fires, after at most one wake-up that runs nothing', () =>
    withLoop(newLoop, async ({ loop }) => {
      const counts = countIterations(loop);
      const fired: string[] = [];
      const first = loop.callLater(0.01, () => fired.push('first'));
      loop.callLater(0.04, () => {
        fired.push('second');
        loop.stop();
      });
      const running = loop.runForever();
      await nodeSleep(1);
      first.cancel();
      await running;
      expect(fired).toEqual(['second']);
      // The start, perhaps one early wake-up for the cancelled timer, then the second.
      expect(counts.empty).toBeLessThanOrEqual(2);
      expect(counts.iterations).toBeLessThanOrEqual(3);
    }));

  it('does not spin while only far timers are scheduled: a handful of iterations over 100 ms', () =>
    withLoop(newLoop, async ({ loop }) => {
      const counts = countIterations(loop);
      const far = loop.callLater(60, () => {});
      loop.callLater(120, () => {});
      const running = loop.runForever();
      await nodeSleep(100);
      far.cancel();
      loop.stop();
      await running;
      // The first iteration, and the one stop() asked for.
      expect(counts.iterations).toBeLessThanOrEqual(3);
    }));

  it('timers falling due while callbacks run are run by the following iterations, in order', () =>
    withLoop(newLoop, async ({ loop }) => {
      // Each callback busies the thread until the next timer is due, so
      // every iteration ends with another timer already due: the next
      // iteration runs it, in order, none is lost or run twice.
      const fired: number[] = [];
      const count = 40;
      const timers = Array.from({ length: count }, (_, i) =>
        loop.callLater(0.0002 * i, () => {
          fired.push(i);
          const next = timers[i + 1];
          if (next === undefined) {
            loop.stop();
            return;
          }
          while (loop.time() < next.when()) {
            /* busy until the next timer is due */
          }
        }),
      );
      await loop.runForever();
      expect(fired).toEqual(Array.from({ length: count }, (_, i) => i));
    }));

  it('timers that fall due while a callback runs: never before their deadline, ties in scheduling order, one cancelled meanwhile skipped', () =>
    withLoop(newLoop, async ({ loop }) => {
      // Three timers on one deadline (callLater, then callAt twice on its
      // deadline), all falling due while the first callback runs, which
      // also cancels the second of them; then one more after them.
      const fired: { name: string; time: number; when: number }[] = [];
      const tieA = loop.callLater(0.003, () => {
        fired.push({ name: 'tieA', time: loop.time(), when: tieA.when() });
      });
      const tieB = loop.callAt(tieA.when(), () => {
        fired.push({ name: 'tieB', time: loop.time(), when: tieB.when() });
      });
      const tieC = loop.callAt(tieA.when(), () => {
        fired.push({ name: 'tieC', time: loop.time(), when: tieC.when() });
      });
      const first = loop.callAt(tieA.when() - 0.002, () => {
        fired.push({ name: 'first', time: loop.time(), when: first.when() });
        while (loop.time() < tieA.when()) {
          /* busy until the ties are due */
        }
        tieB.cancel();
      });
      const after = loop.callAt(tieA.when() + 0.001, () => {
        fired.push({ name: 'after', time: loop.time(), when: after.when() });
        loop.stop();
      });
      await loop.runForever();
      expect(fired.map((entry) => entry.name)).toEqual(['first', 'tieA', 'tieC', 'after']);
      for (const entry of fired) expect(entry.time).toBeGreaterThanOrEqual(entry.when);
    }));

  it('callLater/callAt: argument checks, closed loop, extra arguments', () =>
    withLoop(newLoop, async ({ loop }) => {
      expect(() => loop.callLater('1' as never, () => {})).toThrow(/delay must be a number/);
      expect(() => loop.callLater(Number.NaN, () => {})).toThrow(RangeError);
      expect(() => loop.callLater(Number.NaN, () => {})).toThrow(/delay/);
      expect(() => loop.callLater(0, null as never)).toThrow(/callLater/);
      expect(() => loop.callAt(null as never, () => {})).toThrow(TypeError);
      expect(() => loop.callAt(null as never, () => {})).toThrow(/when/);
      expect(() => loop.callAt(0, 5 as never)).toThrow(/callAt/);
      const seen: unknown[][] = [];
      loop.callLater(0, (...args: unknown[]) => seen.push(args), 1, 'two', null);
      loop.callAt(loop.time(), (...args: unknown[]) => seen.push(args));
      loop.callAt(loop.time(), (a: number) => seen.push([a]), 3);
      loop.callLater(0.001, () => loop.stop());
      await loop.runForever();
      expect(seen).toEqual([[1, 'two', null], [], [3]]);
      loop.close();
      expect(() => loop.callLater(0, () => {})).toThrow(RuntimeError);
      expect(() => loop.callAt(0, () => {})).toThrow(RuntimeError);
    }));
});
