// The protocol level: a Protocol subclass gets callbacks from its transport.
import { CONSUMES_RECEIVED_DATA, Protocol, getRunningLoop, run, type Future, type Transport } from '@evloop/core-policy';

class EchoServer extends Protocol<Transport> {
  // It keeps nothing it is given: the transport may read into the same memory again.
  readonly [CONSUMES_RECEIVED_DATA] = true;
  transport: Transport | null = null;
  override connectionMade(transport: Transport): void {
    this.transport = transport;
  }
  override dataReceived(data: Buffer): void {
    this.transport?.write(data);
  }
}

class Client extends Protocol<Transport> {
  readonly done: Future<void>;
  constructor(done: Future<void>) {
    super();
    this.done = done;
  }
  override connectionMade(transport: Transport): void {
    transport.write(Buffer.from('ping'));
  }
  override dataReceived(data: Buffer): void {
    console.log('client got:', data.toString());
    this.done.setResult();
  }
}

await run(async () => {
  const loop = getRunningLoop();
  const server = await loop.createServer(() => new EchoServer(), '127.0.0.1', 0);
  const [, port] = server.sockets[0].getsockname();
  const done = loop.createFuture<void>();
  const [transport] = await loop.createConnection(() => new Client(done), '127.0.0.1', port);
  await done;
  transport.close();
  server.close();
  await server.waitClosed();
});
