// waitFor (and task.cancel()) reach an async function at its evloop awaits.
// A foreign Promise (a Node timer) cannot be cancelled from outside: wrap it
// in a future (ensureFuture) and abort the Node operation when that future
// is cancelled.
import { TimeoutError, ensureFuture, run, waitFor } from '@evloop/core-policy';
import { setTimeout as nodeSleep } from 'node:timers/promises';

let timerFired = false;

async function rawNodeTimer(): Promise<void> {
  await nodeSleep(500);
  timerFired = true;
}

async function abortableNodeTimer(): Promise<void> {
  const controller = new AbortController();
  const timer = ensureFuture(nodeSleep(500, undefined, { signal: controller.signal }));
  timer.addDoneCallback((future) => {
    if (future.cancelled()) controller.abort();
  });
  await timer;
  timerFired = true;
}

await run(async () => {
  for (const work of [rawNodeTimer, abortableNodeTimer]) {
    timerFired = false;
    try {
      await waitFor(work, 0.05);
    } catch (error) {
      if (!TimeoutError.isInstance(error)) throw error;
      console.log(`${work.name}: TimeoutError; the Node timer had fired first: ${timerFired}`);
    }
  }
});
