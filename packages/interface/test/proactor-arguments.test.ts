import { describe, expect, it } from 'vitest';
import {
  EVENT_PRIORITY,
  EVENT_READ,
  EVENT_WRITE,
  checkBytes,
  checkFlags,
  checkOffset,
  checkPollEvents,
  checkPosition,
  checkSize,
  describeArgument,
  spanOf,
} from '../src/index.js';

describe('proactor arguments', () => {
  it('checkSize: TypeError for a non-number, RangeError out of [0, 2^31-1], both naming the argument', () => {
    expect(() => checkSize('1', 'nbytes')).toThrow(TypeError);
    expect(() => checkSize('1', 'nbytes')).toThrow(/nbytes must be a number, got string/);
    expect(() => checkSize(-1, 'count')).toThrow(RangeError);
    expect(() => checkSize(-1, 'count')).toThrow(/^count must be/);
    expect(() => checkSize(1.5, 'nbytes')).toThrow(RangeError);
    expect(() => checkSize(0x80000000, 'nbytes')).toThrow(RangeError);
    expect(() => checkSize(Number.NaN, 'nbytes')).toThrow(RangeError);
    expect(() => checkSize(0, 'nbytes')).not.toThrow();
    expect(() => checkSize(0x7fffffff, 'nbytes')).not.toThrow();
  });

  it('checkFlags: RangeError naming flags for anything but a non-negative int32', () => {
    for (const bad of [-1, 1.5, '0', null, 2 ** 31]) expect(() => checkFlags(bad)).toThrow(/flags must be a non-negative integer/);
    expect(() => checkFlags(-1)).toThrow(RangeError);
    expect(() => checkFlags(0)).not.toThrow();
  });

  it('checkBytes: TypeError naming the argument unless a Uint8Array or Buffer', () => {
    expect(() => checkBytes('abc', 'data')).toThrow(TypeError);
    expect(() => checkBytes('abc', 'data')).toThrow(/data must be a Uint8Array or Buffer, got string/);
    expect(() => checkBytes([1, 2], 'data')).toThrow(/got an array of 2/);
    expect(() => checkBytes(new Uint16Array(2), 'data')).toThrow(TypeError);
    expect(() => checkBytes(new Uint8Array(1), 'data')).not.toThrow();
    expect(() => checkBytes(Buffer.alloc(1), 'data')).not.toThrow();
  });

  it('spanOf: the whole buffer for 0, nbytes otherwise, RangeError past the end', () => {
    expect(spanOf(Buffer.alloc(8), 0)).toBe(8);
    expect(spanOf(Buffer.alloc(8), 3)).toBe(3);
    expect(() => spanOf(Buffer.alloc(8), 9)).toThrow(RangeError);
    expect(() => spanOf(Buffer.alloc(8), 9)).toThrow(/nbytes \(9\) is larger than the buffer \(8\)/);
    expect(() => spanOf(null, 0)).toThrow(/buffer must be a Uint8Array or Buffer, got null/);
    expect(() => spanOf(Buffer.alloc(8), -1)).toThrow(/nbytes must be/);
  });

  it('checkPosition: -1 for null or undefined, the position otherwise, RangeError naming position', () => {
    expect(checkPosition(null)).toBe(-1);
    expect(checkPosition(undefined)).toBe(-1);
    expect(checkPosition(0)).toBe(0);
    expect(checkPosition(2 ** 40)).toBe(2 ** 40);
    expect(() => checkPosition(-1)).toThrow(RangeError);
    expect(() => checkPosition('1')).toThrow(/position must be a non-negative integer or null/);
  });

  it('checkOffset: RangeError naming offset', () => {
    expect(() => checkOffset(-1)).toThrow(RangeError);
    expect(() => checkOffset(Number.MAX_SAFE_INTEGER + 1)).toThrow(/offset must be a non-negative integer/);
    expect(() => checkOffset(undefined)).toThrow(/offset/);
    expect(() => checkOffset(0)).not.toThrow();
  });

  it('checkPollEvents: a non-empty mask of the three events, RangeError naming events', () => {
    for (const good of [EVENT_READ, EVENT_WRITE, EVENT_PRIORITY, EVENT_READ | EVENT_WRITE | EVENT_PRIORITY]) expect(() => checkPollEvents(good)).not.toThrow();
    for (const bad of [0, 8, -1, 1.5, '1', null]) expect(() => checkPollEvents(bad)).toThrow(RangeError);
    expect(() => checkPollEvents(8)).toThrow(/events must be a mask of EVENT_READ, EVENT_WRITE and EVENT_PRIORITY, got 8/);
  });

  it('describeArgument names the type, never the value', () => {
    expect(describeArgument(null)).toBe('null');
    expect(describeArgument([1])).toBe('an array of 1');
    expect(describeArgument('secret')).toBe('string');
    expect(describeArgument(undefined)).toBe('undefined');
  });
});
