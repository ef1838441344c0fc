// The evloop side of every scenario, run as a user would: a fresh loop from
// the default policy per run, driven by runForever/runUntilComplete.
import { gather, sleep } from '@evloop/core-policy';
import { benchLoop } from './bench-loop.mjs';
import { childMain, delaysMs } from './common.mjs';

async function runLoop(loop, body) {
  try {
    return await body(loop);
  } finally {
    loop.close();
  }
}

export const scenarios = {
  /** n callSoon scheduled before the loop runs; the loop runs them all. */
  'callsoon-batch': ({ n }) =>
    runLoop(benchLoop(), (loop) => {
      let count = 0;
      const callback = () => {
        if (++count === n) loop.stop();
      };
      for (let i = 0; i < n; i++) loop.callSoon(callback);
      return loop.runForever();
    }),

  /** Each callback schedules the next: n loop iterations of one callback each. */
  'callsoon-chain': ({ n }) =>
    runLoop(benchLoop(), (loop) => {
      let count = 0;
      const callback = () => {
        if (++count === n) loop.stop();
        else loop.callSoon(callback);
      };
      loop.callSoon(callback);
      return loop.runForever();
    }),

  'timers-1s': timers,
  'timers-100ms': timers,

  /** Generator tasks: `yield* sleep(0)` `steps` times each. */
  'tasks-gen': ({ tasks, steps }) =>
    runLoop(benchLoop(), (loop) => {
      function* worker() {
        for (let i = 0; i < steps; i++) yield* sleep(0);
      }
      function* main() {
        const all = [];
        for (let i = 0; i < tasks; i++) all.push(loop.createTask(worker()));
        yield* gather(...all);
      }
      return loop.runUntilComplete(main());
    }),

  /** Async-function tasks: `await sleep(0)` `steps` times each. */
  'tasks-async': ({ tasks, steps }) =>
    runLoop(benchLoop(), (loop) => {
      async function worker() {
        for (let i = 0; i < steps; i++) await sleep(0);
      }
      async function main() {
        const all = [];
        for (let i = 0; i < tasks; i++) all.push(loop.createTask(worker));
        await gather(...all);
      }
      return loop.runUntilComplete(main);
    }),
};

/** n callLater with the shared delays; done when the last one has fired. */
function timers({ n }, delays) {
  return runLoop(benchLoop(), (loop) => {
    let count = 0;
    const callback = () => {
      if (++count === n) loop.stop();
    };
    for (let i = 0; i < n; i++) loop.callLater(delays[i] / 1000, callback);
    return loop.runForever();
  });
}

timers.prepare = ({ n, maxMs }) => delaysMs(n, maxMs);

await childMain(scenarios);
