import { EVENT_PRIORITY, EVENT_READ, EVENT_WRITE } from './selector.js';

/**
 * The argument checks every `Proactor` makes before it starts an operation,
 * so that each backend rejects bad input the same way: `TypeError` for the
 * wrong type, `RangeError` for a value out of range, both naming the argument.
 */

/** The largest byte count one operation takes (an int32, as the completion's result). */
export const MAX_OPERATION_SIZE = 0x7fffffff;

/** `value` is an integer byte count in [0, 2147483647]. */
export function checkSize(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describeArgument(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > MAX_OPERATION_SIZE) {
    throw new RangeError(`${name} must be an integer in [0, 2147483647], got ${value}`);
  }
}

/** `flags` is a non-negative int32 (the MSG_* flags of a socket call). */
export function checkFlags(flags: unknown): asserts flags is number {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > MAX_OPERATION_SIZE) {
    throw new RangeError(`flags must be a non-negative integer, got ${String(flags)}`);
  }
}

/** `value` is bytes: a `Uint8Array` or a `Buffer`. */
export function checkBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array or Buffer, got ${describeArgument(value)}`);
}

/** How many bytes of `buffer` a `recvInto`-style call fills: `nbytes`, or the whole buffer when it is 0. */
export function spanOf(buffer: unknown, nbytes: unknown): number {
  checkBytes(buffer, 'buffer');
  checkSize(nbytes, 'nbytes');
  if (nbytes > buffer.byteLength) throw new RangeError(`nbytes (${nbytes}) is larger than the buffer (${buffer.byteLength})`);
  return nbytes === 0 ? buffer.byteLength : nbytes;
}

/** A file position: a non-negative safe integer, or -1 for null/undefined (the current position). */
export function checkPosition(position: unknown): number {
  if (position === null || position === undefined) return -1;
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`position must be a non-negative integer or null, got ${String(position)}`);
  }
  return position;
}

/** A file offset (`sendfile`): a non-negative safe integer. */
export function checkOffset(offset: unknown): asserts offset is number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a non-negative integer, got ${String(offset)}`);
  }
}

/** `pollAdd`'s events: a non-empty mask of `EVENT_READ`, `EVENT_WRITE` and `EVENT_PRIORITY`. */
export function checkPollEvents(events: unknown): asserts events is number {
  if (typeof events !== 'number' || !Number.isInteger(events) || events === 0 || (events & ~(EVENT_READ | EVENT_WRITE | EVENT_PRIORITY)) !== 0) {
    throw new RangeError(`events must be a mask of EVENT_READ, EVENT_WRITE and EVENT_PRIORITY, got ${String(events)}`);
  }
}

/** A short description of a value's type for an error message (never the value itself). */
export function describeArgument(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
