// What every runner shares: the scenario sizes, the delay generator (the
// Python runner implements the same one, so every side gets identical
// delays), and the measuring harness a child process uses.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

/** A bad command line: print `message` (when given) and the script's `usage`, and exit with status 2. */
export function exitWithUsage(usage, message) {
  if (message) console.error(message);
  console.error(usage);
  process.exit(2);
}

/**
 * A benchmark script's command line: `options` as node:util's parseArgs
 * takes them, a `--` (which `pnpm run SCRIPT -- ...` passes along) ignored.
 * A bad argument goes to `exitWithUsage`.
 */
export function parseBenchArgs(options, usage) {
  try {
    return parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options }).values;
  } catch (error) {
    exitWithUsage(usage, error.message);
  }
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Full and --quick sizes. `maxMs` is the largest timer delay; delays are
 * whole milliseconds so Node's setTimeout gets exactly the same ones.
 */
export const SIZES = {
  full: {
    'callsoon-batch': { n: 1_000_000 },
    'callsoon-chain': { n: 1_000_000 },
    'timers-1s': { n: 100_000, maxMs: 1000 },
    'timers-100ms': { n: 100_000, maxMs: 100 },
    tasks: { tasks: 10_000, steps: 100 },
  },
  quick: {
    'callsoon-batch': { n: 20_000 },
    'callsoon-chain': { n: 20_000 },
    'timers-1s': { n: 2_000, maxMs: 40 },
    'timers-100ms': { n: 2_000, maxMs: 10 },
    tasks: { tasks: 200, steps: 10 },
  },
};

/** A smaller run of the same code, so the measured runs start with warm JIT code. */
export function warmupParams(params) {
  const out = { ...params };
  if (out.n !== undefined) out.n = Math.max(1, Math.floor(out.n / 10));
  if (out.maxMs !== undefined) out.maxMs = Math.max(1, Math.floor(out.maxMs / 10));
  if (out.tasks !== undefined) out.tasks = Math.max(1, Math.floor(out.tasks / 10));
  return out;
}

/**
 * `n` delays in whole milliseconds, uniform in [0, maxMs], from a 32-bit
 * linear congruential generator with a fixed seed (python/bench.py has the
 * same one). The largest is forced to maxMs so every side waits as long.
 */
export function delaysMs(n, maxMs) {
  const out = new Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(1664525, x) + 1013904223) >>> 0;
    out[i] = Math.floor((x / 4294967296) * (maxMs + 1));
  }
  if (n > 0) out[n - 1] = maxMs;
  return out;
}

/**
 * Run `scenario(params, input)` once at warm-up size, then `runs` times at full
 * size, with a full GC before each (when --expose-gc is on), and print one
 * JSON line: wall and CPU milliseconds per run, plus any extra figures the
 * scenario returns. `scenario.prepare(params)`, when there is one, makes
 * `input` (the timer delays) outside the timed part.
 */
export async function measure(scenario, params, runs, warmup) {
  const result = { wallMs: [], cpuMs: [], extra: {}, forcedGc: typeof globalThis.gc === 'function' };
  const prepare = scenario.prepare ?? (() => undefined);
  if (warmup) {
    const small = warmupParams(params);
    await scenario(small, prepare(small));
  }
  for (let r = 0; r < runs; r++) {
    const input = prepare(params);
    if (typeof globalThis.gc === 'function') globalThis.gc();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const extra = await scenario(params, input);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    result.wallMs.push(wall);
    result.cpuMs.push((cpu.user + cpu.system) / 1000);
    if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) {
      for (const [key, value] of Object.entries(extra)) (result.extra[key] ??= []).push(value);
    }
  }
  return result;
}

/** The child-process entry: `node [--expose-gc] runner.mjs <scenario> '<params json>' <runs> <warmup 0|1>` (no full GC before a run without --expose-gc). */
export async function childMain(scenarios) {
  const [name, paramsJson, runs, warmup] = process.argv.slice(2);
  const scenario = scenarios[name];
  if (scenario === undefined) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  const result = await measure(scenario, JSON.parse(paramsJson), Number(runs), warmup === '1');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
