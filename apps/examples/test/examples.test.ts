import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const directory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function runExample(file: string): string {
  const environment: Record<string, string | undefined> = { ...process.env };
  delete environment.EVLOOP_BACKEND;
  delete environment.EVLOOP_DEBUG;
  const result = spawnSync(process.execPath, [path.join(directory, file)], { encoding: 'utf8', timeout: 30_000, env: environment, cwd: directory });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Every example of docs/guide.md, with the output the guide shows. */
const expected: Record<string, string> = {
  '01-callbacks.mjs': 'first\nsecond\ntimer after at least 50 ms\n',
  '02-coroutines.mjs': 'generator is working\ngenerator cleans up after cancel()\nasync function cancelled inside its await\ncancelled: true true\n',
  '03-combinators.mjs': "gather: [ 'a', 'b', 'c' ]\nwaitFor: timed out\nwait: 1 done, 1 pending\nshield: kept\n",
  '04-streams.mjs': 'echoed: HELLO\nechoed: STREAMS\n',
  '05-protocol.mjs': 'client got: ping\n',
  '06-subprocess.mjs': 'through a child process (exit 0)\n',
  '07-executor.mjs': 'square: 144; the loop kept ticking meanwhile: true\n',
  '08-raw-fds.mjs': 'readable: bytes in a pipe\n',
  '09-errors-and-debug.mjs': 'handler: Exception in callback broken(): boom\nwarning: Executing <Handle slow()> took N seconds\n',
  '10-structured-concurrency.mjs': 'all done: a b\ngroup failed: broken failed\ntimeout: gave up after 50 ms\ngenerator finished in time\n',
  '11-testing-virtual-time.mjs': 'retry: got hello after 3 attempts, 3 virtual seconds\ngave up: TimeoutError after 3 attempts, 18 virtual seconds\nreal time: well under the 21 virtual seconds\n',
  '12-node-interop.mjs': 'node:http over evloop: 200 hello from-evloop\ntask cancelled: true, its Node timer stopped with it\n',
  '13-introspection.mjs': 'observed some iterations; 5 callbacks among at least 5 run\nmain [pending]\n  worker [pending] awaiting <Future pending> at 13-introspection.mjs:22\n',
};

describe('docs/guide.md examples', () => {
  const guide = fs.readFileSync(path.join(directory, '..', '..', 'docs', 'guide.md'), 'utf8');
  for (const [file, output] of Object.entries(expected)) {
    it(`${file} prints what the guide says, and the guide shows this very file`, () => {
      expect(runExample(file)).toBe(output);
      expect(guide).toContain(fs.readFileSync(path.join(directory, file), 'utf8').trim());
      expect(guide).toContain(`Prints:\n\n\`\`\`\n${output}\`\`\``);
    });
  }
});
