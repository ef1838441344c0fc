// gather, waitFor, wait and shield, as in asyncio.
import { FIRST_COMPLETED, TimeoutError, gather, run, shield, sleep, wait, waitFor, createTask } from '@evloop/core-policy';

await run(async () => {
  console.log('gather:', await gather(sleep(0.02, 'a'), sleep(0.01, 'b'), Promise.resolve('c')));

  try {
    await waitFor(sleep(10), 0.02);
  } catch (error) {
    console.log('waitFor:', TimeoutError.isInstance(error) ? 'timed out' : String(error));
  }

  const fast = createTask(sleep(0.01, 'fast'));
  const slow = createTask(sleep(10, 'slow'));
  const [done, pending] = await wait([fast, slow], { returnWhen: FIRST_COMPLETED });
  console.log(`wait: ${done.size} done, ${pending.size} pending`);
  slow.cancel();

  const important = createTask(sleep(0.03, 'kept'));
  const shielded = shield(important);
  shielded.cancel();
  console.log('shield:', await important);
});
