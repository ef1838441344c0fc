// Node's own `net` behind the same wire behaviour as server-evloop.mjs, for
// the figures beside evloop (bytes per idle connection, idle CPU).
import net from 'node:net';
import { FLOOD_BYTES, FLOOD_CHUNK, FLOOD_HIGH_WATER, FLOOD_REQUEST, HALF_CLOSE_REPLY, idleCpu, measure } from './shared.mjs';

const counts = { open: 0, opened: 0, lostWithError: {}, floods: 0, floodsPaused: 0, floodMaxBuffer: 0, floodLimitExceeded: 0, unexpected: [] };
const floodChunk = Buffer.alloc(FLOOD_CHUNK, 0x78);

function flood(socket) {
  counts.floods += 1;
  let sent = 0;
  let paused = false;
  const pump = () => {
    while (sent < FLOOD_BYTES && !socket.destroyed) {
      sent += floodChunk.length;
      const more = socket.write(floodChunk);
      counts.floodMaxBuffer = Math.max(counts.floodMaxBuffer, socket.writableLength);
      if (socket.writableLength > FLOOD_HIGH_WATER + floodChunk.length) counts.floodLimitExceeded += 1;
      if (!more) {
        if (!paused) counts.floodsPaused += 1;
        paused = true;
        socket.once('drain', pump);
        return;
      }
    }
    if (!socket.destroyed) socket.end();
  };
  pump();
}

// Every open socket, for the hang report's `dump` question.
const live = new Set();

const server = net.createServer({ allowHalfOpen: true, highWaterMark: FLOOD_HIGH_WATER }, (socket) => {
  live.add(socket);
  counts.open += 1;
  counts.opened += 1;
  let flooding = false;
  socket.on('data', (data) => {
    if (flooding) return;
    if (data.includes(FLOOD_REQUEST)) {
      flooding = true;
      flood(socket);
      return;
    }
    socket.write(data);
  });
  // After a flood the server has ended first; otherwise this is a half-close: answer, then end.
  socket.on('end', () => (flooding ? socket.end() : socket.end(HALF_CLOSE_REPLY)));
  socket.on('error', (error) => {
    counts.lostWithError[error.code] = (counts.lostWithError[error.code] ?? 0) + 1;
  });
  socket.on('close', () => {
    live.delete(socket);
    counts.open -= 1;
  });
});
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
  const answer = (message) => {
    if (message.type === 'stats') process.send({ id: message.id, stats: message.light ? { open: counts.open } : measure({ ...counts, unexpectedCount: 0, backend: 'node-net' }) });
    else if (message.type === 'idle-cpu') idleCpu(message.seconds).then((ms) => process.send({ id: message.id, ms }));
    else if (message.type === 'dump') {
      const lines = [`${live.size} open on node-net`];
      for (const port of message.ports) {
        const socket = [...live].find((each) => each.remotePort === port);
        lines.push(socket ? `port ${port}: read ${socket.bytesRead} bytes, readable ended ${socket.readableEnded}, write buffer ${socket.writableLength}, writable ended ${socket.writableEnded}` : `port ${port}: no open connection`);
      }
      process.send({ id: message.id, dump: lines });
    } else if (message.type === 'shutdown') {
      process.off('message', answer);
      server.close(() => process.send({ type: 'closed', stats: measure({ ...counts, unexpectedCount: 0 }) }, () => process.disconnect()));
    }
  };
  process.on('message', answer);
  process.send({ type: 'ready', port: server.address().port, backend: 'node-net', pid: process.pid });
});
