// TCP urgent data wakes the priority reader, ordinary data the reader.
import { newEventLoop } from '@evloop/core-policy';
import { AF_INET, MSG_OOB, SOCK_STREAM, Socket } from '@evloop/sys';

const loop = newEventLoop();
const listener = new Socket(AF_INET, SOCK_STREAM);
listener.bind(['127.0.0.1', 0]);
listener.listen(1);
const address = listener.getsockname();
if (address === null) throw new Error('the listener has no address');
const client = new Socket(AF_INET, SOCK_STREAM);
client.connect(address);
const [server] = listener.accept({ blocking: false });
loop.addReader(server, () => console.log(`data: ${server.recv(100).toString()}`));
loop.addPriorityReader(server, () => {
  console.log(`urgent: ${server.recv(1, MSG_OOB).toString()}`);
  loop.stop();
});
client.send(Buffer.from('!'), MSG_OOB);
await loop.runForever();
loop.removeReader(server);
loop.removePriorityReader(server);
for (const sock of [server, client, listener]) sock.close();
loop.close();
