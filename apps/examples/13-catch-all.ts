// A catch-all catch that still lets cancel() through: rethrowIfCancelled.
import { CancelledError, createTask, rethrowIfCancelled, run, sleep } from '@evloop/core-policy';

let failures = 0;

async function poller(): Promise<void> {
  for (;;) {
    try {
      await sleep(0.01); // where cancel() lands
      throw new Error('flaky service');
    } catch (error) {
      rethrowIfCancelled(error); // without this line, cancel() would be swallowed
      failures++; // any other failure: count it and go on
    }
  }
}

await run(async () => {
  const task = createTask(poller);
  await sleep(0.05);
  task.cancel();
  try {
    await task;
  } catch (error) {
    console.log('poller cancelled:', CancelledError.isInstance(error), task.cancelled());
  }
  console.log('failures handled meanwhile:', failures > 0);
});
