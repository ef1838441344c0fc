import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  RuntimeError,
  SelectorEventLoop,
  createTask,
  rethrowIfCancelled,
  sleep,
  waitFor,
  TimeoutError,
  Future,
} from '@evloop/core-policy';
import { testSelector } from './helpers.js';

/** Run `main` on a fresh loop and close it. */
async function onLoop<T>(main: (loop: SelectorEventLoop) => Promise<T>): Promise<T> {
  const loop = new SelectorEventLoop(testSelector());
  try {
    return await loop.runUntilComplete(() => main(loop));
  } finally {
    loop.close();
  }
}

describe('every awaitable evloop hands out is a complete Promise-like', () => {
  it('a coroutine object (sleep, waitFor) has catch and finally, and they start it on the running loop', async () => {
    const seen = await onLoop(async () => {
      const events: string[] = [];
      const value = await sleep(0, 'slept').finally(() => events.push('finally ran'));
      events.push(value);
      const caught = await waitFor(sleep(10, 'finished'), 0.01).catch((error: unknown) => (TimeoutError.isInstance(error) ? 'timed out' : 'other'));
      events.push(caught);
      return events;
    });
    expect(seen).toEqual(['finally ran', 'slept', 'timed out']);
  });

  it("a coroutine's catch outside a running loop rejects with RuntimeError instead of throwing", async () => {
    const result = await sleep(0).catch((error: unknown) => (RuntimeError.isInstance(error) ? 'no running loop' : 'other'));
    expect(result).toBe('no running loop');
  });

  it('futures and tasks have catch and finally too', async () => {
    const seen = await onLoop(async (loop) => {
      const events: string[] = [];
      const future = loop.createFuture<string>();
      future.setException(new Error('boom'));
      events.push(await future.catch((error: unknown) => (error as Error).message));
      const task = createTask(sleep(0, 'task result'));
      events.push(await task.finally(() => events.push('task finally')));
      return events;
    });
    expect(seen).toEqual(['boom', 'task finally', 'task result']);
  });
});

describe('rethrowIfCancelled', () => {
  it('re-throws a CancelledError and lets anything else through', () => {
    expect(() => rethrowIfCancelled(new CancelledError())).toThrow(CancelledError);
    expect(() => rethrowIfCancelled(new Error('ordinary'))).not.toThrow();
    expect(() => rethrowIfCancelled('a string')).not.toThrow();
  });

  it('keeps a task cancellable through a catch-all handler', async () => {
    const outcome = await onLoop(async () => {
      const handled: string[] = [];
      const task = createTask(async () => {
        for (;;) {
          try {
            await sleep(10);
          } catch (error) {
            rethrowIfCancelled(error);
            handled.push(String(error));
          }
        }
      });
      await sleep(0);
      task.cancel();
      try {
        await task;
      } catch (error) {
        handled.push(CancelledError.isInstance(error) ? 'task cancelled' : 'other');
      }
      return [task.cancelled(), handled] as const;
    });
    expect(outcome).toEqual([true, ['task cancelled']]);
  });

  it('a Future made directly is an evloop future with the same Promise-like surface', async () => {
    await onLoop(async (loop) => {
      const future = new Future<string>({ loop });
      loop.callSoon(() => future.setResult('ok'));
      expect(await future.finally(() => undefined)).toBe('ok');
    });
  });
});
