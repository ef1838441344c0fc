// Introspection: per-iteration statistics, and the task tree with each
// task's await point (debug mode adds the line it waits at).
import { formatTaskTree, getRunningLoop, run, sleep } from '@evloop/core-policy';

await run(async () => {
  const loop = getRunningLoop();
  let iterations = 0;
  let callbacks = 0;
  loop.setIterationObserver((stats) => {
    iterations += 1;
    callbacks += stats.callbacks;
  });
  for (let i = 0; i < 5; i++) loop.callSoon(() => {});
  await sleep(0.01);
  loop.setIterationObserver(null);
  console.log(`observed ${iterations > 0 ? 'some' : 'no'} iterations; 5 callbacks among ${callbacks >= 5 ? 'at least 5' : 'fewer than 5'} run`);

  loop.setDebug(true);
  loop.slowCallbackDuration = 60; // debug mode's slow-callback warnings are not the point here
  const gate = loop.createFuture<void>();
  const worker = loop.createTask(function* worker() {
    yield* gate; // the await point the tree shows
  }, { name: 'worker' });
  await sleep(0);
  // Keep the file name only: full paths differ between machines.
  console.log(formatTaskTree(loop).replace(/ at .*[\\/]([^\\/]+:\d+):\d+/g, ' at $1').replace(/Task-\d+/, 'main'));
  gate.setResult();
  await worker;
  loop.setDebug(false);
});
