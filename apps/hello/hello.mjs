#!/usr/bin/env node
// The seed documents' callback example: print "Hello World" every two
// seconds with call_later, on whichever backend the default policy picks.
//
//   node hello.mjs                  forever (Ctrl-C to stop)
//   node hello.mjs --count 3        three times, then stop the loop
//   node hello.mjs --interval 0.1   a shorter period (seconds)
import { parseArgs } from 'node:util';
import { getEventLoop } from '@evloop/core-policy';

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    interval: { type: 'string', default: '2' },
  },
});
const count = values.count === undefined ? Infinity : Number(values.count);
const interval = Number(values.interval);
if (!(count > 0) || !(interval >= 0)) {
  console.error('usage: hello.mjs [--count N] [--interval SECONDS]');
  process.exit(2);
}

const loop = getEventLoop();
console.log(`evloop is running on the ${loop.backend.name} backend`);

let printed = 0;
function helloWorld() {
  printed += 1;
  console.log('Hello World');
  if (printed >= count) loop.stop();
  else loop.callLater(interval, helloWorld);
}

loop.callSoon(helloWorld);
try {
  await loop.runForever();
} finally {
  loop.close();
}
