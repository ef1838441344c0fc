import type { TimerHandle } from './handles.js';

function before(a: TimerHandle, b: TimerHandle): boolean {
  return a._when < b._when || (a._when === b._when && a._sequence < b._sequence);
}

/** A binary min-heap of timers ordered by (when, insertion order). */
export class TimerHeap {
  items: TimerHandle[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): TimerHandle | undefined {
    return this.items[0];
  }

  push(timer: TimerHandle): void {
    const items = this.items;
    let index = items.length;
    items.push(timer);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(timer, items[parent]!)) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = timer;
  }

  pop(): TimerHandle | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      this.#siftDown(0, last);
    }
    return top;
  }

  /** Rebuild from a new list in O(n). */
  replace(timers: TimerHandle[]): void {
    this.items = timers;
    for (let index = (timers.length >> 1) - 1; index >= 0; index--) this.#siftDown(index, timers[index]!);
  }

  clear(): void {
    this.items = [];
  }

  #siftDown(start: number, timer: TimerHandle): void {
    const items = this.items;
    const length = items.length;
    let index = start;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && before(items[child + 1]!, items[child]!)) child++;
      if (!before(items[child]!, timer)) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = timer;
  }
}
