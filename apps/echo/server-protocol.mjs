#!/usr/bin/env node
// Echo server, protocol version: every byte a client sends is written back.
//
//   node server-protocol.mjs --host 127.0.0.1 --port 0
//
// Prints "listening on HOST:PORT" once bound, and runs until SIGINT/SIGTERM.
import { Protocol, getEventLoop } from '@evloop/core-policy';
import { parseOptions, serveUntilSignalled } from './shared.mjs';

const { host, port } = parseOptions('server');

class EchoProtocol extends Protocol {
  connectionMade(transport) {
    this.transport = transport;
  }

  dataReceived(data) {
    this.transport.write(data);
  }

  // Returning nothing (false) lets the transport close once the client has sent EOF.
  eofReceived() {}
}

await serveUntilSignalled(() => getEventLoop().createServer(() => new EchoProtocol(), host, port));
