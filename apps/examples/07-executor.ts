// Blocking work off the loop thread: runInExecutor runs a self-contained
// function in a pool of worker threads.
import { run, getRunningLoop, sleep } from '@evloop/core-policy';

function slowSquare(x: number): number {
  const until = Date.now() + 100;
  while (Date.now() < until) {
    // a blocking computation
  }
  return x * x;
}

await run(async () => {
  const loop = getRunningLoop();
  let ticks = 0;
  const ticking = loop.createTask(async () => {
    for (;;) {
      await sleep(0.01);
      ticks++;
    }
  });
  const result = await loop.runInExecutor(null, slowSquare, 12);
  ticking.cancel();
  console.log(`square: ${result}; the loop kept ticking meanwhile: ${ticks > 3}`);
  await loop.shutdownDefaultExecutor();
});
