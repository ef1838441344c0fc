import { describe, expect, it } from 'vitest';
import { Handle, SelectorEventLoop, setLogger, sleep } from '@evloop/core-policy';
import { testSelector } from './helpers.js';

/** Run `main` on a fresh loop in debug mode (or not), collecting warnings. */
async function withWarnings(debug: boolean, main: (loop: SelectorEventLoop) => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const previous = setLogger({ error: (message) => warnings.push(`error: ${message}`), warning: (message) => warnings.push(message), info: () => {}, debug: () => {} });
  const loop = new SelectorEventLoop(testSelector());
  loop.setDebug(debug);
  loop.slowCallbackDuration = 0.05;
  try {
    await loop.runUntilComplete(() => main(loop));
  } finally {
    loop.close();
    setLogger(previous);
  }
  return warnings;
}

/** Hold the thread, as a synchronous Node callback that blocks would. */
function holdThread(seconds: number): void {
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    // busy
  }
}

describe('stall report (debug mode)', () => {
  it('names ready work that waited for an iteration while something outside the loop held the thread', async () => {
    const warnings = await withWarnings(true, async (loop) => {
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          // A Node callback: work becomes ready, then the thread is held well past slowCallbackDuration.
          loop.callSoon(function readyWork() {});
          holdThread(0.2);
          resolve();
        }, 1),
      );
      await sleep(0.01);
    });
    const stalls = warnings.filter((message) => message.startsWith('The loop did not iterate'));
    expect(stalls, warnings.join('\n')).toHaveLength(1);
    // The thread was held for 0.2 s after the work became ready: it waited at least that long.
    expect(Number(/did not iterate for (\d+\.\d+) seconds while 1 callbacks were ready/.exec(stalls[0]!)?.[1])).toBeGreaterThanOrEqual(0.2);
    expect(stalls[0]).toContain('<Handle readyWork()>');
    expect(stalls[0]).toMatch(/scheduled at .*stall-report\.test\.ts:\d+/);
    // A slow callback is a different report, and there is none here.
    expect(warnings.some((message) => message.startsWith('Executing'))).toBe(false);
  });

  it('reports a loop that stopped iterating with work ready (a lost wake-up), and plans the iteration so the work runs', async () => {
    let ran = false;
    const warnings = await withWarnings(true, async (loop) => {
      const done = loop.createFuture<void>();
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          // Queued behind the loop's back: nothing plans an iteration for it.
          loop._ready.push(
            new Handle(
              function lostWork() {
                ran = true;
                done.setResult(undefined);
              },
              null,
              loop,
            ),
          );
          resolve();
        }, 1),
      );
      await done;
    });
    expect(ran).toBe(true);
    const stalls = warnings.filter((message) => message.startsWith('The loop stopped iterating'));
    expect(stalls, warnings.join('\n')).toHaveLength(1);
    expect(stalls[0]).toContain('<Handle lostWork()>');
  });

  it('says nothing outside debug mode, and holds no timer once the loop stops', async () => {
    const warnings = await withWarnings(false, async (loop) => {
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          loop.callSoon(() => {});
          holdThread(0.1);
          resolve();
        }, 1),
      );
      await sleep(0.01);
    });
    expect(warnings).toEqual([]);
    const timersBefore = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    await withWarnings(true, async () => {
      await sleep(0.01);
    });
    expect(process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length).toBe(timersBefore);
  });
});
