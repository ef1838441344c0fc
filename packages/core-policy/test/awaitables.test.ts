import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  RuntimeError,
  createTask,
  rethrowIfCancelled,
  sleep,
  waitFor,
  TimeoutError,
  Future,
  setLogger,
} from '@evloop/core-policy';
import { onLoop } from './helpers.js';

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

describe('a task made from a Promise that is already running (createTask(worker()))', () => {
  async function cancelRunningPromise(debug: boolean): Promise<{ messages: string[]; cancelled: boolean; workerFinished: boolean }> {
    const messages: string[] = [];
    const previous = setLogger({
      error: (message) => messages.push(`error: ${message}`),
      warning: (message) => messages.push(`warning: ${message}`),
      info: () => {},
      debug: () => {},
    });
    try {
      return await onLoop(async (loop) => {
        loop.setDebug(debug);
        let workerFinished = false;
        async function worker(): Promise<string> {
          await sleep(0.02);
          workerFinished = true;
          return 'done';
        }
        const task = loop.createTask(worker(), { name: 'started-worker' });
        await sleep(0);
        task.cancel();
        const cancelled = await task.then(
          () => false,
          (error: unknown) => CancelledError.isInstance(error),
        );
        // The Promise cannot be interrupted: it runs on to its end, unseen.
        await sleep(0.05);
        return { messages, cancelled, workerFinished };
      });
    } finally {
      setLogger(previous);
    }
  }

  it('ends the task cancelled while the Promise runs on, and in debug mode warns naming the task and where it was made', async () => {
    const outcome = await cancelRunningPromise(true);
    expect(outcome.cancelled).toBe(true);
    expect(outcome.workerFinished).toBe(true);
    expect(outcome.messages).toHaveLength(1);
    const [message] = outcome.messages;
    expect(message).toMatch(/^warning: <Task started-worker .*> was cancelled while the Promise it follows is still pending/);
    expect(message).toContain('createTask(() => worker())');
    expect(message).toMatch(/Task created at:\n[\s\S]*awaitables\.test\.ts:\d+/);
  });

  it('says nothing outside debug mode, and nothing for a task made from the function', async () => {
    expect((await cancelRunningPromise(false)).messages).toEqual([]);
    const messages: string[] = [];
    const previous = setLogger({ error: (m) => messages.push(m), warning: (m) => messages.push(m), info: () => {}, debug: () => {} });
    try {
      const cancelled = await onLoop(async (loop) => {
        loop.setDebug(true);
        const task = loop.createTask(async () => {
          await sleep(10);
        });
        await sleep(0);
        task.cancel();
        return task.then(
          () => false,
          (error: unknown) => CancelledError.isInstance(error),
        );
      });
      expect(cancelled).toBe(true);
      expect(messages).toEqual([]);
    } finally {
      setLogger(previous);
    }
  });

  it('does not warn when the Promise has already settled', async () => {
    const messages: string[] = [];
    const previous = setLogger({ error: (m) => messages.push(m), warning: (m) => messages.push(m), info: () => {}, debug: () => {} });
    try {
      await onLoop(async (loop) => {
        loop.setDebug(true);
        const task = loop.createTask(Promise.resolve('early'));
        await sleep(0);
        expect(task.done()).toBe(true);
        expect(task.cancel()).toBe(false);
      });
      expect(messages).toEqual([]);
    } finally {
      setLogger(previous);
    }
  });
});
