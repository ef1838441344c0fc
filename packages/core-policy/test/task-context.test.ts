import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { builtEntry, packagesDirectory } from './helpers.js';

// Which task an async function runs in is tracked by AsyncLocalStorage where
// it is cheap (AsyncContextFrame, Node 24+) and by V8 promise hooks elsewhere
// (Node 20). EVLOOP_TASK_CONTEXT picks one; both must behave alike for
// everything that goes through Promises. Each mode runs in a worker thread
// (its own module instance and environment) on the built package.
const SCENARIOS = `
  const { parentPort } = require('node:worker_threads');
  const { AsyncLocalStorage } = require('node:async_hooks');
  const core = require(${JSON.stringify(builtEntry('core-policy'))});
  const loop = new core.SelectorEventLoop(new core.MemorySelector());
  const storage = new AsyncLocalStorage();
  async function main() {
    const out = {};
    // currentTask() through nested foreign awaits, tasks interleaved.
    const mismatches = [];
    async function nested(self, depth) {
      await Promise.resolve();
      if (core.currentTask() !== self) mismatches.push('resolve ' + depth);
      await new Promise((resolve) => setImmediate(resolve));
      if (core.currentTask() !== self) mismatches.push('setImmediate ' + depth);
      await core.sleep(0);
      if (core.currentTask() !== self) mismatches.push('sleep ' + depth);
      await core.sleep(0.001);
      if (core.currentTask() !== self) mismatches.push('timer ' + depth);
      if (depth > 0) await nested(self, depth - 1);
    }
    const tasks = [1, 2, 3].map(() => loop.createTask(async () => nested(core.currentTask(), 2)));
    for (const task of tasks) await task;
    out.mismatches = mismatches;
    // A user's AsyncLocalStorage stays per task.
    const seen = [];
    const named = ['a', 'b'].map((name) => loop.createTask(() => storage.run(name, async () => {
      for (let i = 0; i < 2; i++) { await core.sleep(0); await Promise.resolve(); seen.push(name + ':' + storage.getStore()); }
    })));
    for (const task of named) await task;
    out.storage = seen.sort();
    // A cancellation that came during a foreign Promise lands at the next evloop await.
    let release;
    const foreign = new Promise((resolve) => (release = resolve));
    const cancelled = loop.createTask(async () => {
      await foreign;
      try { await core.sleep(0); return 'not cancelled'; } catch (error) { return error.name; }
    });
    await core.sleep(0);
    cancelled.cancel();
    release();
    out.cancelledAt = await cancelled;
    // uncancel() drops an undelivered cancellation.
    const kept = loop.createTask(async () => {
      await foreign;
      const task = core.currentTask();
      task.cancel();
      task.uncancel();
      await core.sleep(0);
      return 'went on';
    });
    out.uncancelled = await kept;
    // A task's signal stops what Node runs for it; the task ends cancelled.
    const aborted = loop.createTask(async () => {
      await require('node:timers/promises').setTimeout(10_000, null, { signal: core.currentTask().signal });
    });
    await core.sleep(0.001);
    aborted.cancel();
    try { await aborted; } catch (error) { out.aborted = error.name + ' ' + aborted.cancelled(); }
    // Each task sees itself after awaiting a Promise that another task settles.
    let settle;
    const shared = new Promise((resolve) => (settle = resolve));
    const waiters = [0, 1].map(() => loop.createTask(async () => { const self = core.currentTask(); await shared; return core.currentTask() === self; }));
    loop.createTask(async () => { await core.sleep(0); settle(); });
    out.sharedPromise = [await waiters[0], await waiters[1]];
    return out;
  }
  loop.runUntilComplete(main).then(
    (out) => { loop.close(); parentPort.postMessage(out); },
    (error) => { loop.close(); parentPort.postMessage({ error: String(error && error.stack) }); },
  );
`;

async function runIn(mode: string): Promise<Record<string, unknown>> {
  const worker = new Worker(SCENARIOS, { eval: true, cwd: packagesDirectory, env: { ...process.env, EVLOOP_TASK_CONTEXT: mode } } as never);
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

describe('the task context (AsyncLocalStorage or promise hooks)', () => {
  for (const mode of ['als', 'hooks']) {
    it(`EVLOOP_TASK_CONTEXT=${mode}: currentTask(), user storage, cancellation, uncancel() and signals behave alike`, async () => {
      expect(await runIn(mode)).toEqual({
        mismatches: [],
        storage: ['a:a', 'a:a', 'b:b', 'b:b'],
        cancelledAt: 'CancelledError',
        uncancelled: 'went on',
        aborted: 'CancelledError true',
        sharedPromise: [true, true],
      });
    });
  }
});
