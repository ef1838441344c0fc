import type { TimerHandle } from './handles.js';
import { keepShape } from './shapes.js';

/**
 * The timers with one delay (`callLater(delay)`), in the order they were
 * scheduled. On a clock that does not go back, that is also their order by
 * (when, insertion order), so the run is sorted as it grows: appending is
 * O(1) and only its first timer takes part in the heap of runs.
 */
/** @internal Exported for tests. */
export class Run {
  readonly delay: number;
  items: Array<TimerHandle | undefined> = [];
  head = 0;
  /**
   * The first timer's key (the heap of runs compares these). NaN until the
   * first timer is in: a double from the start, as loop times are. Starting
   * at 0 made the first real run change the field's kind, which moved runs
   * to a new shape and left the kept run behind (shapes.ts; the shapes test
   * fails that way).
   */
  when = Number.NaN;
  sequence = 0;

  constructor(delay: number) {
    this.delay = delay;
  }
}

/**
 * The loop's timers, in (when, insertion order): asyncio's order, exactly.
 *
 * Two structures share the work, and `peek`/`pop` take the earlier of their
 * first timers:
 * - `pushAfter(timer, delay)` (callLater) appends to the run of timers with
 *   that same delay (Node groups its own timers the same way), and a small
 *   binary heap orders the runs by their first timer. With 100,000 timers
 *   over 1,000 delays a pop sifts through 10 levels of a heap that stays in
 *   cache instead of 17 levels of arrays scattered over memory.
 * - `push(timer)` (callAt, and a callLater whose clock went back) goes in a
 *   binary min-heap whose keys live in number arrays beside the timers, so
 *   sifting compares plain numbers in adjacent memory.
 */
export class TimerHeap {
  #items: TimerHandle[] = [];
  #when: number[] = [];
  #sequence: number[] = [];
  #runs = new Map<number, Run>();
  #runHeap: Run[] = [];
  #runTimers = 0;

  get length(): number {
    return this.#items.length + this.#runTimers;
  }

  /** Every timer, in no particular order. */
  get items(): TimerHandle[] {
    const all = this.#items.slice();
    for (const run of this.#runHeap) {
      for (let i = run.head; i < run.items.length; i++) all.push(run.items[i]!);
    }
    return all;
  }

  peek(): TimerHandle | undefined {
    const run = this.#runHeap[0];
    if (run === undefined) return this.#items[0];
    if (this.#items.length > 0 && this.#heapFirst(run)) return this.#items[0];
    return run.items[run.head];
  }

  pop(): TimerHandle | undefined {
    const run = this.#runHeap[0];
    if (run === undefined || (this.#items.length > 0 && this.#heapFirst(run))) return this.#popHeap();
    return this.#popRun(run);
  }

  /** Schedule a timer made `delay` seconds after now (callLater). */
  pushAfter(timer: TimerHandle, delay: number): void {
    const run = this.#runs.get(delay);
    if (run === undefined) {
      const fresh = new Run(delay);
      fresh.items.push(timer);
      fresh.when = timer._when;
      fresh.sequence = timer._sequence;
      this.#runs.set(delay, fresh);
      this.#runTimers++;
      this.#siftUpRun(fresh);
      return;
    }
    // Sorted only while the clock does not go back (a virtual clock might).
    if (timer._when < run.items[run.items.length - 1]!._when) {
      this.push(timer);
      return;
    }
    run.items.push(timer);
    this.#runTimers++;
  }

  /** Schedule a timer by its deadline alone (callAt). */
  push(timer: TimerHandle): void {
    const items = this.#items;
    const whens = this.#when;
    const sequences = this.#sequence;
    const when = timer._when;
    const sequence = timer._sequence;
    let index = items.length;
    items.push(timer);
    whens.push(when);
    sequences.push(sequence);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentWhen = whens[parent]!;
      if (parentWhen < when || (parentWhen === when && sequences[parent]! < sequence)) break;
      items[index] = items[parent]!;
      whens[index] = parentWhen;
      sequences[index] = sequences[parent]!;
      index = parent;
    }
    items[index] = timer;
    whens[index] = when;
    sequences[index] = sequence;
  }

  /** Rebuild from a new list in O(n). */
  replace(timers: TimerHandle[]): void {
    this.clear();
    this.#items = timers;
    this.#when = timers.map((timer) => timer._when);
    this.#sequence = timers.map((timer) => timer._sequence);
    for (let index = (timers.length >> 1) - 1; index >= 0; index--) {
      this.#siftDown(index, timers[index]!, this.#when[index]!, this.#sequence[index]!);
    }
  }

  clear(): void {
    this.#items = [];
    this.#when = [];
    this.#sequence = [];
    this.#runs.clear();
    this.#runHeap = [];
    this.#runTimers = 0;
  }

  /** Whether the binary heap's first timer comes before `run`'s. */
  #heapFirst(run: Run): boolean {
    const when = this.#when[0]!;
    return when < run.when || (when === run.when && this.#sequence[0]! < run.sequence);
  }

  #popHeap(): TimerHandle | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    const lastWhen = this.#when.pop()!;
    const lastSequence = this.#sequence.pop()!;
    if (items.length > 0 && last !== undefined) this.#siftDown(0, last, lastWhen, lastSequence);
    return top;
  }

  #popRun(run: Run): TimerHandle {
    const items = run.items;
    const timer = items[run.head]!;
    items[run.head] = undefined;
    run.head++;
    this.#runTimers--;
    const heap = this.#runHeap;
    if (run.head === items.length) {
      this.#runs.delete(run.delay);
      const last = heap.pop()!;
      if (last !== run) this.#siftDownRun(last);
      return timer;
    }
    if (run.head >= 1024 && run.head * 2 >= items.length) {
      // Drop the consumed front so a long-lived run does not keep growing.
      run.items = items.slice(run.head);
      run.head = 0;
    }
    const next = run.items[run.head]!;
    run.when = next._when;
    run.sequence = next._sequence;
    this.#siftDownRun(run);
    return timer;
  }

  #siftUpRun(run: Run): void {
    const heap = this.#runHeap;
    const when = run.when;
    const sequence = run.sequence;
    let index = heap.length;
    heap.push(run);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.when < when || (parent.when === when && parent.sequence < sequence)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = run;
  }

  /** Put `run` (the first run, or the last one moved to the top) where its first timer belongs. */
  #siftDownRun(run: Run): void {
    const heap = this.#runHeap;
    const length = heap.length;
    const when = run.when;
    const sequence = run.sequence;
    let index = 0;
    for (;;) {
      let childIndex = 2 * index + 1;
      if (childIndex >= length) break;
      let child = heap[childIndex]!;
      const rightIndex = childIndex + 1;
      if (rightIndex < length) {
        const right = heap[rightIndex]!;
        if (right.when < child.when || (right.when === child.when && right.sequence < child.sequence)) {
          childIndex = rightIndex;
          child = right;
        }
      }
      if (when < child.when || (when === child.when && sequence < child.sequence)) break;
      heap[index] = child;
      index = childIndex;
    }
    heap[index] = run;
  }

  #siftDown(start: number, timer: TimerHandle, when: number, sequence: number): void {
    const items = this.#items;
    const whens = this.#when;
    const sequences = this.#sequence;
    const length = items.length;
    let index = start;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      let childWhen = whens[child]!;
      const right = child + 1;
      if (right < length) {
        const rightWhen = whens[right]!;
        if (rightWhen < childWhen || (rightWhen === childWhen && sequences[right]! < sequences[child]!)) {
          child = right;
          childWhen = rightWhen;
        }
      }
      if (when < childWhen || (when === childWhen && sequence < sequences[child]!)) break;
      items[index] = items[child]!;
      whens[index] = childWhen;
      sequences[index] = sequences[child]!;
      index = child;
    }
    items[index] = timer;
    whens[index] = when;
    sequences[index] = sequence;
  }
}

// A run and a heap, made before any other and kept for good (shapes.ts
// says why).
keepShape('Run', new Run(0.5));
keepShape('TimerHeap', new TimerHeap());
