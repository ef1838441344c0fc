// Streams: a line echo server and a client, over loopback TCP.
import { openConnection, run, startServer } from '@evloop/core-policy';

await run(async () => {
  const server = await startServer(async (reader, writer) => {
    for await (const line of reader) {
      writer.write(Buffer.from(line.toString().toUpperCase()));
      await writer.drain();
    }
    writer.close();
  }, '127.0.0.1', 0);
  const [host, port] = server.sockets[0].getsockname();

  const [reader, writer] = await openConnection(host, port);
  for (const word of ['hello', 'streams']) {
    writer.write(Buffer.from(`${word}\n`));
    console.log('echoed:', (await reader.readline()).toString().trim());
  }
  writer.close();
  await writer.waitClosed();
  server.close();
  await server.waitClosed();
});
