import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import type { AbstractEventLoop } from '@evloop/interface';
import {
  BaseDefaultEventLoopPolicy,
  type BaseEventLoop,
  DefaultEventLoopPolicy,
  RuntimeError,
  SelectorEventLoop,
  getEventLoop,
  getEventLoopPolicy,
  getRunningLoop,
  newEventLoop,
  run,
  setEventLoop,
  setEventLoopPolicy,
  sleep,
  currentTask,
  CancelledError,
} from '@evloop/core-policy';
import { builtEntry, packagesDirectory, testSelector } from './helpers.js';

/** The policy the tests use: selector loops on this platform's best backend. */
class TestPolicy extends BaseDefaultEventLoopPolicy {
  newEventLoop(): SelectorEventLoop {
    return new SelectorEventLoop(testSelector());
  }
}

const made: AbstractEventLoop[] = [];
function track<T extends AbstractEventLoop>(loop: T): T {
  made.push(loop);
  return loop;
}

afterEach(() => {
  for (const loop of made.splice(0)) if (!loop.isClosed() && !loop.isRunning()) loop.close();
  setEventLoopPolicy(null);
});

describe('policies', () => {
  it('getEventLoopPolicy returns one DefaultEventLoopPolicy until replaced; null restores the default', () => {
    const first = getEventLoopPolicy();
    expect(first).toBeInstanceOf(DefaultEventLoopPolicy);
    expect(getEventLoopPolicy()).toBe(first);
    const mine = new TestPolicy();
    setEventLoopPolicy(mine);
    expect(getEventLoopPolicy()).toBe(mine);
    setEventLoopPolicy(null);
    expect(getEventLoopPolicy()).toBeInstanceOf(DefaultEventLoopPolicy);
    expect(getEventLoopPolicy()).not.toBe(mine);
    expect(() => setEventLoopPolicy(42 as never)).toThrow(TypeError);
  });

  it('the main thread gets a loop on demand, the same one each time, until set', () => {
    setEventLoopPolicy(new TestPolicy());
    const loop = track(getEventLoop());
    expect(getEventLoop()).toBe(loop);
    const other = track(newEventLoop());
    expect(other).not.toBe(loop);
    setEventLoop(other);
    expect(getEventLoop()).toBe(other);
    setEventLoop(null);
    // After an explicit set (even to null) no loop is created on demand.
    expect(() => getEventLoop()).toThrow(RuntimeError);
    expect(() => setEventLoop('loop' as never)).toThrow(TypeError);
  });

  it('getEventLoop() from a running callback or coroutine returns the running loop', async () => {
    setEventLoopPolicy(new TestPolicy());
    const policyLoop = track(getEventLoop());
    const running = track(new SelectorEventLoop(testSelector()));
    const seen: unknown[] = [];
    running.callSoon(() => {
      seen.push(getEventLoop(), getRunningLoop());
    });
    await running.runUntilComplete(async () => {
      await sleep(0);
      seen.push(getEventLoop());
    });
    expect(seen).toEqual([running, running, running]);
    expect(getEventLoop()).toBe(policyLoop);
    expect(() => getRunningLoop()).toThrow('no running event loop');
  });

  it("a subclass overriding getEventLoop (the seed's MyEventLoopPolicy) works through the module functions", () => {
    const calls: string[] = [];
    class MyEventLoopPolicy extends TestPolicy {
      override getEventLoop(): BaseEventLoop {
        calls.push('getEventLoop');
        const loop = super.getEventLoop();
        return loop;
      }
    }
    setEventLoopPolicy(new MyEventLoopPolicy());
    const loop = track(getEventLoop());
    expect(loop).toBeInstanceOf(SelectorEventLoop);
    expect(calls).toEqual(['getEventLoop']);
  });

  it('DefaultEventLoopPolicy validates its backend option', () => {
    expect(() => new DefaultEventLoopPolicy({ backend: 5 as never })).toThrow(TypeError);
    expect(() => new DefaultEventLoopPolicy({ backend: 'no-such-backend' }).newEventLoop()).toThrow(RangeError);
  });

  it('a worker thread has its own policy state: no loop on demand, but run() works', async () => {
    const source = `
      const { parentPort } = require('node:worker_threads');
      const core = require(${JSON.stringify(builtEntry('core-policy'))});
      let noLoop;
      try { core.getEventLoop(); noLoop = 'created'; } catch (error) { noLoop = error.name + ': ' + error.message; }
      core.run(async () => { await core.sleep(0.001); return 'ran in worker'; }, { loopFactory: () => new core.SelectorEventLoop(new core.MemorySelector()) })
        .then((result) => parentPort.postMessage({ noLoop, result, policyIsDefault: core.getEventLoopPolicy() instanceof core.DefaultEventLoopPolicy }));
    `;
    const worker = new Worker(source, { eval: true, cwd: packagesDirectory } as never);
    const message = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(message.noLoop).toMatch(/^RuntimeError: There is no current event loop in thread worker \d+\.$/);
    expect(message.result).toBe('ran in worker');
    expect(message.policyIsDefault).toBe(true);
  });
});

describe('run()', () => {
  it('makes a loop, runs main, closes the loop and returns the result', async () => {
    let seenLoop: AbstractEventLoop | undefined;
    const result = await run(
      async () => {
        seenLoop = getRunningLoop();
        await sleep(0.001);
        return 42;
      },
      { loopFactory: () => track(new SelectorEventLoop(testSelector())) },
    );
    expect(result).toBe(42);
    expect(seenLoop!.isClosed()).toBe(true);
  });

  it('cancels the tasks still pending when main returns, and they may clean up', async () => {
    const events: string[] = [];
    await run(
      function* () {
        const loop = getRunningLoop();
        loop.createTask(
          (function* () {
            try {
              yield* sleep(60);
            } catch (error) {
              events.push(CancelledError.isInstance(error) ? 'leftover cancelled' : 'other');
              throw error;
            }
          })(),
        );
        yield* sleep(0.001);
        events.push('main done');
      },
      { loopFactory: () => track(new SelectorEventLoop(testSelector())) },
    );
    expect(events).toEqual(['main done', 'leftover cancelled']);
  });

  it('propagates the exception of main, and debug applies to the loop', async () => {
    const boom = new Error('boom');
    let debug: boolean | undefined;
    await expect(
      run(
        async () => {
          debug = getRunningLoop().getDebug();
          throw boom;
        },
        { loopFactory: () => track(new SelectorEventLoop(testSelector())), debug: true },
      ),
    ).rejects.toBe(boom);
    expect(debug).toBe(true);
  });

  it('refuses to run inside a running loop', async () => {
    const loop = track(new SelectorEventLoop(testSelector()));
    const error = await loop.runUntilComplete(async () => run(async () => 1).then(() => null, (e: unknown) => e));
    expect(RuntimeError.isInstance(error)).toBe(true);
  });

  it('currentTask() is the main task inside run()', async () => {
    const result = await run(
      async () => currentTask()?.getName(),
      { loopFactory: () => track(new SelectorEventLoop(testSelector())) },
    );
    expect(result).toMatch(/^Task-\d+$/);
  });
});
