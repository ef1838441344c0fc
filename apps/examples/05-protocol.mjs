// The protocol level: a Protocol subclass gets callbacks from its transport.
import { Protocol, getRunningLoop, run } from '@evloop/core-policy';

class EchoServer extends Protocol {
  connectionMade(transport) {
    this.transport = transport;
  }
  dataReceived(data) {
    this.transport.write(data);
  }
}

class Client extends Protocol {
  constructor(done) {
    super();
    this.done = done;
  }
  connectionMade(transport) {
    transport.write(Buffer.from('ping'));
  }
  dataReceived(data) {
    console.log('client got:', data.toString());
    this.done.setResult(undefined);
  }
}

await run(async () => {
  const loop = getRunningLoop();
  const server = await loop.createServer(() => new EchoServer(), '127.0.0.1', 0);
  const port = server.sockets[0].getsockname()[1];
  const done = loop.createFuture();
  const [transport] = await loop.createConnection(() => new Client(done), '127.0.0.1', port);
  await done;
  transport.close();
  server.close();
  await server.waitClosed();
});
