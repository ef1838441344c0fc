import { keepShape } from './shapes.js';

/**
 * A FIFO ring buffer: O(1) push and shift at any size (an Array's `shift` is
 * linear once it is large), and no allocation once it has grown.
 */
export class Queue<T> {
  #items: Array<T | undefined>;
  #head = 0;
  #length = 0;
  #mask: number;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.#items = new Array<T | undefined>(capacity);
    this.#mask = capacity - 1;
  }

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** The oldest item, left in place; the caller checks `length` first. */
  peek(): T {
    return this.#items[this.#head] as T;
  }

  /** Remove and return the oldest item; the caller checks `length` first. */
  shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#items[(this.#head + i) & this.#mask] as T;
  }

  #grow(): void {
    const old = this.#items;
    const capacity = old.length * 2;
    const items = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = capacity - 1;
  }
}

// A queue made before any other and kept for good (shapes.ts says why).
keepShape('Queue', new Queue<unknown>());
