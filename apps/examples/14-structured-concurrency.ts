// Structured concurrency (asyncio 3.11): taskGroup() waits for every child
// and cancels the rest when one fails; timeout() turns a deadline into a
// TimeoutError. Both work with await (async functions) and yield* (generators).
import { ExceptionGroup, TimeoutError, run, sleep, taskGroup, timeout } from '@evloop/core-policy';

async function fetchPart(name: string, seconds: number): Promise<string> {
  await sleep(seconds);
  if (name === 'broken') throw new Error(`${name} failed`);
  return name;
}

await run(async () => {
  const parts = await taskGroup(async (group) => {
    const a = group.createTask(() => fetchPart('a', 0.02));
    const b = group.createTask(() => fetchPart('b', 0.01));
    return [a, b];
  });
  console.log('all done:', parts.map((task) => task.result()).join(' '));

  try {
    await taskGroup(async (group) => {
      group.createTask(() => fetchPart('broken', 0.01));
      group.createTask(() => fetchPart('slow', 60)); // cancelled when 'broken' fails
    });
  } catch (error) {
    if (ExceptionGroup.isInstance(error)) console.log(`group failed: ${error.exceptions.map((inner) => (inner instanceof Error ? inner.message : String(inner))).join(', ')}`);
  }

  try {
    await timeout(0.05, async () => fetchPart('too slow', 60));
  } catch (error) {
    if (TimeoutError.isInstance(error)) console.log('timeout: gave up after 50 ms');
  }
});

// The same from a generator coroutine.
const value = await run(function* () {
  return yield* timeout(1, function* (scope) {
    yield* sleep(0.01);
    scope.reschedule(null); // no deadline any more
    return 'generator finished in time';
  });
});
console.log(value);
