/**
 * @evloop/testing: test helpers for evloop programs.
 *
 * - `VirtualClock`: virtual time that jumps to the next timer when the loop
 *   is idle (Trio's MockClock with autojump), on any backend.
 * - `createTestLoop`: a loop with that clock and, optionally, a seeded
 *   shuffle of the callbacks ready in the same iteration.
 * - `runTest`: run a coroutine on such a loop and clean up; works with any
 *   test runner.
 */
export { VirtualClock, type VirtualClockOptions, type IoPolicy } from './virtual-clock.js';
export { createTestLoop, runTest, SEED_VARIABLE, type TestLoop, type TestLoopOptions, type RunTestOptions } from './test-loop.js';
export { seededRandom } from './random.js';
