// Node interop: Node's own HTTP server and client running over evloop
// connections (DuplexProtocol), and a task's AbortSignal stopping the Node
// work it started when the task is cancelled.
import http from 'node:http';
import { setTimeout as nodeSleep } from 'node:timers/promises';
import { DuplexProtocol, currentTask, getRunningLoop, run, sleep } from '@evloop/core-policy';

const httpServer = http.createServer((request, response) => response.end(`hello ${(request.url ?? '/').slice(1)}`));

await run(async () => {
  const loop = getRunningLoop();
  // Every connection the evloop server accepts goes to node:http as a Duplex.
  const server = await loop.createServer(() => {
    const protocol = new DuplexProtocol();
    httpServer.emit('connection', protocol.stream);
    return protocol;
  }, '127.0.0.1', 0);
  const port = server.sockets[0].getsockname()[1];

  // node:http's client over an evloop connection.
  const [transport, client] = await loop.createConnection(() => new DuplexProtocol(), '127.0.0.1', port);
  const reply = await new Promise<string>((resolve, reject) => {
    const request = http.request({ createConnection: () => client.stream, path: '/from-evloop' }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve(`${response.statusCode} ${text}`));
    });
    request.on('error', reject);
    request.end();
  });
  console.log(`node:http over evloop: ${reply}`);
  transport.close();
  await server[Symbol.asyncDispose](); // what `await using server = ...` does

  // A task's signal: cancelling the task stops the Node timer it awaits.
  const task = loop.createTask(async () => {
    await nodeSleep(60_000, undefined, { signal: currentTask()?.signal });
  });
  await sleep(0.01);
  task.cancel();
  await sleep(0);
  console.log(`task cancelled: ${task.cancelled()}, its Node timer stopped with it`);
});
