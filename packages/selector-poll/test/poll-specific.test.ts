import { EVENT_READ } from '@evloop/interface';
import * as sys from '@evloop/sys';
import { describe, expect, it } from 'vitest';
import { PollSelector, backend } from '../src/index.js';
import { helperThreadKit } from '@evloop/conformance';
import { loadNative } from '../src/load-native.js';

const { createSelector, pairs, pipe, useLeakCheck } = helperThreadKit({ backend, loadNative });

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
});
