#!/usr/bin/env node
// The seed documents' example: install handlers for SIGINT and SIGTERM with
// addSignalHandler, sleep for an hour, and stop the loop when either arrives.
import { getRunningLoop, run, sleep } from '@evloop/core-policy';

function askExit(signame, loop) {
  console.log(`got signal ${signame}: exit`);
  loop.stop();
}

async function main() {
  const loop = getRunningLoop();
  for (const signame of ['SIGINT', 'SIGTERM']) {
    loop.addSignalHandler(signame, askExit, signame, loop);
  }
  console.log(`Event loop running for 1 hour, press Ctrl+C to interrupt. pid ${process.pid}: send SIGINT or SIGTERM.`);
  await sleep(3600);
}

try {
  await run(main);
} catch (error) {
  // loop.stop() ends run() before main finishes, as in asyncio.
  if (!String(error?.message).includes('Event loop stopped before Future completed')) throw error;
}
