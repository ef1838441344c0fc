import { describe, expect, it } from 'vitest';
import {
  EVENT_READ,
  EVENT_WRITE,
  KNOWN_BACKENDS,
  fileobjToFd,
  timeoutToMs,
} from '@evloop/interface';

describe('selector helpers', () => {
  it('fileobjToFd accepts fds and fileno() objects with Python checks', () => {
    expect(fileobjToFd(3)).toBe(3);
    expect(fileobjToFd({ fileno: () => 7 })).toBe(7);
    expect(() => fileobjToFd(-1)).toThrow(RangeError);
    expect(() => fileobjToFd(1.5)).toThrow(RangeError);
    expect(() => fileobjToFd({ fileno: () => -1 })).toThrow(RangeError);
    expect(() => fileobjToFd('3' as never)).toThrow(TypeError);
    expect(() => fileobjToFd(null as never)).toThrow(TypeError);
  });

  it('timeoutToMs follows select(): null blocks, <= 0 polls, the rest rounds up', () => {
    expect(timeoutToMs(null)).toBe(-1);
    expect(timeoutToMs(undefined)).toBe(-1);
    expect(timeoutToMs(0)).toBe(0);
    expect(timeoutToMs(-5)).toBe(0);
    expect(timeoutToMs(0.0001)).toBe(1);
    expect(timeoutToMs(1.0001)).toBe(1001);
    expect(timeoutToMs(1e12)).toBe(0x7fffffff);
    expect(timeoutToMs(Number.POSITIVE_INFINITY)).toBe(-1);
    expect(() => timeoutToMs(Number.NaN)).toThrow(TypeError);
  });

  it('event constants and the backend registry', () => {
    expect(EVENT_READ).toBe(1);
    expect(EVENT_WRITE).toBe(2);
    const names = KNOWN_BACKENDS.map((backend) => backend.name);
    expect(new Set(names).size).toBe(names.length);
    for (const backend of KNOWN_BACKENDS) expect(backend.packageName).toBe(`@evloop/${backend.kind}-${backend.name}`);
  });
});
