// Testing with virtual time: a retry-with-backoff client, tested against a
// real loopback server in milliseconds although its delays add up to seconds.
import assert from 'node:assert/strict';
import { TimeoutError, getRunningLoop, openConnection, sleep, startServer, timeout } from '@evloop/core-policy';
import { runTest } from '@evloop/testing';

// What fetchGreeting throws when every attempt failed: how many there were,
// and the last failure as its cause.
class GaveUpError extends Error {
  constructor(readonly attempts: number, options: { cause: unknown }) {
    super(`gave up after ${attempts} attempts`, options);
  }
}

// The code under test: try up to `attempts` times, each within `perAttempt`
// seconds, waiting 1 s, 2 s, 4 s... between attempts.
async function fetchGreeting(port: number, { attempts = 3, perAttempt = 5 } = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await timeout(perAttempt, async () => {
        const [reader, writer] = await openConnection('127.0.0.1', port);
        try {
          const line = await reader.readline();
          if (line.length === 0) throw new Error('connection closed early');
          return { greeting: line.toString().trim(), attempt };
        } finally {
          writer.close();
        }
      });
    } catch (error) {
      if (attempt === attempts) throw new GaveUpError(attempt, { cause: error });
      await sleep(2 ** (attempt - 1));
    }
  }
}

// A server that hangs up on the first `failures` clients, or never answers.
interface FlakyOptions {
  failures?: number;
  silent?: boolean;
}

function flakyServer({ failures = 0, silent = false }: FlakyOptions) {
  let clients = 0;
  return startServer(async (reader, writer) => {
    clients += 1;
    if (silent) await reader.read(); // say nothing until the client hangs up
    else if (clients > failures) writer.write(Buffer.from('hello\n'));
    writer.close();
  }, '127.0.0.1', 0);
}

async function withServer<T>(options: FlakyOptions, body: (port: number) => Promise<T>): Promise<T> {
  const server = await flakyServer(options);
  try {
    return await body(server.sockets[0].getsockname()[1]);
  } finally {
    server.close();
    await server.waitClosed();
  }
}

// The tests (as they would sit in a vitest or node:test file).
const started = Date.now();

await runTest(async () => {
  const loop = getRunningLoop();
  const { greeting, attempt } = await withServer({ failures: 2 }, (port) => fetchGreeting(port));
  assert.equal(greeting, 'hello');
  assert.equal(attempt, 3);
  assert.equal(loop.time(), 3); // waited 1 s + 2 s, virtually
  console.log(`retry: got ${greeting} after ${attempt} attempts, ${loop.time()} virtual seconds`);
});

await runTest(async () => {
  const loop = getRunningLoop();
  const error = await withServer({ silent: true }, (port) => fetchGreeting(port)).catch((caught: unknown) => caught);
  assert.ok(error instanceof GaveUpError && TimeoutError.isInstance(error.cause));
  assert.equal(loop.time(), 5 + 1 + 5 + 2 + 5); // three timeouts and two pauses
  console.log(`gave up: ${error.cause.name} after ${error.attempts} attempts, ${loop.time()} virtual seconds`);
}, { seed: 2024 }); // shuffled callbacks: the result must not depend on their order

console.log(`real time: ${Date.now() - started < 10_000 ? 'well under' : 'OVER'} the 21 virtual seconds`);
