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
  /** How many items have left by the front (`shift`, `clear`): the first item's sequence number; the item pushed next is number `shifted + length`. */
  #shifted = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.#items = new Array<T | undefined>(capacity);
    this.#mask = capacity - 1;
  }

  get length(): number {
    return this.#length;
  }

  /** The sequence number of the first item (items are numbered from 0 as they are pushed). */
  get shifted(): number {
    return this.#shifted;
  }

  /** The item `index` places from the front; the caller checks the index. */
  at(index: number): T {
    return this.#items[(this.#head + index) & this.#mask] as T;
  }

  /** Put `item` `index` places from the front, in place of what was there; the caller checks the index. */
  set(index: number, item: T): void {
    this.#items[(this.#head + index) & this.#mask] = item;
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
    this.#shifted++;
    return item;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#shifted += this.#length;
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
