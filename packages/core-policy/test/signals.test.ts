import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { builtEntry } from './helpers.js';


describe.skipIf(process.platform === 'win32')('signal handlers in a worker thread', () => {
  it('a worker thread gets a clear RuntimeError', async () => {
    const source = `
      const { parentPort } = require('node:worker_threads');
      const core = require(${JSON.stringify(builtEntry('core-policy'))});
      const loop = new core.SelectorEventLoop(new core.MemorySelector());
      try { loop.addSignalHandler('SIGUSR2', () => {}); parentPort.postMessage('installed'); }
      catch (error) { parentPort.postMessage(error.name + ': ' + error.message); }
      finally { loop.close(); }
    `;
    const worker = new Worker(source, { eval: true });
    const message = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(message).toBe('RuntimeError: addSignalHandler() works only in the main thread (worker threads do not receive signals)');
  });

});
