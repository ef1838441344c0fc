'use strict';
// Runs one job of evloop's default executor inside a worker thread.
// A job names its function either by source text (a self-contained function)
// or by module and export name.

// A self-contained function may load modules: give it `require`, as a
// CommonJS module would have (import() works everywhere already).
globalThis.require = require;

async function resolveFunction(job) {
  if (job.kind === 'source') {
    // Indirect eval: the function sees only the worker's globals.
    return (0, eval)(`(${job.source})`);
  }
  const module = await import(job.module);
  const name = job.exportName ?? 'default';
  const value = module[name] ?? (name === 'default' ? module : undefined);
  if (typeof value !== 'function') {
    throw new TypeError(`${job.module} has no function export ${JSON.stringify(name)}`);
  }
  return value;
}

module.exports = async function runJob(job) {
  const fn = await resolveFunction(job);
  return fn(...job.args);
};
