// An exception in a callback goes to the loop's exception handler; debug
// mode (or EVLOOP_DEBUG=1) warns about slow callbacks.
import { newEventLoop, setLogger } from '@evloop/core-policy';

const loop = newEventLoop();
loop.setExceptionHandler((_loop, context) => {
  const error = context.exception;
  console.log(`handler: ${context.message}: ${error instanceof Error ? error.message : String(error)}`);
});
loop.setDebug(true);
loop.slowCallbackDuration = 0.02;
setLogger({ error: console.log, warning: (message) => console.log(`warning: ${message.replace(/\d+\.\d+/, 'N')}`), info() {}, debug() {} });

loop.callSoon(function broken() {
  throw new Error('boom');
});
loop.callSoon(function slow() {
  const until = Date.now() + 50;
  while (Date.now() < until) {
    // too slow for the loop
  }
});
loop.callSoon(() => loop.stop());
await loop.runForever();
loop.close();
