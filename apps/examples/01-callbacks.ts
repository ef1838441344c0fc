// Callbacks and timers: callSoon runs FIFO on the next iteration, callLater
// after a delay in seconds; stop() ends runForever() after this iteration.
import { newEventLoop } from '@evloop/core-policy';

const loop = newEventLoop();
const start = loop.time();
loop.callSoon(() => console.log('first'));
loop.callSoon((word) => console.log(word), 'second');
loop.callLater(0.05, () => {
  console.log(`timer after ${loop.time() >= start + 0.05 ? 'at least' : 'LESS than'} 50 ms`);
  loop.stop();
});
await loop.runForever();
loop.close();
