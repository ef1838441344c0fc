// The app an npm user would write: the default policy picks the backend, a
// streams server on loopback echoes one line back to a client.
// Prints `backend=<name>` and `echo=ok`; on any error prints it and exits 1.
import { getRunningLoop, openConnection, run, startServer } from '@evloop/core-policy';

async function echoOnce(reader, writer) {
  try {
    writer.write(await reader.readline());
    await writer.drain();
  } finally {
    writer.close();
  }
}

async function main() {
  console.log(`backend=${getRunningLoop().backend.name}`);
  const server = await startServer(echoOnce, '127.0.0.1', 0);
  try {
    const [, port] = server.sockets[0].getsockname();
    const [reader, writer] = await openConnection('127.0.0.1', port);
    const line = Buffer.from('hello from an installed evloop\n');
    writer.write(line);
    await writer.drain();
    const echoed = await reader.readline();
    writer.close();
    await writer.waitClosed();
    if (!echoed.equals(line)) throw new Error(`the echo came back as ${JSON.stringify(echoed.toString())}`);
    console.log('echo=ok');
  } finally {
    server.close();
    await server.waitClosed();
  }
}

try {
  await run(main);
} catch (error) {
  console.error(`error: ${error?.message ?? error}`);
  process.exitCode = 1;
}
