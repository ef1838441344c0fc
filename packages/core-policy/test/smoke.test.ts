import { describe, expect, it } from 'vitest';
import { EpollSelector } from '@evloop/selector-epoll';
import { SelectorEventLoop, sleep, gather } from '@evloop/core-policy';

describe('smoke', () => {
  it('runs callbacks, timers and tasks', async () => {
    const loop = new SelectorEventLoop(new EpollSelector());
    const order: string[] = [];
    loop.callSoon(() => order.push('a'));
    loop.callLater(0.01, () => order.push('timer'));
    const result = await loop.runUntilComplete(function* () {
      yield* sleep(0.02);
      const values = yield* gather(sleep(0.001, 1), sleep(0.002, 2), (async () => { await sleep(0.001); return 3; })());
      return values;
    }());
    expect(order).toEqual(['a', 'timer']);
    expect(result).toEqual([1, 2, 3]);
    loop.close();
  });
});
