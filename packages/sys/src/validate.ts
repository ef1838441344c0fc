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

/**
 * A receive buffer of `size` bytes: `Buffer.allocUnsafe`, so small sizes come
 * from Node's pool.
 */
export function receiveBuffer(size: number): Buffer {
  return size === 0 ? EMPTY : Buffer.allocUnsafe(size);
}

/**
 * The first `count` bytes of a receive buffer, without a copy; except when a
 * large buffer came back mostly empty, where the few bytes are copied so that
 * a small result does not pin a large allocation.
 */
export function shrink(buffer: Buffer, count: number): Buffer {
  if (count === buffer.length) return buffer;
  if (count === 0) return Buffer.alloc(0);
  if (buffer.length > 16384 && count < buffer.length >>> 1) return Buffer.from(buffer.subarray(0, count));
  return buffer.subarray(0, count);
}
