// Shut a server down on SIGINT (Ctrl-C): stop listening, close the clients,
// wait until every connection is gone.
import { getRunningLoop, openConnection, run, startServer } from '@evloop/core-policy';

await run(async () => {
  const loop = getRunningLoop();
  const server = await startServer(async (reader, writer) => {
    for await (const line of reader) writer.write(line);
  }, '127.0.0.1', 0);
  const interrupted = loop.createFuture<string>();
  loop.addSignalHandler('SIGINT', () => {
    if (!interrupted.done()) interrupted.setResult('SIGINT');
  });

  const [host, port] = server.sockets[0].getsockname();
  const [reader, writer] = await openConnection(host, port);
  writer.write(Buffer.from('still here\n'));
  console.log('client got:', (await reader.readline()).toString().trim());

  process.kill(process.pid, 'SIGINT'); // what Ctrl-C sends
  console.log('stopping on', await interrupted);
  loop.removeSignalHandler('SIGINT');
  server.close(); // stop listening
  server.closeClients(); // close the connections it accepted
  await server.waitClosed();
  console.log('client sees EOF:', (await reader.read()).length === 0);
  writer.close();
});
