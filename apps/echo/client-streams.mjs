#!/usr/bin/env node
// Echo client, streams version: sends --count lines of --size bytes, one at
// a time, and checks that each comes back unchanged.
//
//   node client-streams.mjs --host 127.0.0.1 --port PORT --count 100
import { openConnection, run } from '@evloop/core-policy';
import { message, parseOptions } from './shared.mjs';

const { host, port, count, size } = parseOptions('client');

async function main() {
  const [reader, writer] = await openConnection(host, port);
  try {
    for (let i = 0; i < count; i++) {
      const line = message(i, size);
      writer.write(line);
      await writer.drain();
      const echoed = await reader.readline();
      if (!echoed.equals(line)) throw new Error(`message ${i} came back as ${JSON.stringify(echoed.toString())}`);
    }
    writer.writeEof();
    const rest = await reader.read();
    if (rest.length !== 0) throw new Error(`unexpected bytes after the last echo: ${JSON.stringify(rest.toString())}`);
  } finally {
    writer.close();
    await writer.waitClosed();
  }
  return count;
}

try {
  const echoed = await run(main);
  console.log(`${echoed} messages echoed`);
} catch (error) {
  console.error(`echo failed: ${error?.message ?? error}`);
  process.exitCode = 1;
}
