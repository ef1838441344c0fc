/** Argument checks shared by the fd functions and `Socket`: TypeError for a wrong type, RangeError for a wrong value, each naming the argument. */

const MAX_FD = 2 ** 31 - 1;

export function checkInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, not ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

export function checkInt32(value: unknown, name: string): number {
  return checkInteger(value, name, -(2 ** 31), 2 ** 31 - 1);
}

export function checkFd(value: unknown, name = 'fd'): number {
  return checkInteger(value, name, 0, MAX_FD);
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${describe(value)}`);
  return value;
}

/** What byte arguments may be: any TypedArray (Buffer, Uint8Array, ...), a DataView or an ArrayBuffer; never copied. */
export type BytesLike = ArrayBufferView | ArrayBufferLike;

/** Any bytes-like value as a Uint8Array view over the same memory (no copy). */
export function checkBytes(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
    return new Uint8Array(value);
  }
  throw new TypeError(`${name} must be a Uint8Array, Buffer, TypedArray, DataView or ArrayBuffer, not ${describe(value)}`);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  return typeof value;
}

const EMPTY = Buffer.alloc(0);
/** Up to this size a receive gets its own Buffer (pooled by Node up to 4 KiB) and returns a view of it. */
const DIRECT_MAX = 16384;
/** Larger receives go through one shared scratch Buffer of up to this size, then are copied out. */
const SCRATCH_MAX = 4 * 1024 * 1024;
let scratch = Buffer.alloc(0);

/**
 * The buffer to receive up to `size` bytes into. Small sizes get a fresh
 * `Buffer.allocUnsafe` (from Node's pool up to 4 KiB) that the result is a
 * view of, with no copy. Large sizes (asyncio reads 256 KiB at a time) use a
 * shared scratch buffer, so that a small message does not cost a large
 * allocation; {@link receivedBytes} then copies out just what arrived.
 */
export function receiveBuffer(size: number): Buffer {
  if (size === 0) return EMPTY;
  if (size <= DIRECT_MAX || size > SCRATCH_MAX) return Buffer.allocUnsafe(size);
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, 262144));
  return scratch;
}

/**
 * The `count` bytes received into `buffer` (from {@link receiveBuffer}) as a
 * Buffer the caller owns: a view of a buffer of its own, or a copy out of the
 * shared scratch buffer. A very large own buffer that came back mostly empty
 * is copied too, so that a small result does not pin it.
 */
export function receivedBytes(buffer: Buffer, count: number): Buffer {
  if (count === 0) return Buffer.alloc(0);
  if (buffer === scratch) return Buffer.from(buffer.subarray(0, count));
  if (count === buffer.length) return buffer;
  if (buffer.length > DIRECT_MAX && count < buffer.length >>> 1) return Buffer.from(buffer.subarray(0, count));
  return buffer.subarray(0, count);
}
