import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { RuntimeError, SelectorEventLoop } from '@evloop/core-policy';
import { builtEntry, testSelector } from './helpers.js';

const loops: SelectorEventLoop[] = [];
function newLoop(): SelectorEventLoop {
  const loop = new SelectorEventLoop(testSelector());
  loops.push(loop);
  return loop;
}
afterEach(() => {
  for (const loop of loops.splice(0)) if (!loop.isClosed()) loop.close();
});

describe.skipIf(process.platform === 'win32')('signal handlers (POSIX signals)', () => {
  it('runs the callback as a loop callback when the signal arrives', async () => {
    const loop = newLoop();
    const seen: Array<[string, boolean]> = [];
    loop.addSignalHandler('SIGUSR2', (label: string) => {
      seen.push([label, loop._inIteration]);
      loop.stop();
    }, 'usr2');
    setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 10);
    await loop.runForever();
    expect(seen).toEqual([['usr2', true]]);
    expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
    expect(loop.removeSignalHandler('SIGUSR2')).toBe(false);
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });

  it('accepts numbers and short names, replaces an earlier handler', async () => {
    const loop = newLoop();
    const seen: string[] = [];
    const { SIGUSR2 } = (await import('node:os')).constants.signals;
    loop.addSignalHandler(SIGUSR2, () => seen.push('first'));
    loop.addSignalHandler('USR2' as NodeJS.Signals, () => {
      seen.push('second');
      loop.stop();
    });
    expect(process.listenerCount('SIGUSR2')).toBe(1);
    setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 10);
    await loop.runForever();
    expect(seen).toEqual(['second']);
    loop.close();
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });

  it('invalid and uncatchable signals are RangeError/TypeError naming them', () => {
    const loop = newLoop();
    expect(() => loop.addSignalHandler('SIGKILL', () => {})).toThrow(/SIGKILL cannot be caught/);
    expect(() => loop.addSignalHandler('SIGSTOP', () => {})).toThrow(RangeError);
    expect(() => loop.addSignalHandler('SIGNOPE' as never, () => {})).toThrow(/invalid signal name "SIGNOPE"/);
    expect(() => loop.addSignalHandler(999, () => {})).toThrow(RangeError);
    expect(() => loop.addSignalHandler({} as never, () => {})).toThrow(TypeError);
    expect(() => loop.addSignalHandler('SIGUSR2', 'callback' as never)).toThrow(TypeError);
    expect(() => loop.removeSignalHandler('SIGKILL')).toThrow(RangeError);
  });

  it('a worker thread gets a clear RuntimeError', async () => {
    const source = `
      const { parentPort } = require('node:worker_threads');
      const core = require(${JSON.stringify(builtEntry('core-policy'))});
      const { PollSelector } = require(${JSON.stringify(builtEntry('selector-poll'))});
      const loop = new core.SelectorEventLoop(new PollSelector());
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

  it('after close, addSignalHandler is a RuntimeError', () => {
    const loop = newLoop();
    loop.close();
    expect(() => loop.addSignalHandler('SIGUSR2', () => {})).toThrow(RuntimeError);
  });
});
