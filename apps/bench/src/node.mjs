// Plain Node analogues of each scenario: setImmediate, setTimeout and async
// functions, with no evloop involved.
import { childMain, delaysMs } from './common.mjs';

export const scenarios = {
  /** n setImmediate scheduled up front. */
  'callsoon-batch': ({ n }) =>
    new Promise((resolve) => {
      let count = 0;
      const callback = () => {
        if (++count === n) resolve();
      };
      for (let i = 0; i < n; i++) setImmediate(callback);
    }),

  /** Each setImmediate callback schedules the next. */
  'callsoon-chain': ({ n }) =>
    new Promise((resolve) => {
      let count = 0;
      const callback = () => {
        if (++count === n) resolve();
        else setImmediate(callback);
      };
      setImmediate(callback);
    }),

  'timers-1s': timers,
  'timers-100ms': timers,

  /** Async functions, each doing `await new Promise(setImmediate)` `steps` times. */
  tasks: ({ tasks, steps }) => {
    async function worker() {
      for (let i = 0; i < steps; i++) await new Promise(setImmediate);
    }
    const all = [];
    for (let i = 0; i < tasks; i++) all.push(worker());
    return Promise.all(all);
  },
};

/** n setTimeout with the shared delays (whole milliseconds). */
function timers({ n }, delays) {
  return new Promise((resolve) => {
    let count = 0;
    const callback = () => {
      if (++count === n) resolve();
    };
    for (let i = 0; i < n; i++) setTimeout(callback, delays[i]);
  });
}

timers.prepare = ({ n, maxMs }) => delaysMs(n, maxMs);

await childMain(scenarios);
