// Retry a connection with exponential backoff, under a deadline for all the
// attempts together (waitFor over a function, so the deadline can cancel it).
import { ConnectionRefusedError, TimeoutError, openConnection, run, sleep, startServer, waitFor } from '@evloop/core-policy';

async function connectWithRetry(port: number, attempts: number, firstDelay: number) {
  let delay = firstDelay;
  for (let attempt = 1; ; attempt++) {
    try {
      return await openConnection('127.0.0.1', port);
    } catch (error) {
      if (!ConnectionRefusedError.isInstance(error) || attempt === attempts) throw error;
      console.log(`attempt ${attempt} refused; next in ${delay} s`);
      await sleep(delay);
      delay *= 2;
    }
  }
}

function why(error: unknown): string {
  if (ConnectionRefusedError.isInstance(error)) return 'still refused';
  if (TimeoutError.isInstance(error)) return 'deadline passed';
  return String(error);
}

await run(async () => {
  // A port nothing listens on: open a server, note its port, close it.
  const server = await startServer(() => {}, '127.0.0.1', 0);
  const [, port] = server.sockets[0].getsockname();
  server.close();
  await server.waitClosed();

  try {
    await waitFor(() => connectWithRetry(port, 3, 0.01), 10);
  } catch (error) {
    console.log('gave up:', why(error));
  }
  try {
    await waitFor(() => connectWithRetry(port, 10, 1), 0.2);
  } catch (error) {
    console.log('gave up:', why(error));
  }
});
