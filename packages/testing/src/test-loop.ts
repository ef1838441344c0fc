import type { BackendDescriptor, CoroutineSource, ExceptionContext } from '@evloop/interface';
import { allTasks, gather, getEventLoopPolicy, loopForBackend, resolveBackend, type BaseEventLoop } from '@evloop/core-policy';
import { randomSeed, seededRandom } from './random.js';
import { VirtualClock, type VirtualClockOptions } from './virtual-clock.js';

/** The environment variable that replays a seed: `EVLOOP_TEST_SEED=1234 npx vitest run`. */
export const SEED_VARIABLE = 'EVLOOP_TEST_SEED';

export interface TestLoopOptions extends VirtualClockOptions {
  /** The backend to run on: a descriptor or a name (`'poll'`); default: what the current policy would choose. */
  backend?: BackendDescriptor | string;
  /** Virtual time (default true); false keeps the loop's real clock. */
  virtualTime?: boolean;
  /**
   * Shuffle the callbacks that are ready in the same iteration, seeded:
   * a number replays that order; `'random'` picks a seed (reported when the
   * test fails); null or undefined keeps asyncio's FIFO order. The
   * `EVLOOP_TEST_SEED` environment variable, when set, overrides `'random'`.
   */
  seed?: number | 'random' | null;
}

/** A loop made by `createTestLoop`: its clock (null with `virtualTime: false`) and its seed (null when not shuffling). */
export interface TestLoop {
  loop: BaseEventLoop;
  clock: VirtualClock | null;
  seed: number | null;
}

function seedFromEnvironment(): number | null {
  const text = process.env[SEED_VARIABLE];
  if (text === undefined || text === '') return null;
  const seed = Number(text);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`${SEED_VARIABLE} must be an integer from 0 to 4294967295, got ${JSON.stringify(text)}`);
  return seed;
}

function pickSeed(seed: TestLoopOptions['seed']): number | null {
  if (seed === undefined || seed === null) return null;
  if (seed === 'random') return seedFromEnvironment() ?? randomSeed();
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer from 0 to 4294967295, 'random' or null, got ${JSON.stringify(seed)}`);
  }
  return seed;
}

/**
 * A new loop for a test, on any backend: virtual time by default, callbacks
 * shuffled when `seed` is given. The caller runs and closes it.
 */
export function createTestLoop(options: TestLoopOptions = {}): TestLoop {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const seed = pickSeed(options.seed);
  const virtualTime = options.virtualTime ?? true;
  if (typeof virtualTime !== 'boolean') throw new TypeError(`virtualTime must be a boolean, got ${typeof virtualTime}`);
  const clock = virtualTime ? new VirtualClock(options) : null;
  let loop: BaseEventLoop;
  if (options.backend === undefined) loop = getEventLoopPolicy().newEventLoop() as BaseEventLoop;
  else if (typeof options.backend === 'string') loop = loopForBackend(resolveBackend(options.backend));
  else loop = loopForBackend(options.backend);
  clock?.install(loop);
  if (seed !== null) loop.setReadyShuffle(seededRandom(seed));
  return { loop, clock, seed };
}

export interface RunTestOptions extends TestLoopOptions {
  /** Fail when an exception reaches the loop's exception handler (default true), as the evloop test harness does. */
  failOnUnhandled?: boolean;
  /** Called with the loop and its clock before `main` starts. */
  setup?: (testLoop: TestLoop) => void;
}

/**
 * Run `main` (a coroutine, or a function returning one) to its end on a new
 * test loop, then cancel what it left running and close the loop; works in
 * any test runner (vitest, `node:test`, mocha). When the run fails and
 * callbacks were shuffled, the error's message names the seed to replay.
 */
export async function runTest<T>(main: CoroutineSource<T>, options: RunTestOptions = {}): Promise<T> {
  const testLoop = createTestLoop(options);
  const { loop, seed } = testLoop;
  const unhandled: ExceptionContext[] = [];
  if (options.failOnUnhandled ?? true) loop.setExceptionHandler((_loop, context) => void unhandled.push(context));
  try {
    options.setup?.(testLoop);
    let result: T;
    try {
      result = await loop.runUntilComplete(main);
    } finally {
      await cancelRemaining(loop);
    }
    if (unhandled.length > 0) {
      const detail = unhandled.map((context) => `${context.message}${context.exception === undefined ? '' : `: ${String(context.exception)}`}`).join('\n');
      throw new Error(`unexpected exceptions reached the loop's handler:\n${detail}`);
    }
    return result;
  } catch (error) {
    if (seed !== null) noteSeed(error, seed);
    throw error;
  } finally {
    if (!loop.isRunning()) loop.close();
  }
}

/** asyncio.run's last step: cancel the tasks still pending and let them finish. */
async function cancelRemaining(loop: BaseEventLoop): Promise<void> {
  if (loop.isClosed() || loop.isRunning()) return;
  const pending = [...allTasks(loop)];
  if (pending.length === 0) return;
  for (const task of pending) task.cancel();
  await loop.runUntilComplete(gather(...pending, { returnExceptions: true }));
}

function noteSeed(error: unknown, seed: number): void {
  if (error === null || typeof error !== 'object') return;
  const note = ` [evloop: callbacks shuffled with seed ${seed}; replay with { seed: ${seed} } or ${SEED_VARIABLE}=${seed}]`;
  try {
    Object.defineProperty(error, 'evloopSeed', { value: seed, enumerable: false, configurable: true });
    const target = error as { message?: unknown; stack?: unknown };
    if (typeof target.message === 'string' && !target.message.includes(note)) {
      const before = target.message;
      target.message = before + note;
      if (typeof target.stack === 'string' && before !== '') target.stack = target.stack.replace(before, before + note);
    }
  } catch {
    // A frozen error keeps its message.
  }
}
