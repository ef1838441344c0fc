#!/usr/bin/env node
// Echo client, protocol version: sends --count messages of --size bytes, one
// at a time, and checks that each comes back unchanged.
//
//   node client-protocol.mjs --host 127.0.0.1 --port PORT --count 100
import { Protocol, run, getRunningLoop } from '@evloop/core-policy';
import { message, parseOptions } from './shared.mjs';

const { host, port, count, size } = parseOptions('client');

class EchoClient extends Protocol {
  constructor(done) {
    super();
    this.done = done;
    this.sent = 0;
    this.expected = null;
    this.received = [];
    this.receivedLength = 0;
  }

  connectionMade(transport) {
    this.transport = transport;
    this.sendNext();
  }

  sendNext() {
    if (this.sent === count) {
      this.transport.close();
      return;
    }
    this.expected = message(this.sent++, size);
    this.received = [];
    this.receivedLength = 0;
    this.transport.write(this.expected);
  }

  dataReceived(data) {
    this.received.push(Buffer.from(data));
    this.receivedLength += data.length;
    if (this.receivedLength < this.expected.length) return;
    const echoed = Buffer.concat(this.received);
    if (!echoed.equals(this.expected)) {
      this.failure = new Error(`message ${this.sent - 1} came back as ${JSON.stringify(echoed.toString())}`);
      this.transport.abort();
      return;
    }
    this.sendNext();
  }

  connectionLost(error) {
    if (this.done.done()) return;
    const failure = this.failure ?? error ?? (this.sent < count || this.receivedLength < (this.expected?.length ?? 0) ? new Error('the server closed the connection early') : null);
    if (failure) this.done.setException(failure);
    else this.done.setResult(this.sent);
  }
}

try {
  const echoed = await run(async () => {
    const loop = getRunningLoop();
    const done = loop.createFuture();
    await loop.createConnection(() => new EchoClient(done), host, port);
    return await done;
  });
  console.log(`${echoed} messages echoed`);
} catch (error) {
  console.error(`echo failed: ${error?.message ?? error}`);
  process.exitCode = 1;
}
