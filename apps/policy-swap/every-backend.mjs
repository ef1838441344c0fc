#!/usr/bin/env node
// One echo server, run on every installed and usable backend in turn: for
// each backend listBackends() reports, a fresh DefaultEventLoopPolicy forcing
// it is installed, and run() starts the streams echo server on 127.0.0.1,
// does --count round-trips through it and closes everything. One line per
// backend: its round-trips, or why it was skipped. Exit status 1 if any
// usable backend failed the echo. The timings are a smoke test, not a
// benchmark (the first backend also pays for JIT warm-up): see apps/bench.
//
//   node every-backend.mjs [--count N]
import { parseArgs } from 'node:util';
import { DefaultEventLoopPolicy, getRunningLoop, listBackends, run, setEventLoopPolicy } from '@evloop/core-policy';
import { echoRoundTrips } from './echo.mjs';

let values;
try {
  ({ values } = parseArgs({ options: { count: { type: 'string', default: '100' } } }));
} catch {
  values = {};
}
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) {
  console.error('usage: every-backend.mjs [--count N]');
  process.exit(2);
}

let failures = 0;
for (const report of listBackends()) {
  // Not installed, not usable here, or usable but not a candidate on this platform.
  if (!report.installed || !report.available || report.preference === null) {
    console.log(`${report.name}: skipped (${report.reason})`);
    continue;
  }
  setEventLoopPolicy(new DefaultEventLoopPolicy({ backend: report.name }));
  try {
    const seconds = await run(async () => {
      const loop = getRunningLoop();
      if (loop.backend.name !== report.name) throw new Error(`the loop runs on ${loop.backend.name}`);
      return echoRoundTrips(count);
    });
    const rate = Math.round(count / seconds);
    console.log(`${report.name}: ${count} echo round-trips in ${(seconds * 1000).toFixed(1)} ms (${rate} per second)`);
  } catch (error) {
    failures += 1;
    console.log(`${report.name}: FAILED: ${error?.message ?? error}`);
  } finally {
    setEventLoopPolicy(null);
  }
}
process.exitCode = failures === 0 ? 0 : 1;
