#!/usr/bin/env node
// A backend chosen by configuration, not by code: the first of
//
//   --backend NAME            on the command line
//   --config FILE             a JSON file with { "backend": "NAME" }
//   EVLOOP_BACKEND=NAME       in the environment (the default policy reads it)
//
// that is set, else the default policy's own pick. Prints which backend runs
// and where the choice came from, then does a few echo round-trips on it.
// A backend that is unknown, not installed or not usable here is an error
// (exit status 1) with the policy's explanation; a bad flag or config file
// is a usage error (exit status 2).
//
//   node choose-backend.mjs --backend poll
//   node choose-backend.mjs --config backend.json
//   EVLOOP_BACKEND=select node choose-backend.mjs
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DefaultEventLoopPolicy, run, setEventLoopPolicy } from '@evloop/core-policy';
import { echoRoundTrips } from './echo.mjs';

const USAGE = 'usage: choose-backend.mjs [--backend NAME | --config FILE] [--count N]';

function usageError(problem) {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      backend: { type: 'string' },
      config: { type: 'string' },
      count: { type: 'string', default: '10' },
    },
  }));
} catch (error) {
  usageError(error.message);
}
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) usageError(`--count must be a positive integer, got ${values.count}`);
if (values.backend !== undefined && values.config !== undefined) usageError('give --backend or --config, not both');

/** The backend asked for and where the request came from (`undefined`: let the policy decide). */
function requestedBackend() {
  if (values.backend !== undefined) return { backend: values.backend, source: '--backend' };
  if (values.config !== undefined) {
    let config;
    try {
      config = JSON.parse(readFileSync(values.config, 'utf8'));
    } catch (error) {
      usageError(`cannot read the config file ${values.config}: ${error.message}`);
    }
    if (typeof config?.backend !== 'string') usageError(`the config file ${values.config} has no "backend" string`);
    return { backend: config.backend, source: `config file ${values.config}` };
  }
  if (process.env.EVLOOP_BACKEND) return { backend: undefined, source: 'EVLOOP_BACKEND' };
  return { backend: undefined, source: 'discovery' };
}

const { backend, source } = requestedBackend();
const policy = new DefaultEventLoopPolicy(backend === undefined ? {} : { backend });
let chosen;
try {
  // The policy resolves its backend lazily; ask now so a bad choice fails
  // here, with its explanation, before any loop is made.
  chosen = policy.backend;
} catch (error) {
  console.error(`cannot use the backend asked for by ${source}: ${error.message}`);
  process.exit(1);
}
setEventLoopPolicy(policy);
console.log(`backend: ${chosen.name} (chosen by ${source})`);

const seconds = await run(() => echoRoundTrips(count));
console.log(`${count} echo round-trips on ${chosen.name} in ${(seconds * 1000).toFixed(1)} ms`);
