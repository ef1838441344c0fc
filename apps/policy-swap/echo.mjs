// The echo server and client that choose-backend.mjs and every-backend.mjs
// run: a streams server on 127.0.0.1 (any free port) and a client that sends
// `count` lines and checks each one comes back unchanged.
import { getRunningLoop, openConnection, startServer } from '@evloop/core-policy';

async function echoLines(reader, writer) {
  try {
    for await (const line of reader) {
      writer.write(line);
      await writer.drain();
    }
  } finally {
    writer.close();
  }
}

/**
 * Start the server, do `count` round-trips over one connection, stop the
 * server. Runs inside a running loop (a task of `run()`); resolves to the elapsed
 * seconds on the loop's clock.
 */
export async function echoRoundTrips(count) {
  const loop = getRunningLoop();
  const server = await startServer(echoLines, '127.0.0.1', 0);
  try {
    const [host, port] = server.sockets[0].getsockname();
    const [reader, writer] = await openConnection(host, port);
    const started = loop.time();
    try {
      for (let index = 0; index < count; index++) {
        const line = Buffer.from(`round-trip ${index}\n`);
        writer.write(line);
        await writer.drain();
        const echoed = await reader.readline();
        if (!echoed.equals(line)) throw new Error(`round-trip ${index} came back as ${JSON.stringify(echoed.toString())}`);
      }
      const elapsed = loop.time() - started;
      writer.writeEof();
      const rest = await reader.read();
      if (rest.length !== 0) throw new Error(`unexpected bytes after the last echo: ${JSON.stringify(rest.toString())}`);
      return elapsed;
    } finally {
      writer.close();
      await writer.waitClosed();
    }
  } finally {
    server.close();
    await server.waitClosed();
  }
}
