import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { AF_INET, getDebug, setDebug, SOCK_STREAM, Socket } from '../src/index.js';
import { openFdCount, describePosix } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collectUntil(done: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 50 && !done(); attempt++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function openAndDrop(count: number): number[] {
  const fds: number[] = [];
  for (let i = 0; i < count; i++) fds.push(new Socket(AF_INET, SOCK_STREAM).fileno());
  return fds;
}

describePosix('a Socket collected while open', 'a listable fd table', () => {
  const initialDebug = getDebug();
  afterEach(() => setDebug(initialDebug));

  it('closes its fd, and in debug mode warns naming the fd', async () => {
    setDebug(true);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      if (warning.name === 'ResourceWarning') warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const before = openFdCount()!;
      const fds = openAndDrop(3);
      expect(openFdCount()).toBe(before + 3);
      await collectUntil(() => openFdCount() === before && warnings.length >= 3);
      expect(openFdCount()).toBe(before);
      expect(warnings.length).toBeGreaterThanOrEqual(3);
      for (const fd of fds) expect(warnings.some((warning) => warning.message.includes(`fd ${fd}`))).toBe(true);
      expect(warnings[0]).toMatchObject({ code: 'EVLOOP_UNCLOSED_SOCKET' });
      expect(warnings[0]!.message).toContain(`unclosed Socket(family=${AF_INET}, type=${SOCK_STREAM})`);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('does not warn when debug is off, and a closed or detached Socket is left alone', async () => {
    setDebug(false);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const before = openFdCount()!;
      openAndDrop(2);
      (() => new Socket(AF_INET, SOCK_STREAM).close())();
      const kept = (() => new Socket(AF_INET, SOCK_STREAM).detach())();
      await collectUntil(() => openFdCount() === before + 1);
      expect(openFdCount()).toBe(before + 1);
      // The detached fd is still ours to close.
      new Socket({ fileno: kept }).close();
      expect(openFdCount()).toBe(before);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('setDebug checks its argument', () => {
    expect(() => setDebug('1' as never)).toThrow(TypeError);
  });
});

describe('EVLOOP_DEBUG', () => {
  it('turns debug mode on at load time when it is "1"', async () => {
    const { vi } = await import('vitest');
    vi.resetModules();
    vi.stubEnv('EVLOOP_DEBUG', '1');
    try {
      const fresh = await import('../src/debug.js');
      expect(fresh.getDebug()).toBe(true);
      vi.resetModules();
      vi.stubEnv('EVLOOP_DEBUG', '0');
      expect((await import('../src/debug.js')).getDebug()).toBe(false);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

describe("the finalizer's packed state", () => {
  it('packs the usual socket into a small integer and round-trips it', async () => {
    const { packFinalizerState, unpackFinalizerState } = await import('../src/socket.js');
    for (const [fd, family, type] of [
      [0, 1, 1],
      [3, 2, 1],
      [1023, 10, 2],
      [2 ** 20 - 1, 31, 7],
    ] as const) {
      const packed = packFinalizerState(fd, family, type);
      // Below 2^28: fits V8's small integers, so the registry's cell holds it without a heap number.
      expect(Number.isInteger(packed) && packed >= 0 && packed < 2 ** 28).toBe(true);
      expect(unpackFinalizerState(packed)).toEqual([fd, family, type]);
    }
  });

  it('keeps a large fd (a Windows SOCKET) or an unusual family or type in the wide form', async () => {
    const { packFinalizerState, unpackFinalizerState } = await import('../src/socket.js');
    for (const [fd, family, type] of [
      [2 ** 20, 2, 1],
      [2 ** 21, 0, 0],
      [2 ** 32 - 1, 23, 1],
      [5, 32, 1],
      [5, 2, 10],
    ] as const) {
      const packed = packFinalizerState(fd, family, type);
      expect(packed).toBeGreaterThanOrEqual(2 ** 28);
      expect(unpackFinalizerState(packed)).toEqual([fd, family, type]);
    }
  });
});
