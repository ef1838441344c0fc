#!/usr/bin/env node
// The seed documents' custom policy: a subclass of the default policy that
// overrides getEventLoop (here to log each call and to customise the loop
// the first time it hands it out), installed with setEventLoopPolicy and then
// used only through the module functions, as an asyncio program would:
//
//   class MyEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
//       def get_event_loop(self):
//           loop = super().get_event_loop()
//           # Do something with loop ...
//           return loop
//
//   asyncio.set_event_loop_policy(MyEventLoopPolicy())
//
//   node my-policy.mjs
import { DefaultEventLoopPolicy, getEventLoop, getEventLoopPolicy, setEventLoopPolicy } from '@evloop/core-policy';

class MyEventLoopPolicy extends DefaultEventLoopPolicy {
  calls = 0;

  getEventLoop() {
    const loop = super.getEventLoop();
    this.calls += 1;
    if (this.calls === 1) {
      // The customisation: errors in callbacks are reported in one line by
      // the policy instead of by the loop's default handler.
      loop.setExceptionHandler((_loop, context) => {
        console.log(`MyEventLoopPolicy's handler: ${context.message}: ${context.exception?.message}`);
      });
    }
    console.log(`MyEventLoopPolicy.getEventLoop() call ${this.calls}: a loop on the ${loop.backend.name} backend`);
    return loop;
  }
}

setEventLoopPolicy(new MyEventLoopPolicy());
console.log(`policy installed: ${getEventLoopPolicy().constructor.name}`);

// Outside a running loop the module function asks the policy...
const loop = getEventLoop();
console.log(`the same loop again: ${getEventLoop() === loop}`);

loop.callSoon(() => {
  // ...inside one it gives the running loop without asking it (as asyncio).
  const calls = getEventLoopPolicy().calls;
  const running = getEventLoop();
  console.log(`inside a callback: the running loop ${running === loop ? 'is' : 'is not'} the policy's, policy asked ${getEventLoopPolicy().calls - calls} more times`);
  throw new Error('a callback failed');
});
loop.callLater(0.01, () => {
  console.log('done');
  loop.stop();
});

try {
  await loop.runForever();
} finally {
  loop.close();
}
