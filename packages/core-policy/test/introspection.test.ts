import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  SelectorEventLoop,
  currentTask,
  enableTaskDump,
  formatTaskTree,
  sleep,
  taskDumpPath,
  taskTree,
  type IterationStats,
} from '@evloop/core-policy';
import { builtEntry, testSelector, withLoop, type LoopHarness } from './helpers.js';

const test = (title: string, body: (harness: LoopHarness) => Promise<void>) =>
  it(title, () => withLoop(() => new SelectorEventLoop(testSelector()), body));

describe('iteration statistics', () => {
  test('the observer sees every iteration: callbacks run and the time split', async ({ loop, claimErrors }) => {
    const seen: IterationStats[] = [];
    loop.setIterationObserver((stats) => seen.push(stats));
    for (let i = 0; i < 3; i++) loop.callSoon(() => {});
    const cancelled = loop.callSoon(() => {});
    cancelled.cancel();
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.callbacks).toBe(4);
    for (const key of ['waitSeconds', 'pollSeconds', 'callbackSeconds'] as const) expect(seen[0]![key]).toBeGreaterThanOrEqual(0);
    expect(seen[0]!.ready).toBe(0);
    const far = loop.callLater(100, () => {});
    await loop.runUntilComplete(sleep(0));
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[seen.length - 1]!.timers).toBe(1);
    far.cancel();
    // An observer that throws is reported, and the loop goes on.
    loop.setIterationObserver(() => {
      throw new Error('observer broke');
    });
    await loop.runUntilComplete(sleep(0));
    expect(claimErrors().map((context) => context.message)).toContain('Exception in the iteration observer');
    loop.setIterationObserver(null);
    expect(() => loop.setIterationObserver(1 as never)).toThrow(TypeError);
  });
});

describe('iteration observer set from a callback', () => {
  test('is not told of the iteration it was set in (whose start it did not see), only of the next', async ({ loop }) => {
    const seen: IterationStats[] = [];
    loop.callSoon(() => {
      loop.setIterationObserver((stats) => seen.push(stats));
      loop.callSoon(() => loop.stop());
    });
    await loop.runForever();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.callbacks).toBe(1);
    // Measured from this iteration's own start, not from zero.
    expect(seen[0]!.callbackSeconds).toBeLessThan(1);
    expect(seen[0]!.pollSeconds).toBeLessThan(1);
  });

  test('an observer removed or replaced during an iteration is not told of it', async ({ loop }) => {
    const first: IterationStats[] = [];
    const second: IterationStats[] = [];
    loop.setIterationObserver((stats) => first.push(stats));
    loop.callSoon(() => {
      loop.setIterationObserver((stats) => second.push(stats));
      loop.callSoon(() => {
        loop.setIterationObserver(null);
        loop.callSoon(() => loop.stop());
      });
    });
    await loop.runForever();
    expect(first).toHaveLength(0);
    expect(second).toHaveLength(0);
  });
});

describe('task tree', () => {
  test('tasks sit under the task that made them, with what they wait on and, in debug mode, where', async ({ loop }) => {
    loop.setDebug(true);
    loop.slowCallbackDuration = 60;
    const tree = await loop.runUntilComplete(function* main() {
      const loopNow = currentTask()!.getLoop();
      const child = loopNow.createTask(function* () {
        yield* loopNow.createFuture();
      }, { name: 'child' });
      loopNow.createTask(async () => {
        await sleep(10);
      }, { name: 'async-child' });
      yield* sleep(0);
      // One more turn: the async child's first await registers in a Promise job after its step.
      yield* sleep(0);
      child.cancel();
      child.cancel();
      // Read before the child's next step delivers the cancellation.
      const text = formatTaskTree(loopNow);
      const nodes = taskTree(loopNow);
      return { text, nodes };
    }());
    const main = tree.nodes.find((node) => node.children.length > 0)!;
    expect(main.children.map((node) => node.name).sort()).toEqual(['async-child', 'child']);
    const childNode = main.children.find((node) => node.name === 'child')!;
    // cancel() cancelled the future it waits on; the next step delivers it.
    expect(childNode.awaiting).toBe('<Future cancelled>');
    expect(childNode.state).toBe('cancelling');
    expect(childNode.cancelling).toBe(2);
    const asyncNode = main.children.find((node) => node.name === 'async-child')!;
    expect(asyncNode.awaiting).toMatch(/^<\w+ pending>$/);
    expect(tree.text).toMatch(/^Task-\d+ \[pending\]\n {2}(child|async-child) /);
    // The leftover async child: cancel it and let it finish.
    for (const node of taskTree(loop)) expect(node.name).toBe('async-child');
    loop.setDebug(false);
  });

  test('a generator waiting on a future shows the line it waits at (debug mode)', async ({ loop }) => {
    loop.setDebug(true);
    const future = loop.createFuture();
    const task = loop.createTask(function* waiter() {
      yield* future;
    });
    await loop.runUntilComplete(sleep(0));
    const [node] = taskTree(loop);
    expect(node!.awaiting).toBe('<Future pending>');
    expect(node!.location).toMatch(/introspection\.test\.ts:\d+:\d+$/);
    expect(formatTaskTree(loop)).toMatch(/\[pending\] awaiting <Future pending> at .*introspection\.test\.ts/);
    future.setResult(1);
    await loop.runUntilComplete(task);
    expect(formatTaskTree(loop)).toBe('(no pending tasks)');
    loop.setDebug(false);
  });
});

describe('task dumps', () => {
  it('a process that opted in writes its task tree on SIGUSR2', async () => {
    const child = spawn(process.execPath, ['-e', `
      const core = require(${JSON.stringify(builtEntry('core-policy'))});
      core.enableTaskDump();
      core.run(async () => {
        const loop = core.getRunningLoop();
        loop.createTask(() => core.sleep(60), { name: 'sleeper' });
        console.log('ready');
        await core.sleep(30);
      }, { loopFactory: () => new core.SelectorEventLoop(new core.MemorySelector()) });
    `], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, EVLOOP_DEBUG: '' } });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`the child exited early (${code})`)));
      });
      const file = taskDumpPath(child.pid);
      fs.rmSync(file, { force: true });
      child.kill('SIGUSR2');
      let text = '';
      for (let i = 0; i < 100 && text === ''; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      }
      fs.rmSync(file, { force: true });
      expect(text).toMatch(/^<\w+EventLoop running=true/);
      expect(text).toMatch(/\n {2}sleeper \[pending\] awaiting <\w+ pending>/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(() => enableTaskDump({ signal: 'SIGUSR1' })).toThrow(RangeError);
    expect(() => taskDumpPath(0)).toThrow(RangeError);
    const off = enableTaskDump({ signal: 'SIGUSR2' });
    off();
  });
});
