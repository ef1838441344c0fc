import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CancelledError, getRunningLoop, sleep } from '@evloop/core-policy';
import { backend as poll } from '@evloop/selector-poll';
import { openFdCount } from '../../conformance/src/harness.js';
import { SEED_VARIABLE, runTest } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('runTest', () => {
  it('runs a coroutine on virtual time, cancels what it left running, and closes the loop', async () => {
    const before = openFdCount();
    let leftOver: { cancelled(): boolean } | undefined;
    let loop: ReturnType<typeof getRunningLoop> | undefined;
    const result = await runTest(async () => {
      loop = getRunningLoop();
      leftOver = loop.createTask(sleep(10_000));
      await sleep(120);
      return loop.time();
    }, { backend: poll });
    expect(result).toBe(120);
    expect(leftOver!.cancelled()).toBe(true);
    expect(loop!.isClosed()).toBe(true);
    if (before !== null) expect(openFdCount()).toBe(before);
  });

  it('fails the run when an exception reached the loop handler', async () => {
    await expect(
      runTest(function* () {
        getRunningLoop().callSoon(() => {
          throw new Error('lost in a callback');
        });
        yield* sleep(1);
      }),
    ).rejects.toThrow(/unexpected exceptions reached the loop's handler:\nException in callback .*lost in a callback/);
  });

  it('a failing shuffled run names its seed; the seed variable replays a random one', async () => {
    const failing = () => runTest(async () => {
      await sleep(1);
      throw new Error('race lost');
    }, { seed: 'random' });
    const previous = process.env[SEED_VARIABLE];
    process.env[SEED_VARIABLE] = '4242';
    try {
      const error = await failing().catch((caught: unknown) => caught);
      expect(String(error)).toBe(`Error: race lost [evloop: callbacks shuffled with seed 4242; replay with { seed: 4242 } or ${SEED_VARIABLE}=4242]`);
      expect((error as { evloopSeed?: number }).evloopSeed).toBe(4242);
      process.env[SEED_VARIABLE] = 'x';
      await expect(failing()).rejects.toThrow(RangeError);
    } finally {
      if (previous === undefined) delete process.env[SEED_VARIABLE];
      else process.env[SEED_VARIABLE] = previous;
    }
  });

  it('a cancelled main rejects with CancelledError', async () => {
    const error = await runTest(function* () {
      const task = getRunningLoop().createTask(sleep(5));
      task.cancel();
      return yield* task;
    }).catch((caught: unknown) => caught);
    expect(CancelledError.isInstance(error)).toBe(true);
  });
});

describe('with node:test', () => {
  it('a node:test file runs evloop tests on virtual time (built package)', () => {
    const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', path.join(here, 'fixtures', 'node-test.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, EVLOOP_TEST_SEED: '' },
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/✔ a 30-second timeout takes virtual time only/);
    expect(result.stdout).toMatch(/✔ a shuffled run is still correct/);
    expect(result.stdout).toMatch(/ℹ pass 2\n/);
    expect(result.status).toBe(0);
  });
});
