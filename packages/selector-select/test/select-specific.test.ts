import { EVENT_READ, EVENT_WRITE } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { describe, expect, it } from 'vitest';
import { backend, SelectSelector } from '../src/index.js';
import { helperThreadKit } from '@evloop/conformance';
import { loadNative } from '../src/load-native.js';

const { createBinding, createSelector, pairs, pipe, useLeakCheck } = helperThreadKit({ backend, loadNative });

useLeakCheck();

/** Opens pipes until every fd up to `limit + 1` is ours (fds are handed out lowest first). */
function pipesPast(limit: number): Map<number, [number, number]> {
  const byFd = new Map<number, [number, number]>();
  for (let i = 0; i < limit; i++) {
    const ends = pipe();
    byFd.set(ends[0], ends);
    byFd.set(ends[1], ends);
    if (ends[0] > limit && ends[1] > limit) break;
  }
  return byFd;
}

// POSIX fd numbers, pipes and regular files throughout; Windows has select-windows.test.ts.
const onWindows = process.platform === 'win32';
(onWindows ? describe.skip : describe)(onWindows ? 'select specifics (skipped: POSIX fds and pipes; Windows has select-windows.test.ts)' : 'select specifics', () => {
  it('is exported as SelectSelector', () => {
    expect(createSelector()).toBeInstanceOf(SelectSelector);
  });

  it('FD_SETSIZE comes from the native build (1024 on Linux and macOS) and available() notes name it', () => {
    if (process.platform === 'linux' || process.platform === 'darwin') expect(SelectSelector.FD_SETSIZE).toBe(1024);
    const availability = backend.available();
    expect(availability.ok && availability.notes).toContain(`FD_SETSIZE (${SelectSelector.FD_SETSIZE})`);
  });

  it('an fd >= FD_SETSIZE is refused with RangeError naming the fd and FD_SETSIZE; FD_SETSIZE - 1 works', () => {
    const limit = SelectSelector.FD_SETSIZE;
    const selector = createSelector();
    const byFd = pipesPast(limit);
    expect(byFd.has(limit - 1) && byFd.has(limit) && byFd.has(limit + 1)).toBe(true);
    expect(() => selector.register(limit, EVENT_READ)).toThrow(RangeError);
    expect(() => selector.register(limit, EVENT_READ)).toThrow(new RegExp(`fd ${limit} .*FD_SETSIZE is ${limit}`));
    expect(() => selector.register(limit + 1, EVENT_WRITE)).toThrow(RangeError);
    expect(selector.getMap().size).toBe(0);
    const [reader, writer] = byFd.get(limit - 1)!;
    selector.register(limit - 1, EVENT_READ | EVENT_WRITE);
    if (reader === limit - 1) sys.write(writer, new Uint8Array([1]));
    expect(pairs(selector.select(0))).toEqual([[limit - 1, reader === limit - 1 ? EVENT_READ : EVENT_WRITE]]);
  });

  it('the native add refuses an fd >= FD_SETSIZE before touching any fd_set, without the TypeScript layer too', () => {
    const binding = createBinding();
    const limit = SelectSelector.FD_SETSIZE;
    expect(() => binding.add(limit, EVENT_READ)).toThrow(RangeError);
    expect(() => binding.add(limit * 64, EVENT_WRITE)).toThrow(RangeError);
    expect(() => binding.add(0x7fffffff, EVENT_WRITE)).toThrow(RangeError);
    expect(binding.wait(new Int32Array(8), 0)).toBe(0);
  });
  it('watch(onReady, timeoutMs) also calls onReady from the helper thread once the timeout passes with nothing ready', async () => {
    const binding = createBinding() as ReturnType<typeof createBinding> & { watch(onReady: () => void, timeoutMs?: number): void };
    const [reader] = pipe();
    binding.add(reader, EVENT_READ);
    let calls = 0;
    await new Promise<void>((resolve) => {
      binding.watch(() => {
        calls++;
        resolve();
      }, 1.5);
    });
    binding.unwatch();
    expect(calls).toBe(1);
    expect(binding.wait(new Int32Array(8), 0)).toBe(0);
  });
});
