import { EVENT_READ } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { describe, expect, it } from 'vitest';
import { PollSelector, backend } from '../src/index.js';
import { helperThreadKit } from '@evloop/conformance';
import { loadNative } from '../src/load-native.js';

const { createBinding, createSelector, pairs, pipe, useLeakCheck } = helperThreadKit({ backend, loadNative });

useLeakCheck();

describe('poll specifics', () => {
  it('is exported as PollSelector', () => {
    expect(createSelector()).toBeInstanceOf(PollSelector);
  });

  it('fds far above FD_SETSIZE (1024) work', () => {
    const selector = createSelector();
    let high: [number, number] | undefined;
    for (let i = 0; i < 700 && high === undefined; i++) {
      const ends = pipe();
      if (ends[0] > 1100) high = ends;
    }
    expect(high).toBeDefined();
    const [reader, writer] = high!;
    selector.register(reader, EVENT_READ);
    expect(selector.select(0)).toEqual([]);
    sys.write(writer, new Uint8Array([7]));
    expect(pairs(selector.select(0))).toEqual([[reader, EVENT_READ]]);
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
