import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { ExecutorFunctionError, RuntimeError, type Executor, type ExecutorFunction } from '@evloop/interface';

/** The worker script at the package root: one level up from the bundle in dist/, two from this source file in src/loop/. */
const WORKER_FILE = ((): string => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, '..', 'worker', 'executor-worker.cjs'), path.join(here, '..', '..', 'worker', 'executor-worker.cjs')];
  return candidates.find((candidate) => fs.existsSync(candidate)) ?? candidates[0]!;
})();

type Job =
  | { kind: 'source'; source: string; args: unknown[] }
  | { kind: 'module'; module: string; exportName?: string; args: unknown[] };

/** Turn what the user passed into a job a worker can run, or say why it cannot be. */
function toJob(fn: ExecutorFunction, args: unknown[]): Job {
  if (typeof fn === 'function') {
    const source = Function.prototype.toString.call(fn);
    if (/\{\s*\[native code\]\s*\}$/.test(source)) {
      throw new ExecutorFunctionError(
        `${fn.name || 'this function'} is a native or bound function and cannot be sent to a worker thread; pass a self-contained function or { module, export }`,
      );
    }
    if (/^class[\s{]/.test(source)) throw new ExecutorFunctionError('a class cannot be run by the default executor; pass a function');
    // Method shorthand (`name() {}`) is not an expression: make it one.
    const isExpression = /^(async\s+)?(function\b|\(|[\w$]+\s*=>|\*)/.test(source);
    const asExpression = isExpression ? source : methodToFunction(source);
    try {
      // Parse only (nothing runs): a function whose source is not an
      // expression cannot be rebuilt in the worker.
      new Function(`return (${asExpression});`);
    } catch {
      throw new ExecutorFunctionError(`${fn.name || 'this function'} cannot be rebuilt from its source in a worker thread; pass a plain function or { module, export }`);
    }
    return { kind: 'source', source: asExpression, args };
  }
  if (fn !== null && typeof fn === 'object' && typeof (fn as { module?: unknown }).module === 'string') {
    const named = fn as { module: string; export?: string };
    if (named.export !== undefined && typeof named.export !== 'string') throw new TypeError('export must be a string');
    const job: Job = { kind: 'module', module: named.module, args };
    if (named.export !== undefined) job.exportName = named.export;
    return job;
  }
  throw new TypeError(`fn must be a function or { module, export }, got ${fn === null ? 'null' : typeof fn}`);
}

function methodToFunction(source: string): string {
  const match = /^(async\s+)?(\*\s*)?([\w$]+)\s*\(/.exec(source);
  if (match === null) return source;
  return `${match[1] ?? ''}function${match[2] ? '*' : ''} ${match[3]}${source.slice(match[0].length - 1)}`;
}

function jobName(job: Job): string {
  if (job.kind === 'module') return `${job.module}#${job.exportName ?? 'default'}`;
  const name = /^(?:async\s+)?function\*?\s*([\w$]+)/.exec(job.source)?.[1];
  return name === undefined ? 'a function' : `${name}()`;
}

/** Give a worker-side failure the explanation a user needs. */
function explain(error: unknown, job: Job): unknown {
  const exited = error instanceof Error ? /^worker exited with code: (-?\d+)$/.exec(error.message) : null;
  if (exited !== null) {
    // The thread ended under the job (process.exit() in it, or a fatal error):
    // say which job it was and that the pool goes on with a new thread.
    return new RuntimeError(
      `the default executor's worker thread running ${jobName(job)} exited with code ${exited[1]} before the job finished ` +
        '(process.exit() in a job ends its thread); the pool starts a new thread for the next job',
      { cause: error },
    );
  }
  if (job.kind === 'source' && error instanceof ReferenceError) {
    return new ExecutorFunctionError(
      `${error.message} in the default executor's worker thread: a function run there takes only its own source with it, ` +
        'so it cannot use variables from where it was written (closures) — pass what it needs as arguments, or use { module, export }',
    );
  }
  if (error instanceof Error && error.name === 'DataCloneError') {
    return new ExecutorFunctionError(`an argument or the result cannot be copied to or from a worker thread: ${error.message}`);
  }
  return error;
}

/**
 * The default executor (asyncio's `ThreadPoolExecutor`): a bounded pool of
 * worker threads (piscina), min(32, CPUs + 4) as Python's.
 *
 * It runs self-contained functions (their source is sent to the worker; they
 * may use `require` and `import()`) and
 * module exports (`{ module: 'file:///…/jobs.js', export: 'hash' }`). It cannot
 * run closures over local state: a variable the worker does not have is an
 * `ExecutorFunctionError` that says so. Arguments and results are structured
 * clones.
 */
export class ThreadPoolExecutor implements Executor {
  readonly #pool: Piscina;
  readonly #running = new Set<Promise<unknown>>();
  #shutdown = false;

  constructor(options: { maxWorkers?: number } = {}) {
    const maxWorkers = options.maxWorkers ?? Math.min(32, os.availableParallelism() + 4);
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1) throw new RangeError(`maxWorkers must be a positive integer, got ${String(maxWorkers)}`);
    this.#pool = new Piscina({ filename: WORKER_FILE, maxThreads: maxWorkers, minThreads: 0, idleTimeout: 1000 });
  }

  /** How many jobs are running or queued. */
  get pending(): number {
    return this.#running.size;
  }

  submit<A extends unknown[], R>(fn: ExecutorFunction<A, R>, args: A, options: { signal?: AbortSignal } = {}): Promise<R> {
    if (this.#shutdown) return Promise.reject(new RuntimeError('cannot schedule new futures after shutdown'));
    let job: Job;
    try {
      job = toJob(fn as ExecutorFunction, args);
    } catch (error) {
      return Promise.reject(error);
    }
    const runOptions = options.signal === undefined ? {} : { signal: options.signal };
    const running = this.#pool.run(job, runOptions);
    this.#running.add(running);
    const forget = () => this.#running.delete(running);
    running.then(forget, forget);
    return running.then(
      (value) => value as R,
      (error: unknown) => {
        throw explain(error, job);
      },
    );
  }

  /**
   * Stop taking jobs. With `wait` (default), resolve once running jobs are
   * done; without it, stop the worker threads now (jobs still running are
   * abandoned, as `close()` of a loop does).
   */
  shutdown(options: { wait?: boolean; cancelFutures?: boolean } = {}): Promise<void> {
    this.#shutdown = true;
    if (options.wait === false || options.cancelFutures) return this.#pool.destroy();
    // Wait for the jobs we handed out (an aborted one settles at once), then stop the threads.
    return Promise.allSettled([...this.#running]).then(() => this.#pool.destroy());
  }

  /** Stop the worker threads now, whatever they are doing. */
  terminate(): Promise<void> {
    this.#shutdown = true;
    return this.#pool.destroy();
  }
}
