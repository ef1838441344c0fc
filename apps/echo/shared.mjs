// What the echo servers and clients share: options, messages, and how a server runs.
import { parseArgs } from 'node:util';
import { getEventLoop } from '@evloop/core-policy';

const USAGE = {
  server: 'usage: server-*.mjs [--host HOST] [--port PORT]   (port 0: any free port)',
  client: 'usage: client-*.mjs --port PORT [--host HOST] [--count N] [--size BYTES]',
};

/** Parse argv for a `server` or a `client`; exits with status 2 and the usage on a bad value. */
export function parseOptions(kind) {
  const usage = () => {
    console.error(USAGE[kind]);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: kind === 'server' ? '8888' : undefined },
        count: { type: 'string', default: '100' },
        size: { type: 'string', default: '64' },
      },
    }));
  } catch {
    usage();
  }
  const port = Number(values.port);
  const count = Number(values.count);
  const size = Number(values.size);
  if (values.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) usage();
  if (kind === 'client' && port === 0) usage();
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(size) || size < 1) usage();
  return { host: values.host, port, count, size };
}

/** Message `index` of `size` bytes, ending in a newline (so the streams client can readline it). */
export function message(index, size) {
  const head = `message ${index} `;
  const body = head.length + 1 >= size ? head.slice(0, Math.max(size - 1, 0)) : head + 'x'.repeat(size - head.length - 1);
  return Buffer.from(`${body}\n`);
}

/** How a server reports where it listens: one line `listening on HOST:PORT`, bracketing IPv6 as usual. */
function listeningLine(server) {
  const [host, port] = server.sockets[0].getsockname();
  return `listening on ${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Run a server on the default loop until SIGINT or SIGTERM: `start()` gives
 * the coroutine that makes it; its address is printed once it listens.
 */
export async function serveUntilSignalled(start) {
  const loop = getEventLoop();
  try {
    const server = await loop.runUntilComplete(start());
    // A Node signal handler runs outside the loop: callSoonThreadsafe wakes an
    // idle loop, where stop() alone would not. Installed before the address
    // is printed, so whoever reads it may signal at once.
    const stop = () => loop.callSoonThreadsafe(() => loop.stop());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    console.log(listeningLine(server));
    await loop.runForever();
    server.close();
  } finally {
    loop.close();
  }
}
