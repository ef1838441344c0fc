// Coroutines: a generator function (yield* a future) or an async function
// (await a future). Both can be cancelled at the point where they wait.
import { CancelledError, run, sleep, getRunningLoop } from '@evloop/core-policy';

function* worker(name: string) {
  try {
    for (let i = 1; ; i++) {
      yield* sleep(0.01);
      if (i === 3) console.log(`${name} is working`);
    }
  } catch (error) {
    if (CancelledError.isInstance(error)) console.log(`${name} cleans up after cancel()`);
    throw error;
  }
}

async function asyncWorker(name: string) {
  try {
    await sleep(60);
  } catch (error) {
    if (CancelledError.isInstance(error)) console.log(`${name} cancelled inside its await`);
    throw error;
  }
}

await run(async () => {
  const loop = getRunningLoop();
  const generatorTask = loop.createTask(worker('generator'));
  const asyncTask = loop.createTask(() => asyncWorker('async function'));
  await sleep(0.1);
  generatorTask.cancel();
  asyncTask.cancel();
  await sleep(0);
  await sleep(0);
  console.log(`cancelled: ${generatorTask.cancelled()} ${asyncTask.cancelled()}`);
});
