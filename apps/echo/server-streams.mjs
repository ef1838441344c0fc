#!/usr/bin/env node
// Echo server, streams version: each client's lines are read and written back.
//
//   node server-streams.mjs --host 127.0.0.1 --port 0
//
// Prints "listening on HOST:PORT" once bound, and runs until SIGINT/SIGTERM.
import { startServer } from '@evloop/core-policy';
import { parseOptions, serveUntilSignalled } from './shared.mjs';

const { host, port } = parseOptions('server');

async function echo(reader, writer) {
  try {
    for await (const line of reader) {
      writer.write(line);
      await writer.drain();
    }
  } finally {
    writer.close();
  }
}

await serveUntilSignalled(() => startServer(echo, host, port));
