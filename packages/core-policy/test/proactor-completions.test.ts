import { describe, expect, it } from 'vitest';
import { COMPLETION_MORE, COMPLETION_STRIDE, type Proactor } from '@evloop/interface';
import { ProactorEventLoop } from '@evloop/core-policy';

type Completion = [token: number, result: number, flags: number, value: unknown];

/** A proactor whose polls return scripted batches of completions, one batch per poll. */
function scriptedProactor(batches: Completion[][]): Proactor {
  let completions = new Int32Array(64 * COMPLETION_STRIDE);
  let values: unknown[] = [];
  let pending = 1;
  let nextToken = 1;
  return {
    backendName: 'scripted',
    get closed() {
      return false;
    },
    get pending() {
      return pending;
    },
    features: {},
    get completions() {
      return completions;
    },
    recv: () => nextToken++,
    poll: () => {
      const batch = batches.shift() ?? [];
      if (batches.length === 0) pending = 0;
      completions = new Int32Array(Math.max(batch.length, 1) * COMPLETION_STRIDE);
      values = [];
      batch.forEach(([token, result, flags, value], i) => {
        completions[i * COMPLETION_STRIDE] = token;
        completions[i * COMPLETION_STRIDE + 1] = result;
        completions[i * COMPLETION_STRIDE + 2] = flags;
        values[i] = value;
      });
      return batch.length;
    },
    completionValue: (index: number) => values[index],
    cancel: () => true,
    cancelFd: () => 0,
    watch: () => {},
    unwatch: () => {},
    close: () => {},
  } as unknown as Proactor;
}

describe('ProactorEventLoop completions', () => {
  it('runs every completion of a multishot operation, in order and with its own arguments, however many one poll brings', async () => {
    const token = 7;
    const proactor = scriptedProactor([
      // One poll: three completions of the same operation, then one of another.
      [
        [token, 10, COMPLETION_MORE, 'a'],
        [token, 20, COMPLETION_MORE, 'b'],
        [9, 5, 0, 'other'],
        [token, 30, COMPLETION_MORE, 'c'],
      ],
      // The next poll: one more, then two, the last ending the operation.
      [[token, 40, COMPLETION_MORE, 'd']],
      [
        [token, 50, COMPLETION_MORE, 'e'],
        [token, 0, 0, 'end'],
      ],
    ]);
    const loop = new ProactorEventLoop(proactor);
    const seen: unknown[][] = [];
    const target = { name: 'target' };
    try {
      loop._operate(token, (got, result, value, gotToken, flags) => seen.push([got === target, result, value, gotToken, flags]), target);
      loop._operate(9, (_got, result, value) => seen.push(['other op', result, value]), target);
      await loop.runUntilComplete(async () => {
        for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => loop.callSoon(resolve));
      });
    } finally {
      loop.close();
    }
    expect(seen).toEqual([
      [true, 10, 'a', token, COMPLETION_MORE],
      [true, 20, 'b', token, COMPLETION_MORE],
      ['other op', 5, 'other'],
      [true, 30, 'c', token, COMPLETION_MORE],
      [true, 40, 'd', token, COMPLETION_MORE],
      [true, 50, 'e', token, COMPLETION_MORE],
      [true, 0, 'end', token, 0],
    ]);
  });
});
