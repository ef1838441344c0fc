// The evloop side of the soak: an echo server on the backend named by
// EVLOOP_BACKEND, driven over the IPC channel by soak.mjs. It uses only the
// public API of @evloop/core-policy and @evloop/sys.
import { Protocol, getRunningLoop, run } from '@evloop/core-policy';
import { SOL_SOCKET, SO_SNDBUF } from '@evloop/sys';
import { FLOOD_BYTES, FLOOD_CHUNK, FLOOD_HIGH_WATER, FLOOD_REQUEST, FLOOD_SNDBUF, HALF_CLOSE_REPLY, idleCpu, measure } from './shared.mjs';

const counts = { open: 0, opened: 0, lostWithError: {}, floods: 0, floodsPaused: 0, floodMaxBuffer: 0, floodLimitExceeded: 0, unexpected: [] };
const floodChunk = Buffer.alloc(FLOOD_CHUNK, 0x78);
const reply = Buffer.from(HALF_CLOSE_REPLY);
// Every open connection's protocol, for the hang report's `dump` question.
const live = new Set();

class SoakProtocol extends Protocol {
  connectionMade(transport) {
    this.transport = transport;
    this.flooding = false;
    this.paused = false;
    this.sent = 0;
    this.received = 0;
    this.eof = false;
    this.port = transport.getExtraInfo('peername')?.[1];
    live.add(this);
    counts.open += 1;
    counts.opened += 1;
  }

  dataReceived(data) {
    this.received += data.length;
    if (this.flooding) return;
    if (data.includes(FLOOD_REQUEST)) {
      this.flood();
      return;
    }
    this.transport.write(data);
  }

  flood() {
    this.flooding = true;
    counts.floods += 1;
    this.transport.getExtraInfo('socket').setsockopt(SOL_SOCKET, SO_SNDBUF, FLOOD_SNDBUF);
    this.transport.setWriteBufferLimits(FLOOD_HIGH_WATER);
    this.pump();
  }

  pump() {
    const high = this.transport.getWriteBufferLimits()[1];
    while (!this.paused && this.sent < FLOOD_BYTES && !this.transport.isClosing()) {
      this.transport.write(floodChunk);
      this.sent += floodChunk.length;
      const size = this.transport.getWriteBufferSize();
      counts.floodMaxBuffer = Math.max(counts.floodMaxBuffer, size);
      // A protocol that stops writing when told to never sees more buffered
      // than the high-water mark plus the write that crossed it.
      if (size > high + floodChunk.length) counts.floodLimitExceeded += 1;
    }
    if (this.sent >= FLOOD_BYTES && !this.transport.isClosing()) this.transport.close();
  }

  pauseWriting() {
    if (!this.paused && this.flooding) counts.floodsPaused += this.everPaused ? 0 : 1;
    this.everPaused = true;
    this.paused = true;
  }

  resumeWriting() {
    this.paused = false;
    if (this.flooding) this.pump();
  }

  eofReceived() {
    // Half-close: the client is done sending; answer, then close our side.
    this.eof = true;
    this.transport.write(reply);
    this.transport.close();
    return true;
  }

  describe() {
    const t = this.transport;
    // The transport's own fields (not public API, read for this report only;
    // absent ones read as undefined): what it has in flight on either family.
    const inside = `read token ${t._readToken}, write token ${t._writeToken}, in flight ${t._inFlight?.length}, queued ${t._buffers?.length} buffers, proactor pending ${t._loop?._proactor?.pending}`;
    return `port ${this.port}: received ${this.received} bytes, eof ${this.eof}, reading ${t.isReading()}, closing ${t.isClosing()}, write buffer ${t.getWriteBufferSize()}, flooding ${this.flooding} (sent ${this.sent}, paused ${this.paused}); ${inside}`;
  }

  connectionLost(error) {
    live.delete(this);
    counts.open -= 1;
    if (error) counts.lostWithError[error.name] = (counts.lostWithError[error.name] ?? 0) + 1;
  }
}

/** The open connections in a few lines: totals by state, then the ones from `ports`. */
function dump(ports) {
  let buffered = 0;
  let notReading = 0;
  let closing = 0;
  let flooding = 0;
  for (const protocol of live) {
    if (protocol.transport.getWriteBufferSize() > 0) buffered += 1;
    if (!protocol.transport.isReading()) notReading += 1;
    if (protocol.transport.isClosing()) closing += 1;
    if (protocol.flooding) flooding += 1;
  }
  const lines = [`${live.size} open on ${getRunningLoop().backend.name}: ${buffered} with a write buffer, ${notReading} not reading, ${closing} closing, ${flooding} flooding; ${counts.unexpected.length} calls to the exception handler${counts.unexpected.length > 0 ? ` (first: ${counts.unexpected[0]})` : ''}`];
  for (const port of ports) {
    const protocol = [...live].find((each) => each.port === port);
    lines.push(protocol ? protocol.describe() : `port ${port}: no open connection`);
  }
  // The loop's own state (fields, not public API; for this report only):
  // whether it thinks an iteration is planned, and whether the proactor holds
  // completions nobody has taken (hasCompletions() enters the ring first, so
  // work the kernel holds for an entry counts too).
  const loop = getRunningLoop();
  const proactor = loop._proactor;
  let waiting = 'n/a';
  try {
    if (typeof proactor?.hasCompletions === 'function') waiting = proactor.hasCompletions();
  } catch (error) {
    waiting = `error ${error.code ?? error.message}`;
  }
  lines.push(`loop: running ${loop._running}, in iteration ${loop._inIteration}, immediate ${loop._immediate !== null}, microtask ${loop._microtaskQueued}, ready ${loop._ready?.length}, node timer ${loop._nodeTimer != null}; completions waiting ${waiting}`);
  // Then nudge it: one more iteration polls the backend. If that lets the
  // clients go on, the loop had missed a wake-up (soak.mjs says).
  loop.callSoon(() => {});
  return lines;
}

async function main() {
  const loop = getRunningLoop();
  loop.setExceptionHandler((_loop, context) => {
    counts.unexpected.push(String(context.exception ?? context.message));
  });
  const server = await loop.createServer(() => new SoakProtocol(), '127.0.0.1', 0, { backlog: 1024 });
  const port = server.sockets[0].getsockname()[1];
  const done = loop.createFuture();

  const answer = (message) => {
    const stats = () => measure({ ...counts, unexpected: counts.unexpected.slice(0, 5), unexpectedCount: counts.unexpected.length, backend: loop.backend.name });
    if (message.type === 'stats') process.send({ id: message.id, stats: message.light ? { open: counts.open } : stats() });
    else if (message.type === 'idle-cpu') idleCpu(message.seconds).then((ms) => process.send({ id: message.id, ms }));
    else if (message.type === 'dump') process.send({ id: message.id, dump: dump(message.ports) });
    else if (message.type === 'shutdown') loop.callSoonThreadsafe(() => done.setResult(undefined));
  };
  process.on('message', answer);
  process.send({ type: 'ready', port, backend: loop.backend.name, pid: process.pid });
  await done;
  server.close();
  await server.waitClosed();
  process.off('message', answer);
}

await run(main);
// The loop is closed: report what is still open, then let go of the IPC
// channel. With nothing else holding the event loop, the process exits by
// itself; soak.mjs treats a process that does not as a leaked handle.
process.send({ type: 'closed', stats: measure({ ...counts, unexpectedCount: counts.unexpected.length }) }, () => process.disconnect());
