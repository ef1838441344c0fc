/**
 * The bytes a `StreamReader` holds: one growable `Buffer` with a read and a
 * write position. Appending copies each byte once (the storage doubles when
 * it must grow and is compacted when the dead head is large), and reading
 * moves the read position, so feeding many small chunks and reading them
 * back stays linear. Searches run on a view of the live bytes, never a copy.
 *
 * An empty buffer may instead borrow a chunk (`lend`) that nobody writes to
 * again: a read that takes all of it gets the chunk itself, no copy at all.
 * The owner must `adopt` (copy in) whatever is still borrowed soon after, so
 * a small rest never keeps the chunk's larger backing store alive.
 * @internal
 */
export class StreamBuffer {
  #storage: Buffer = EMPTY;
  #start = 0;
  #end = 0;
  /** A lent chunk, the only live bytes while not null (the storage is empty then). */
  #borrowed: Buffer | null = null;

  get length(): number {
    return this.#borrowed === null ? this.#end - this.#start : this.#borrowed.length;
  }

  /** The live bytes as a view (valid until the next append or take). */
  view(): Buffer {
    return this.#borrowed ?? this.#storage.subarray(this.#start, this.#end);
  }

  /** Hold `data` without copying when nothing is buffered (else append it): `data` must never be written again. */
  lend(data: Buffer): void {
    if (data.length === 0) return;
    if (this.length === 0) this.#borrowed = data;
    else this.append(data);
  }

  /** Copy a lent chunk (what is left of it) into the storage. */
  adopt(): void {
    const borrowed = this.#borrowed;
    if (borrowed === null) return;
    this.#borrowed = null;
    this.append(borrowed);
  }

  append(data: Uint8Array): void {
    const size = data.length;
    if (size === 0) return;
    if (this.#borrowed !== null) this.adopt();
    if (this.#end + size > this.#storage.length) this.#makeRoom(size);
    this.#storage.set(data, this.#end);
    this.#end += size;
  }

  /** Remove and return the first `count` bytes (fewer if there are fewer). */
  take(count: number): Buffer {
    const borrowed = this.#borrowed;
    if (borrowed !== null) {
      if (count <= 0) return EMPTY;
      this.#borrowed = null;
      if (count >= borrowed.length) return borrowed;
      // The rest is copied in: only the caller's part stays a view of the chunk.
      this.append(borrowed.subarray(count));
      return borrowed.subarray(0, count);
    }
    const live = this.length;
    const size = Math.min(count, live);
    if (size === 0) return EMPTY;
    if (size === live && size * 2 >= this.#storage.length) {
      // Hand the storage itself out: it is mostly this result anyway.
      const whole = this.#storage.subarray(this.#start, this.#end);
      this.#storage = EMPTY;
      this.#start = this.#end = 0;
      return whole;
    }
    const result = Buffer.allocUnsafe(size);
    this.#storage.copy(result, 0, this.#start, this.#start + size);
    this.discard(size);
    return result;
  }

  /** Drop the first `count` bytes. */
  discard(count: number): void {
    const borrowed = this.#borrowed;
    if (borrowed !== null) {
      this.#borrowed = count >= borrowed.length ? null : borrowed.subarray(Math.max(0, count));
      return;
    }
    this.#start += Math.min(count, this.length);
    if (this.#start === this.#end) {
      this.#start = this.#end = 0;
      // Do not keep a large storage alive for an idle stream.
      if (this.#storage.length > RETAINED_CAPACITY) this.#storage = EMPTY;
    }
  }

  clear(): void {
    this.discard(this.length);
  }

  /** Index (relative to the live bytes) of `needle` at or after `from`, or -1. */
  indexOf(needle: Uint8Array, from: number): number {
    return this.view().indexOf(needle, from);
  }

  /** Whether `needle` occurs at `at` (relative to the live bytes). */
  startsWith(needle: Uint8Array, at: number): boolean {
    if (at + needle.length > this.length) return false;
    return this.view().compare(needle, 0, needle.length, at, at + needle.length) === 0;
  }

  #makeRoom(size: number): void {
    const live = this.length;
    const needed = live + size;
    const capacity = this.#storage.length;
    if (needed <= capacity && this.#start >= capacity / 2) {
      this.#storage.copy(this.#storage, 0, this.#start, this.#end);
    } else {
      const grown = Buffer.allocUnsafe(Math.max(needed, capacity * 2, MIN_CAPACITY));
      this.#storage.copy(grown, 0, this.#start, this.#end);
      this.#storage = grown;
    }
    this.#start = 0;
    this.#end = live;
  }
}

const EMPTY = Buffer.alloc(0);
const MIN_CAPACITY = 1024;
const RETAINED_CAPACITY = 256 * 1024;
