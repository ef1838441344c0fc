#!/usr/bin/env node
// The JavaScript servers of the network benchmarks (net.mjs):
//
//   node net-server.mjs evloop|evloop-streams|evloop-uring|node echo|http
//   node net-server.mjs --probe-uring   exit 0 if io_uring can run here, else print why and exit 1
//
// evloop and evloop-streams run on the default policy's backend (epoll on
// Linux); evloop-uring is the evloop server on the io_uring proactor.
//
// Listens on 127.0.0.1 on a free port, prints "listening on 127.0.0.1:PORT",
// runs until SIGTERM/SIGINT. echo: every byte read is written back. http:
// every request (every "\r\n\r\n") gets the same fixed HTTP/1.1 200
// response on a kept-alive connection.
import net from 'node:net';
import http from 'node:http';
import { Protocol, listBackends, setEventLoop, startServer } from '@evloop/core-policy';
import { benchLoop } from './bench-loop.mjs';

const HOST = '127.0.0.1';
const BACKLOG = 1024;
const BODY = 'Hello, World!';
const RESPONSE = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);
const CR = 13;
const LF = 10;

/** Counts request ends ("\r\n\r\n") across reads; all a fixed-response server needs to parse. */
class RequestCounter {
  match = 0;

  /** How many requests `data` completes. */
  feed(data) {
    let count = 0;
    let match = this.match;
    for (let i = 0; i < data.length; i++) {
      const byte = data[i];
      if (byte === (match & 1 ? LF : CR)) {
        if (++match === 4) {
          count++;
          match = 0;
        }
      } else {
        match = byte === CR ? 1 : 0;
      }
    }
    this.match = match;
    return count;
  }
}

function responses(count) {
  return count === 1 ? RESPONSE : Buffer.concat(Array.from({ length: count }, () => RESPONSE));
}

class EchoProtocol extends Protocol {
  connectionMade(transport) {
    this.transport = transport;
  }

  dataReceived(data) {
    this.transport.write(data);
  }
}

class HttpProtocol extends Protocol {
  counter = new RequestCounter();

  connectionMade(transport) {
    this.transport = transport;
  }

  dataReceived(data) {
    const count = this.counter.feed(data);
    if (count > 0) this.transport.write(responses(count));
  }
}

function printAddress(port) {
  console.log(`listening on ${HOST}:${port}`);
}

/** evloop, Protocol level (or streams): a fresh loop from the default policy (or on `backend`), run until signalled. */
async function serveEvloop(kind, streams, backend) {
  const loop = benchLoop(backend);
  setEventLoop(loop);
  try {
    let server;
    if (!streams) {
      const factory = kind === 'echo' ? () => new EchoProtocol() : () => new HttpProtocol();
      server = await loop.runUntilComplete(loop.createServer(factory, HOST, 0, { backlog: BACKLOG }));
    } else {
      const handler =
        kind === 'echo'
          ? async (reader, writer) => {
              for (;;) {
                const data = await reader.read(65536);
                if (data.length === 0) break;
                writer.write(data);
                await writer.drain();
              }
              writer.close();
            }
          : async (reader, writer) => {
              const counter = new RequestCounter();
              for (;;) {
                const data = await reader.read(65536);
                if (data.length === 0) break;
                const count = counter.feed(data);
                if (count > 0) {
                  writer.write(responses(count));
                  await writer.drain();
                }
              }
              writer.close();
            };
      server = await loop.runUntilComplete(startServer(handler, HOST, 0, { backlog: BACKLOG }));
    }
    const stop = () => loop.callSoonThreadsafe(() => loop.stop());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    printAddress(server.sockets[0].getsockname()[1]);
    await loop.runForever();
    server.close();
  } finally {
    loop.close();
  }
}

/** Node's own `net` and `http`. */
function serveNode(kind) {
  const server =
    kind === 'echo'
      ? net.createServer({ noDelay: true }, (socket) => {
          socket.on('data', (data) => socket.write(data));
          socket.on('error', () => socket.destroy());
        })
      : http.createServer((request, response) => {
          response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
          response.end(BODY);
        });
  if (kind === 'http') server.keepAliveTimeout = 60_000;
  server.listen({ host: HOST, port: 0, backlog: BACKLOG }, () => printAddress(server.address().port));
  process.once('SIGINT', () => process.exit(0));
  process.once('SIGTERM', () => process.exit(0));
}

const [impl, kind] = process.argv.slice(2);
if (impl === '--probe-uring') {
  const uring = listBackends().find((report) => report.name === 'uring');
  if (uring?.available) process.exit(0);
  console.log(uring?.reason ?? 'no uring backend');
  process.exit(1);
}
if (!['evloop', 'evloop-streams', 'evloop-uring', 'node'].includes(impl) || !['echo', 'http'].includes(kind)) {
  console.error('usage: net-server.mjs evloop|evloop-streams|evloop-uring|node echo|http');
  process.exit(2);
}
if (impl === 'node') serveNode(kind);
else await serveEvloop(kind, impl === 'evloop-streams', impl === 'evloop-uring' ? 'uring' : undefined);
