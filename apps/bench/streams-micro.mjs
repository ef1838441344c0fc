#!/usr/bin/env node
// The streams path alone, without syscalls: 100 connections on fake
// transports whose every write comes back as received data one loop turn
// later; each is served by the echo handler of net.mjs's evloop-streams
// server (read, write, drain), as an async function or as a generator.
//
//   node streams-micro.mjs [async|gen]
//
// Prints the process's CPU µs per round trip (200,000 round trips).
import { MemorySelector, SelectorEventLoop, StreamReader, StreamReaderProtocol, StreamWriter } from '@evloop/core-policy';

const mode = process.argv[2] ?? 'async';
if (mode !== 'async' && mode !== 'gen') {
  console.error('usage: streams-micro.mjs [async|gen]');
  process.exit(2);
}
const N = 100, TRIPS = 200000;
const loop = new SelectorEventLoop(new MemorySelector());
let left = TRIPS;
const payload = Buffer.alloc(64, 97);
class T {
  constructor(p) { this.p = p; this.closing = false; }
  getExtraInfo(n, d) { return d; } isClosing() { return this.closing; } close() { this.closing = true; }
  setProtocol(p) { this.p = p; } getProtocol() { return this.p; } isReading() { return true; }
  pauseReading() {} resumeReading() {} setWriteBufferLimits() {} getWriteBufferSize() { return 0; } getWriteBufferLimits() { return [0, 0]; }
  write(data) { if (--left > 0) loop.callSoon(() => this.p.dataReceived(payload)); else if (left === 0) loop.stop(); }
  writelines() {} writeEof() {} canWriteEof() { return true; } abort() {}
}
const handlerAsync = async (reader, writer) => { for (;;) { const d = await reader.read(65536); if (d.length === 0) break; writer.write(d); await writer.drain(); } };
const handlerGen = function* (reader, writer) { for (;;) { const d = yield* reader.read(65536); if (d.length === 0) break; writer.write(d); yield* writer.drain(); } };
for (let i = 0; i < N; i++) {
  const reader = new StreamReader({ loop });
  const protocol = new StreamReaderProtocol(reader, null, { loop });
  const t = new T(protocol);
  protocol.connectionMade(t);
  const writer = new StreamWriter(t, protocol, reader, loop);
  loop.createTask(mode === 'gen' ? handlerGen(reader, writer) : () => handlerAsync(reader, writer));
  loop.callSoon(() => protocol.dataReceived(payload));
}
const c0 = process.cpuUsage();
await loop.runForever();
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ mode, cpuUsPerRoundTrip: Number(((c.user + c.system) / TRIPS).toFixed(3)) }));
process.exit(0);
