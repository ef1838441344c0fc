// Watching a file descriptor: addReader on a pipe from @evloop/sys.
import { newEventLoop } from '@evloop/core-policy';
import { close, pipe, read, write } from '@evloop/sys';

const loop = newEventLoop();
const [readEnd, writeEnd] = pipe();
loop.addReader(readEnd, () => {
  console.log('readable:', read(readEnd, 100).toString());
  loop.removeReader(readEnd);
  loop.stop();
});
loop.callLater(0.01, () => write(writeEnd, Buffer.from('bytes in a pipe')));
await loop.runForever();
close(readEnd);
close(writeEnd);
loop.close();
