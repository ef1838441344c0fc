// A TCP echo round trip on loopback through each selector backend, with
// sockets from @evloop/sys: the smallest proof that a set of prebuilt addons
// loads and works on the machine (or emulator) running this Node. Loads the
// packages' built output (dist/) from the workspace; with PREBUILDS_ONLY=1
// node-gyp-build takes prebuilds/ and never build/.
//
//   PREBUILDS_ONLY=1 node scripts/prebuild/round-trip.mjs [epoll] [poll] [select]
//
// Prints one line per backend: `<name>: ok <file it loaded>`; exits 1 on any failure.
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'packages', 'sys', 'package.json'));
const nodeGypBuild = require('node-gyp-build');
const BACKENDS = { epoll: 'EpollSelector', poll: 'PollSelector', select: 'SelectSelector' };
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(BACKENDS);
const EVENT_READ = 1;
const EVENT_WRITE = 2;

const sys = await import(pathToFileURL(join(root, 'packages', 'sys', 'dist', 'index.js')).href);
const loaded = (name) => relative(root, nodeGypBuild.resolve(join(root, 'packages', name)));
console.log(`node ${process.version} ${process.platform}-${process.arch}; sys: ${loaded('sys')}`);

/** Waits on the selector until `fd` reports `events`; a bounded number of one-second waits. */
function waitFor(selector, fd, events) {
  for (let attempt = 0; attempt < 20; attempt++) {
    for (const [key, ready] of selector.select(1)) if (key.fd === fd && ready & events) return;
  }
  throw new Error(`fd ${fd} never became ${events === EVENT_READ ? 'readable' : 'writable'}`);
}

let failed = false;
for (const name of names) {
  if (!Object.hasOwn(BACKENDS, name)) throw new RangeError(`unknown backend ${JSON.stringify(name)}; known: ${Object.keys(BACKENDS).join(', ')}`);
  const module = await import(pathToFileURL(join(root, 'packages', `selector-${name}`, 'dist', 'index.js')).href);
  const selector = new module[BACKENDS[name]]();
  const server = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
  const client = new sys.Socket(sys.AF_INET, sys.SOCK_STREAM);
  let connection;
  try {
    server.bind(['127.0.0.1', 0]);
    server.listen();
    server.setBlocking(false);
    client.setBlocking(false);
    try {
      client.connect(server.getsockname());
    } catch (error) {
      if (error?.code !== 'EINPROGRESS') throw error;
    }
    selector.register(server.fileno(), EVENT_READ, 'server');
    waitFor(selector, server.fileno(), EVENT_READ);
    [connection] = server.accept();
    connection.setBlocking(false);
    selector.register(client.fileno(), EVENT_WRITE, 'client');
    waitFor(selector, client.fileno(), EVENT_WRITE);
    const message = Buffer.from(`ping through ${name}`);
    client.send(message);
    selector.register(connection.fileno(), EVENT_READ, 'connection');
    waitFor(selector, connection.fileno(), EVENT_READ);
    connection.send(connection.recv(1024));
    selector.modify(client.fileno(), EVENT_READ, 'client');
    waitFor(selector, client.fileno(), EVENT_READ);
    const echoed = client.recv(1024);
    if (!echoed.equals(message)) throw new Error(`echo came back as ${JSON.stringify(echoed.toString())}`);
    console.log(`${name}: ok ${loaded(`selector-${name}`)}`);
  } catch (error) {
    failed = true;
    console.log(`${name}: FAILED ${error?.stack ?? error}`);
  } finally {
    selector.close();
    connection?.close();
    client.close();
    server.close();
  }
}
process.exitCode = failed ? 1 : 0;
